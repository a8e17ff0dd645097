"""The LXD server itself: ``/`` (API versions) and ``/1.0`` (environment, configuration)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pylxd import exceptions
from pylxd._types import JSONDict
from pylxd.models import _model as model

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._transport import _APINode
    from pylxd.client import Client
    from pylxd.models.metrics import Metrics


def _target_params(target: str | None) -> dict[str, str]:
    return {"target": target} if target is not None else {}


def _check_config(config: Any) -> JSONDict:
    if not isinstance(config, dict):
        raise exceptions.InvalidArgumentType(
            f"Server config must be a dict, not {type(config).__name__}"
        )
    return config


class Server(model.Model):
    """The server's environment and configuration, ``/1.0`` (``client.server``).

    ``client.server.get()`` reads it (and refreshes ``client.host_info``);
    change ``config`` and :meth:`save`, or use :meth:`update_config` /
    :meth:`patch_config` directly. ``target`` picks a cluster member.
    Setting a key to ``""`` with :meth:`patch_config` unsets it.
    """

    __slots__ = ("_target",)
    _key = "api_version"

    api_extensions = model.Attribute[list[str]](readonly=True)
    api_status = model.Attribute[str](readonly=True)
    api_version = model.Attribute[str](readonly=True)
    auth = model.Attribute[str](readonly=True)
    auth_methods = model.Attribute[list[str]](readonly=True)
    public = model.Attribute[bool](readonly=True)
    environment = model.Attribute[dict[str, Any]](readonly=True, optional=True)
    #: Incus 6.0: how and as whom the server authenticated the client.
    auth_user_method = model.Attribute[str](readonly=True, optional=True)
    auth_user_name = model.Attribute[str](readonly=True, optional=True)
    config = model.Attribute[dict[str, Any]]()

    @property
    def api(self) -> _APINode:
        return self.client.api

    @property
    def target(self) -> str | None:
        """The cluster member this object was read from (None: the one connected to)."""
        return self._raw_attr("_target")

    @classmethod
    def get(cls, client: Client, target: str | None = None) -> Server:
        """Read the server's environment and configuration.

        Implements ``GET /1.0``. Without ``target`` it also refreshes
        ``client.host_info`` (same data, no extra request).
        """
        response = client.api.get(params=_target_params(target))
        metadata = exceptions.metadata_of(response)
        if target is None:
            client.host_info = metadata
        server = cls._from_server(client, metadata, etag=model.etag_of(response))
        object.__setattr__(server, "_target", target)
        return server

    @classmethod
    def api_versions(cls, client: Client) -> list[str]:
        """Return the API versions the server offers, e.g. ``["/1.0"]``.

        Implements ``GET /`` (answered to untrusted clients too).
        """
        base = client.api._api_endpoint.rsplit("/", 1)[0]
        root = client.api.sibling(base + "/", project=None)
        return list(exceptions.metadata_of(root.get(), list))

    @classmethod
    def update_config(
        cls, client: Client, config: JSONDict, target: str | None = None
    ) -> None:
        """Replace the whole server configuration (keys left out are unset).

        Implements ``PUT /1.0``; refreshes ``client.host_info`` afterwards.

        :raises TypeError: when ``config`` is not a dict.
        :raises LXDAPIException: when LXD refuses a key or value.
        """
        _send_config(client, "put", config, target)

    @classmethod
    def patch_config(
        cls, client: Client, config: JSONDict, target: str | None = None
    ) -> None:
        """Set some server configuration keys (``""`` unsets a key).

        Implements ``PATCH /1.0``; refreshes ``client.host_info`` afterwards.

        :raises TypeError: when ``config`` is not a dict.
        :raises LXDAPIException: when LXD refuses a key or value.
        """
        _send_config(client, "patch", config, target)

    @classmethod
    def metadata_configuration(cls, client: Client) -> JSONDict:
        """Return the documentation of every configuration key the server knows.

        Implements ``GET /1.0/metadata/configuration`` (Incus, API extension
        ``metadata_configuration``): ``{"configs": {"instance": {...}, ...}}``.

        :raises LXDAPIExtensionNotAvailable: without ``metadata_configuration``.
        """
        client.assert_has_api_extension("metadata_configuration")
        return dict(exceptions.metadata_of(client.api.metadata.configuration.get()))

    @classmethod
    def metrics(cls, client: Client, target: str | None = None) -> Metrics:
        """Read the instances' metrics (``GET /1.0/metrics``), text and parsed."""
        from pylxd.models.metrics import Metrics

        return Metrics.get(client, target=target)

    def sync(self, rollback: bool = False) -> None:
        """Read ``GET /1.0`` again (from the same cluster member)."""
        response = self.api.get(params=_target_params(self.target))
        self._load(exceptions.metadata_of(response), rollback=rollback)
        object.__setattr__(self, "_etag", model.etag_of(response))
        if rollback:
            self.__dirty__.clear()
        object.__setattr__(self, "_synced", True)

    def save(self, wait: bool = False, *, if_match: bool | None = None) -> None:
        """Write ``config`` back (``PUT /1.0``) and refresh ``client.host_info``.

        :param if_match: send ``If-Match`` with the ETag of the configuration
            read (None: the client's switch).
        :raises PreconditionFailed: when it changed on the server since.
        """
        headers = self._if_match_headers(if_match)
        if headers is None:
            self.update_config(
                self.client, self.marshall()["config"], target=self.target
            )
        else:
            body = {"config": _check_config(self.marshall()["config"])}
            with exceptions.naming("Server configuration"):
                self.api.put(
                    json=body, params=_target_params(self.target), headers=headers
                )
            self.client.refresh_host_info()
        self._mark_clean()
        if headers is not None:
            self.sync()


def _send_config(
    client: Client, verb: str, config: JSONDict, target: str | None
) -> None:
    """``PUT``/``PATCH`` ``/1.0`` with ``config``, then refresh ``host_info``."""
    body = {"config": _check_config(config)}
    getattr(client.api, verb)(json=body, params=_target_params(target))
    client.refresh_host_info()

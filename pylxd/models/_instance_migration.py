"""Copying, moving and publishing an instance (mixed into ``Instance``).

``copy`` on the same client is a local copy (``POST /1.0/instances`` with a
``copy`` source); to another server, ``copy`` and ``migrate`` open a
migration source here (``POST /1.0/instances/<name>`` with ``migration``)
that the target pulls over HTTPS (:meth:`_migrate_to`). ``publish`` turns the
instance into an image (``POST /1.0/images``); :func:`publish_image` serves
snapshots as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

from pylxd import exceptions
from pylxd._types import JSONDict
from pylxd.models import _model as model
from pylxd.models._instance_config import check_instance_name
from pylxd.models._instance_lifecycle import STATUS_STOPPED
from pylxd.models._mixins import check_name, drop_none, required_https_url
from pylxd.models.operation import cancel_quietly

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd._transport import _APINode
    from pylxd.client import Client
    from pylxd.models.instance import Instance


def publish_image(
    client: Client, source: JSONDict, public: bool, wait: bool, extra: JSONDict
) -> Any:
    """Publish an instance or snapshot as an image (``POST /1.0/images``)."""
    aliases = extra.pop("aliases", None)
    if aliases is not None:
        extra["aliases"] = [a if isinstance(a, dict) else {"name": a} for a in aliases]
        for alias in extra["aliases"]:
            check_name("Image alias", alias.get("name"), slash=True)
    body = {"public": public, "source": source, **drop_none(**extra)}
    response = client.api.images.post(json=body)
    operation = model.wait_for(client, response, wait)
    if operation is None:
        return None
    return client.images.get(operation.metadata["fingerprint"])


class InstanceMigrationMixin:
    """``copy``, ``migrate``, ``generate_migration_data`` and ``publish``."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by Instance
        client: Client
        name: str
        architecture: str
        type: str
        config: dict[str, Any]
        devices: dict[str, Any]
        ephemeral: bool
        profiles: list[str]
        description: str
        status_code: int

        @property
        def api(self) -> _APINode: ...

        def sync(self, rollback: bool = False) -> None: ...

        def delete(self, wait: bool = False) -> None: ...

        create: Callable[..., Instance]  # Instance.create (a classmethod)

    def publish(
        self,
        public: bool = False,
        wait: bool = False,
        compression_algorithm: str | None = None,
        *,
        aliases: Iterable[str | JSONDict] | None = None,
        properties: dict[str, str] | None = None,
    ) -> Any:
        """Publish the (stopped) instance as an image.

        Implements ``POST /1.0/images`` with an ``instance`` source (a
        ``snapshot`` one for :meth:`Snapshot.publish <pylxd.models.instance.Snapshot.publish>`).

        :param aliases: alias names (or ``{"name", "description"}`` dicts).
        :returns: the :class:`~pylxd.models.image.Image` when waited, else None.
        :raises LXDAPIException: when LXD refuses (e.g. a running instance).
        """
        extra = {
            "aliases": aliases,
            "properties": properties,
            "compression_algorithm": compression_algorithm,
        }
        return publish_image(self.client, self._publish_source(), public, wait, extra)

    def _publish_source(self) -> JSONDict:
        """The image source of :meth:`publish` (``Snapshot`` names itself)."""
        return {"type": "instance", "name": self.name}

    def generate_migration_data(self, live: bool = False) -> JSONDict:
        """Start a migration source and return the request for the target.

        Implements ``POST /1.0/instances/<name>`` with ``{"migration": true}``.
        The result is a ``POST /1.0/instances`` body for the target server,
        which pulls the instance from this server. LXD requires that the
        target can reach this server over HTTPS: ``source.operation`` is an
        ``https://`` URL (the client's own URL, or for a local Unix-socket
        client the first of ``host_info['environment']['addresses']``, i.e.
        ``core.https_address`` must be set) and ``source.certificate`` is this
        server's certificate, which the target checks.

        The result also holds pylxd's legacy keys ``epehemeral`` (sic) and
        ``default`` (the profiles), which LXD ignores.

        :raises InvalidArgument: when this server has no HTTPS address.
        :raises LXDAPIException: if the request to migrate fails.
        """
        self.sync()
        data = self._open_migration_source(
            live, instance_only=False, keep_volatile=True
        )[1]
        return {**data, "epehemeral": data["ephemeral"], "default": data["profiles"]}

    def _open_migration_source(
        self, live: bool, instance_only: bool, keep_volatile: bool
    ) -> tuple[requests.Response, JSONDict]:
        operations_url = self._source_operations_url()
        # "live" is always sent: LXD 5.0 treats a running instance as live when
        # the key is missing (and then needs CRIU), false copies it statelessly.
        body: JSONDict = {"migration": True, "live": live}
        if instance_only:
            body["instance_only"] = True
        response = self.api.post(json=body)
        operation = exceptions.metadata_of(response)
        source = {
            "type": "migration",
            "mode": "pull",
            "operation": f"{operations_url}/{operation['id']}",
            "certificate": self.client.host_info.get("environment", {}).get(
                "certificate", ""
            ),
            "secrets": operation["metadata"],
        }
        if live:
            source["live"] = True
        if instance_only:
            source["instance_only"] = True
        return response, {**self._migration_fields(keep_volatile), "source": source}

    def _migration_fields(self, keep_volatile: bool) -> JSONDict:
        config = dict(self.config)
        if not keep_volatile:  # as LXD does for copies: new MACs, ids and state
            config = {
                k: v
                for k, v in config.items()
                if not k.startswith("volatile.") or k == "volatile.base_image"
            }
        return {
            "name": self.name,
            "architecture": self.architecture,
            "type": self.type,
            "config": config,
            "devices": self.devices,
            "ephemeral": self.ephemeral,
            "profiles": self.profiles,
            "description": self.description,
        }

    def _source_operations_url(self) -> str:
        """The ``https://`` URL of this server's operations, as a target sees it."""
        url = required_https_url(
            self.client,
            f"Cannot migrate {type(self).__name__} {self.name!r} from "
            f"{self.client.api._describe()}: that LXD has no HTTPS address for "
            "the target to pull from (set core.https_address)",
        )
        return f"{url}/1.0/operations"

    def _migrate_to(
        self,
        new_client: Client,
        live: bool,
        instance_only: bool,
        keep_volatile: bool,
        wait: bool,
        name: str | None = None,
    ) -> Instance:
        response, request = self._open_migration_source(
            live, instance_only, keep_volatile
        )
        if name is not None:
            request["name"] = name
        try:
            new = type(self).create(new_client, request, wait=wait)
        except (
            exceptions.LXDAPIException,
            exceptions.ClientConnectionFailed,
            ValueError,
        ):
            # The migration source would linger until LXD times it out.
            cancel_quietly(self.client, exceptions.operation_of(response))
            raise
        # The source ends after the target (e.g. it unfreezes a running one).
        model.wait_for(self.client, response, wait)
        return new

    def copy(
        self,
        new_client: Client,
        name: str | None = None,
        instance_only: bool = False,
        live: bool = False,
        wait: bool = False,
    ) -> Instance:
        """Copy the instance to ``new_client``'s server, keeping this one.

        Implements ``POST /1.0/instances/<name>`` (``migration``) on this
        server and ``POST /1.0/instances`` (``migration`` source) on the target.
        With ``new_client`` being this instance's own client, this is a local
        copy (``POST /1.0/instances`` with a ``copy`` source; ``name`` is then
        needed, or LXD picks one). Otherwise the target pulls the instance
        from this server (see :meth:`generate_migration_data` for what LXD
        requires); volatile keys other than ``volatile.base_image`` are
        dropped, as LXD does for copies.

        A running instance is copied statelessly (its file system, as it is
        then) unless ``live`` is set. When ``wait`` is set, both the target's
        and this server's operations are waited for.

        :param name: the new instance's name (default: the same name).
        :param instance_only: leave the snapshots behind.
        :param live: copy the running state too (needs CRIU).
        :returns: the new instance, on ``new_client``.
        :raises LXDAPIException: with LXD's message when the copy fails.
        """
        if name is not None:
            # Before a migration is opened on the source (it would need cancelling).
            check_instance_name(f"{type(self).__name__}.copy", name)
        if new_client is self.client:
            return self._local_copy(name, instance_only, wait)
        self.sync()
        return self._migrate_to(new_client, live, instance_only, False, wait, name)

    def _local_copy(
        self, name: str | None, instance_only: bool, wait: bool
    ) -> Instance:
        source: JSONDict = {"type": "copy", "source": self.name}
        if instance_only:
            source["instance_only"] = True
        config = drop_none(name=name, source=source, profiles=self.profiles)
        return type(self).create(self.client, config, wait=wait)

    def migrate(
        self, new_client: Client, live: bool = False, wait: bool = False
    ) -> Instance:
        """Move the instance to ``new_client``'s server.

        Implements ``POST /1.0/instances/<name>`` (``migration``) here,
        ``POST /1.0/instances`` (``migration`` source) on the target, then
        ``DELETE /1.0/instances/<name>`` here.
        The target pulls the instance (see :meth:`generate_migration_data`
        for what LXD requires), then the source is deleted. The transfer is
        always waited for, since the source can only be removed afterwards;
        ``wait`` applies to that deletion. As in pylxd, an instance that is
        not stopped is migrated live whatever ``live`` says (LXD needs CRIU
        for a container, or a stateful VM, and refuses otherwise).

        :returns: the instance on ``new_client``.
        :raises InvalidArgument: for the same server, or a source without an
            HTTPS address.
        :raises LXDAPIException: if any of the API calls fail.
        """
        if new_client is self.client:
            raise exceptions.InvalidArgument(
                f"{type(self).__name__}.migrate: {self.name!r} is already on that server"
            )
        self.sync()
        live = live or self.status_code != STATUS_STOPPED
        new = self._migrate_to(new_client, live, False, True, wait=True)
        self.delete(wait=wait)
        return new

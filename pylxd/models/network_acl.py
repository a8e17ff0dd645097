"""LXD network ACLs: ``/1.0/network-acls``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pylxd._types import JSONDict
from pylxd.exceptions import naming
from pylxd.models import _model as model
from pylxd.models._mixins import CollectionMixin, RenameMixin, check_name, drop_none
from pylxd.models.network import (
    BlockingMixin,
    check_config,
    url_list,
)

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client


class NetworkACL(CollectionMixin, RenameMixin, BlockingMixin, model.Model):
    """A network ACL, ``/1.0/network-acls/<name>`` (API extension ``network_acl``).

    ``ingress`` and ``egress`` are lists of rule dicts (``action``, ``state``,
    ``protocol``, ``source``, ``destination``, ``destination_port``, ...).
    An ACL applies where a network's or a NIC's ``security.acls`` names it;
    ``used_by`` lists those as LXD URLs.
    """

    _endpoint = "network-acls"
    _api_extension = "network_acl"

    name = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    egress = model.Attribute[list[dict[str, str]]]()
    ingress = model.Attribute[list[dict[str, str]]]()
    config = model.Attribute[dict[str, str]]()
    used_by = model.Attribute[list[str]](url_list, readonly=True)
    #: Incus 6.0 names the ACL's project.
    project = model.Attribute[str](readonly=True, optional=True)

    _error_kind = "Network ACL"

    @classmethod
    def get(cls, client: Client, name: str) -> NetworkACL:
        """Get a network ACL by name.

        Implements ``GET /1.0/network-acls/<name>``.

        :raises NotFound: naming the ACL, when it does not exist.
        :raises LXDAPIExtensionNotAvailable: without ``network_acl``.
        """
        return super().get(client, name)

    @classmethod
    def create(
        cls,
        client: Client,
        name: str,
        description: str | None = None,
        egress: list[JSONDict] | None = None,
        ingress: list[JSONDict] | None = None,
        config: dict[str, str] | None = None,
    ) -> NetworkACL:
        """Create a network ACL and return it as stored.

        Implements ``POST /1.0/network-acls``.

        :raises Conflict: when an ACL of that name exists.
        :raises LXDAPIException: when LXD refuses a rule (nothing is created).
        """
        check_name("Network ACL", name)
        check_config(f"Network ACL {name!r}", config)
        body = drop_none(
            name=name,
            description=description,
            egress=egress,
            ingress=ingress,
            config=config,
        )
        with naming(f"Network ACL {name!r}"):
            cls._post_collection(client, body, wait=True)
        return cls.get(client, name)

    def rename(self, new_name: str) -> NetworkACL:
        """Rename the ACL and return it under its new name.

        Implements ``POST /1.0/network-acls/<name>``.

        :raises Conflict: when ``new_name`` is taken.
        """
        self._check_extension()
        check_name("Network ACL", new_name)
        with naming(f"{self._subject()} (renaming to {new_name!r})"):
            self._rename(new_name, wait=True)
        return self.get(self.client, new_name)

    def log(self) -> str:
        """Return the ACL's log entries (LXD keeps them for OVN networks only).

        Implements ``GET /1.0/network-acls/<name>/log`` (extension
        ``network_acl_log``).

        :raises LXDAPIException: when LXD has no log for this ACL.
        """
        self.client.assert_has_api_extension("network_acl_log")
        with naming(self._subject()):
            response = self.api.log._send("get", (), {}, ok=(200,), check_sync=False)
        return response.content.decode("utf-8", "replace")

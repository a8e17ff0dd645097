"""LXD network ACLs: ``/1.0/network-acls``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pylxd._types import JSONDict
from pylxd.exceptions import naming
from pylxd.models import _model as model
from pylxd.models._collection import BlockingMixin
from pylxd.models._described import Described
from pylxd.models._mixins import CollectionMixin, RenameMixin
from pylxd.models.network import (
    url_list,
)

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client


class NetworkACL(CollectionMixin, RenameMixin, BlockingMixin, Described):
    """A network ACL, ``/1.0/network-acls/<name>`` (API extension ``network_acl``).

    ``ingress`` and ``egress`` are lists of rule dicts (``action``, ``state``,
    ``protocol``, ``source``, ``destination``, ``destination_port``, ...).
    An ACL applies where a network's or a NIC's ``security.acls`` names it;
    ``used_by`` lists those as LXD URLs.
    """

    _endpoint = "network-acls"
    _api_extension = "network_acl"

    egress = model.Attribute[list[dict[str, str]]]()
    ingress = model.Attribute[list[dict[str, str]]]()
    used_by = model.Attribute[list[str]](url_list, readonly=True)
    #: Incus 6.0 names the ACL's project.
    project = model.Attribute[str](readonly=True, optional=True)

    _error_kind = "Network ACL"

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
        fields = {
            "description": description,
            "egress": egress,
            "ingress": ingress,
            "config": config,
        }
        return cls._create_named(client, name, fields, wait=True, string_config=True)

    def rename(self, new_name: str) -> NetworkACL:
        """Rename the ACL and return it under its new name.

        Implements ``POST /1.0/network-acls/<name>``.

        :raises Conflict: when ``new_name`` is taken.
        """
        return self._rename_and_get(new_name, wait=True)

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

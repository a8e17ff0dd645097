"""Incus network integrations: ``/1.0/network-integrations``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pylxd.models import _model as model
from pylxd.models._collection import BlockingMixin
from pylxd.models._described import Described
from pylxd.models._mixins import CollectionMixin, RenameMixin
from pylxd.models.network import url_list

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client


class NetworkIntegration(CollectionMixin, RenameMixin, BlockingMixin, Described):
    """A network integration, ``/1.0/network-integrations/<name>`` (``client.network_integrations``).

    Incus (API extension ``network_integrations``) links its OVN networks to
    another OVN deployment (``type`` ``ovn``, with ``ovn.northbound_connection``
    and friends in ``config``); OVN networks then peer with it.
    """

    _endpoint = "network-integrations"
    _api_extension = "network_integrations"
    _error_kind = "Network integration"

    type = model.Attribute[str](readonly=True)
    used_by = model.Attribute[list[str]](url_list, readonly=True)

    @classmethod
    def create(
        cls,
        client: Client,
        name: str,
        type: str = "ovn",
        description: str | None = None,
        config: dict[str, str] | None = None,
    ) -> NetworkIntegration:
        """Create a network integration and return it as stored.

        Implements ``POST /1.0/network-integrations``.

        :raises LXDAPIExtensionNotAvailable: without ``network_integrations``.
        :raises Conflict: when an integration of that name exists.
        """
        fields = {"type": type, "description": description, "config": config}
        return cls._create_named(client, name, fields, wait=True, string_config=True)

    def rename(self, new_name: str) -> NetworkIntegration:
        """Rename the integration and return it under its new name.

        Implements ``POST /1.0/network-integrations/<name>``.

        :raises Conflict: when ``new_name`` is taken.
        """
        return self._rename_and_get(new_name, wait=True)

"""LXD network zones (DNS) and their records: ``/1.0/network-zones``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pylxd import managers
from pylxd._types import JSONDict
from pylxd.models import _model as model
from pylxd.models._collection import BlockingMixin, ChildMixin
from pylxd.models._described import Described
from pylxd.models._mixins import DescribedCollectionMixin, drop_none
from pylxd.models.network import url_list

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client


class NetworkZone(DescribedCollectionMixin, BlockingMixin, Described):
    """A DNS zone LXD serves, ``/1.0/network-zones/<name>`` (extension ``network_dns``).

    ``create(client, name, description=None, config=None)`` takes a DNS
    domain name and a config such as ``{"dns.nameservers": "ns1.example.net"}``.
    A network publishes its instances in a zone through its
    ``dns.zone.forward``/``dns.zone.reverse.*`` config; ``used_by`` lists
    those networks as LXD URLs. Extra records live in ``zone.records``.
    """

    _endpoint = "network-zones"
    _api_extension = "network_dns"

    used_by = model.Attribute[list[str]](url_list, readonly=True)
    #: Incus 6.0 names the zone's project.
    project = model.Attribute[str](readonly=True, optional=True)

    records = model.Manager(
        lambda zone: managers.NetworkZoneRecordManager(zone.client, zone)
    )

    _error_kind = "Network zone"


class NetworkZoneRecord(ChildMixin, BlockingMixin, Described):
    """A record of a network zone, ``/1.0/network-zones/<zone>/records/<name>``.

    Reached through ``zone.records`` (API extension ``network_dns_records``).
    ``entries`` is a list of ``{"type": "A", "value": "192.0.2.1", "ttl": 300}``.
    """

    _endpoint = "records"
    _error_kind = "Record"
    _api_extension = "network_dns_records"

    zone: model.Parent[NetworkZone] = model.Parent()
    entries = model.Attribute[list[dict[str, Any]]]()

    @classmethod
    def create(
        cls,
        client: Client,
        zone: NetworkZone,
        name: str,
        entries: list[JSONDict] | None = None,
        description: str | None = None,
        config: dict[str, str] | None = None,
    ) -> NetworkZoneRecord:
        """Add record ``name`` to ``zone`` and return it.

        Implements ``POST /1.0/network-zones/<zone>/records``.

        :raises Conflict: when the zone has a record of that name.
        """
        body = drop_none(
            name=name, description=description, entries=entries, config=config
        )
        return cls._create_named(client, zone, body)

    def add_entry(self, type: str, value: str, ttl: int | None = None) -> None:
        """Add a DNS entry to the record and save it (``PUT``).

        :raises ValueError: when the record already holds that entry.
        """
        entry: JSONDict = drop_none(type=type, value=value, ttl=ttl)
        entries: list[JSONDict] = list(self.entries or ())
        if any((e.get("type"), e.get("value")) == (type, value) for e in entries):
            raise ValueError(f"{self._subject()} already has entry {type} {value!r}")
        self.entries = entries + [entry]
        self.save()

    def remove_entry(self, type: str, value: str) -> None:
        """Remove a DNS entry from the record and save it (``PUT``).

        :raises ValueError: when the record holds no such entry.
        """
        entries: list[JSONDict] = list(self.entries or ())
        kept = [e for e in entries if (e.get("type"), e.get("value")) != (type, value)]
        if len(kept) == len(entries):
            raise ValueError(f"{self._subject()} has no entry {type} {value!r}")
        self.entries = kept
        self.save()

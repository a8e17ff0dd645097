"""Network zones (DNS) and their records against the fake LXD."""

from __future__ import annotations

from typing import Any

import pytest

from pylxd import exceptions
from pylxd.models import NetworkZone, NetworkZoneRecord
from pylxd.testing import FakeLXD

WWW_A = {"type": "A", "value": "192.0.2.10", "ttl": 300}


@pytest.fixture
def zone(client: Any) -> NetworkZone:
    return client.network_zones.create("example.net")  # type: ignore[no-any-return]


def wire(fake: FakeLXD, since: int = 0) -> list[tuple[str, str, dict[str, str]]]:
    return [(r.method, r.path, r.query) for r in fake.requests[since:]]


# -- zones ----------------------------------------------------------------------
def test_create_sends_exact_body(client: Any, fake: FakeLXD) -> None:
    zone = client.network_zones.create(
        "example.net",
        description="public zone",
        config={"dns.nameservers": "ns1.example.net"},
    )
    assert fake.last_body("POST", "/1.0/network-zones") == {
        "name": "example.net",
        "description": "public zone",
        "config": {"dns.nameservers": "ns1.example.net"},
    }
    assert isinstance(zone, NetworkZone)
    assert (zone.name, zone.description, zone.used_by) == (
        "example.net",
        "public zone",
        [],
    )
    assert wire(fake)[-1] == ("GET", "/1.0/network-zones/example.net", {})


def test_all_get_exists(zone: NetworkZone, client: Any, fake: FakeLXD) -> None:
    start = len(fake.requests)
    assert [z.name for z in client.network_zones.all()] == ["example.net"]
    assert wire(fake, start) == [("GET", "/1.0/network-zones", {"recursion": "1"})]
    assert client.network_zones.get("example.net").config == {}
    assert client.network_zones.exists("example.net") is True
    assert client.network_zones.exists("example.org") is False


def test_missing_zone_names_it(client: Any) -> None:
    with pytest.raises(exceptions.NotFound) as err:
        client.network_zones.get("example.org")
    assert str(err.value) == "Network zone 'example.org': Network zone not found"


def test_create_duplicate_is_a_conflict(zone: NetworkZone, client: Any) -> None:
    with pytest.raises(exceptions.Conflict, match="The network zone already exists"):
        client.network_zones.create("example.net")


def test_create_bad_config_leaves_nothing(client: Any) -> None:
    with pytest.raises(exceptions.LXDAPIException, match='option "bogus"'):
        client.network_zones.create("example.org", config={"bogus": "1"})
    assert client.network_zones.exists("example.org") is False


def test_save_patch_delete(zone: NetworkZone, client: Any, fake: FakeLXD) -> None:
    zone.description = "edited"
    zone.config["user.a"] = "b"
    zone.save()
    assert fake.last_body("PUT", "/1.0/network-zones/example.net") == {
        "description": "edited",
        "config": {"user.a": "b"},
    }
    zone.patch({"config": {"user.c": "d"}})
    assert zone.config == {"user.a": "b", "user.c": "d"}
    zone.delete()
    assert wire(fake)[-1] == ("DELETE", "/1.0/network-zones/example.net", {})
    assert client.network_zones.exists("example.net") is False


def test_used_by_lists_networks_publishing_in_the_zone(
    zone: NetworkZone, client: Any
) -> None:
    client.networks.create(
        "br1",
        config={
            "ipv4.address": "none",
            "ipv6.address": "none",
            "dns.zone.forward": "example.net",
        },
    )
    assert client.network_zones.get("example.net").used_by == ["/1.0/networks/br1"]


def test_zones_need_their_extension(fake: FakeLXD) -> None:
    fake.extensions.remove("network_dns")
    client = fake.client()
    start = len(fake.requests)
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="network_dns"):
        client.network_zones.create("example.net")
    assert wire(fake, start) == []


# -- records --------------------------------------------------------------------
def test_record_create_sends_exact_body(zone: NetworkZone, fake: FakeLXD) -> None:
    record = zone.records.create(
        "www", entries=[WWW_A], description="web", config={"user.a": "b"}
    )
    assert fake.last_body("POST", "/1.0/network-zones/example.net/records") == {
        "name": "www",
        "description": "web",
        "entries": [WWW_A],
        "config": {"user.a": "b"},
    }
    assert isinstance(record, NetworkZoneRecord)
    assert (record.name, record.entries, record.zone) == ("www", [WWW_A], zone)
    assert wire(fake)[-1] == (
        "GET",
        "/1.0/network-zones/example.net/records/www",
        {},
    )


def test_record_all_get_exists(zone: NetworkZone, fake: FakeLXD) -> None:
    zone.records.create("www", entries=[WWW_A])
    start = len(fake.requests)
    assert [(r.name, r.entries) for r in zone.records.all()] == [("www", [WWW_A])]
    assert wire(fake, start) == [
        ("GET", "/1.0/network-zones/example.net/records", {"recursion": "1"})
    ]
    assert zone.records.get("www").description == ""
    assert zone.records.exists("www") is True
    assert zone.records.exists("ftp") is False


def test_record_missing_names_it_and_its_zone(zone: NetworkZone) -> None:
    with pytest.raises(exceptions.NotFound) as err:
        zone.records.get("ftp")
    assert str(err.value) == (
        "Record 'ftp' of Network zone 'example.net': Network zone record not found"
    )


def test_record_in_a_missing_zone(client: Any, zone: NetworkZone) -> None:
    gone = client.network_zones.get("example.net")
    zone.delete()
    with pytest.raises(exceptions.NotFound, match="Network zone not found"):
        gone.records.create("www")


def test_record_duplicate_is_a_conflict(zone: NetworkZone) -> None:
    zone.records.create("www")
    with pytest.raises(exceptions.Conflict, match="UNIQUE constraint failed"):
        zone.records.create("www")


def test_record_bad_entry_leaves_nothing(zone: NetworkZone) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="unknown RR type"):
        zone.records.create("www", entries=[{"type": "BOGUS", "value": "x"}])
    assert zone.records.exists("www") is False


def test_record_save_and_delete(zone: NetworkZone, fake: FakeLXD) -> None:
    record = zone.records.create("www")
    record.entries = [WWW_A]
    record.save()
    assert fake.last_body("PUT", "/1.0/network-zones/example.net/records/www") == {
        "description": "",
        "config": {},
        "entries": [WWW_A],
    }
    record.delete()
    assert zone.records.all() == []


def test_record_add_and_remove_entry(zone: NetworkZone, fake: FakeLXD) -> None:
    record = zone.records.create("www", entries=[WWW_A])
    record.add_entry("AAAA", "2001:db8::10", ttl=60)
    path = "/1.0/network-zones/example.net/records/www"
    aaaa = {"type": "AAAA", "value": "2001:db8::10", "ttl": 60}
    assert fake.last_body("PUT", path)["entries"] == [WWW_A, aaaa]
    record.remove_entry("A", "192.0.2.10")
    assert fake.last_body("PUT", path)["entries"] == [aaaa]
    assert zone.records.get("www").entries == [aaaa]


def test_record_entry_errors_send_nothing(zone: NetworkZone, fake: FakeLXD) -> None:
    record = zone.records.create("www", entries=[WWW_A])
    start = len(fake.requests)
    with pytest.raises(ValueError, match="already has entry A '192.0.2.10'"):
        record.add_entry("A", "192.0.2.10")
    with pytest.raises(ValueError, match="has no entry A '192.0.2.99'"):
        record.remove_entry("A", "192.0.2.99")
    assert wire(fake, start) == []


def test_records_need_their_extension(zone: NetworkZone, fake: FakeLXD) -> None:
    fake.extensions.remove("network_dns_records")
    loaded = fake.client().network_zones.get("example.net")
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="dns_records"):
        loaded.records.all()

"""Network ACLs against the fake LXD."""

from __future__ import annotations

from typing import Any

import pytest

from pylxd import exceptions
from pylxd.models import NetworkACL
from pylxd.testing import FakeLXD

SSH_IN = {
    "action": "allow",
    "state": "enabled",
    "protocol": "tcp",
    "destination_port": "22",
}
DROP_OUT = {"action": "drop", "state": "logged", "destination": "192.0.2.0/24"}


@pytest.fixture
def acl(client: Any) -> NetworkACL:
    return client.network_acls.create("web", ingress=[SSH_IN])  # type: ignore[no-any-return]


def wire(fake: FakeLXD, since: int = 0) -> list[tuple[str, str, dict[str, str]]]:
    return [(r.method, r.path, r.query) for r in fake.requests[since:]]


def test_create_sends_exact_body_and_returns_the_acl(
    client: Any, fake: FakeLXD
) -> None:
    acl = client.network_acls.create(
        "web",
        description="web servers",
        egress=[DROP_OUT],
        ingress=[SSH_IN],
        config={"user.owner": "me"},
    )
    assert fake.last_body("POST", "/1.0/network-acls") == {
        "name": "web",
        "description": "web servers",
        "egress": [DROP_OUT],
        "ingress": [SSH_IN],
        "config": {"user.owner": "me"},
    }
    assert isinstance(acl, NetworkACL)
    assert (acl.name, acl.description, acl.ingress, acl.egress, acl.used_by) == (
        "web",
        "web servers",
        [SSH_IN],
        [DROP_OUT],
        [],
    )
    assert wire(fake)[-1] == ("GET", "/1.0/network-acls/web", {})


def test_create_sends_only_what_is_given(client: Any, fake: FakeLXD) -> None:
    acl = client.network_acls.create("bare")
    assert fake.last_body("POST", "/1.0/network-acls") == {"name": "bare"}
    assert (acl.ingress, acl.egress, acl.config) == ([], [], {})


def test_all_is_one_request(acl: NetworkACL, client: Any, fake: FakeLXD) -> None:
    start = len(fake.requests)
    acls = client.network_acls.all()
    assert [(a.name, a.ingress) for a in acls] == [("web", [SSH_IN])]
    assert wire(fake, start) == [("GET", "/1.0/network-acls", {"recursion": "1"})]


def test_get_exists_and_missing(acl: NetworkACL, client: Any) -> None:
    assert client.network_acls.get("web").ingress == [SSH_IN]
    assert client.network_acls.exists("web") is True
    assert client.network_acls.exists("nope") is False
    with pytest.raises(exceptions.NotFound) as err:
        client.network_acls.get("nope")
    assert str(err.value) == "Network ACL 'nope': Network ACL not found"


def test_create_duplicate_is_a_conflict(acl: NetworkACL, client: Any) -> None:
    with pytest.raises(exceptions.Conflict) as err:
        client.network_acls.create("web", description="second")
    assert str(err.value) == "Network ACL 'web': The network ACL already exists"
    assert client.network_acls.get("web").description == ""


def test_create_bad_rule_leaves_nothing(client: Any) -> None:
    with pytest.raises(exceptions.LXDAPIException) as err:
        client.network_acls.create("bad", ingress=[{"action": "allow"}])
    assert str(err.value) == (
        "Network ACL 'bad': Invalid ingress rule 0: "
        "State must be one of: enabled, disabled, logged"
    )
    assert client.network_acls.exists("bad") is False


@pytest.mark.parametrize(
    "name, config, error",
    [("", None, ValueError), (3, None, TypeError), ("a", {"user.n": 1}, TypeError)],
)
def test_create_bad_arguments_send_nothing(
    client: Any, fake: FakeLXD, name: Any, config: Any, error: Any
) -> None:
    start = len(fake.requests)
    with pytest.raises(error):
        client.network_acls.create(name, config=config)
    assert wire(fake, start) == []


def test_save_puts_the_writable_fields(acl: NetworkACL, fake: FakeLXD) -> None:
    acl.egress.append(DROP_OUT)
    acl.description = "edited"
    acl.save()
    assert fake.last_body("PUT", "/1.0/network-acls/web") == {
        "description": "edited",
        "egress": [DROP_OUT],
        "ingress": [SSH_IN],
        "config": {},
    }
    assert not acl.dirty


def test_patch(acl: NetworkACL, fake: FakeLXD) -> None:
    acl.patch({"config": {"user.a": "b"}, "ingress": [SSH_IN]})
    assert fake.last_body("PATCH", "/1.0/network-acls/web") == {
        "config": {"user.a": "b"},
        "ingress": [SSH_IN],
    }
    assert acl.config == {"user.a": "b"}


def test_rename(acl: NetworkACL, client: Any, fake: FakeLXD) -> None:
    renamed = acl.rename("www")
    assert fake.last_body("POST", "/1.0/network-acls/web") == {"name": "www"}
    assert isinstance(renamed, NetworkACL) and renamed.name == "www"
    assert renamed.ingress == [SSH_IN]
    assert client.network_acls.exists("web") is False


def test_rename_to_a_taken_name_is_a_conflict(acl: NetworkACL, client: Any) -> None:
    client.network_acls.create("other")
    with pytest.raises(exceptions.Conflict, match="An ACL by that name exists"):
        acl.rename("other")
    assert client.network_acls.exists("web")


def test_delete(acl: NetworkACL, client: Any, fake: FakeLXD) -> None:
    acl.delete()
    assert wire(fake)[-1] == ("DELETE", "/1.0/network-acls/web", {})
    assert client.network_acls.exists("web") is False


def test_used_by_and_delete_in_use(acl: NetworkACL, client: Any) -> None:
    client.networks.create(
        "br1",
        config={
            "ipv4.address": "none",
            "ipv6.address": "none",
            "security.acls": "web",
        },
    )
    assert client.network_acls.get("web").used_by == ["/1.0/networks/br1"]
    with pytest.raises(exceptions.LXDAPIException) as err:
        acl.delete()
    assert str(err.value) == "Network ACL 'web': Cannot delete an ACL that is in use"
    assert client.network_acls.exists("web")


def test_log_of_an_acl_on_ovn(acl: NetworkACL, fake: FakeLXD, client: Any) -> None:
    fake.store("networks")["ovn1"] = {
        **fake.store("networks")["lxdbr0"],
        "name": "ovn1",
        "type": "ovn",
        "config": {"security.acls": "web"},
    }
    fake.store("network_acls")["web"]["log"] = "2026-11-27 allow web ingress\n"
    assert acl.log() == "2026-11-27 allow web ingress\n"
    assert wire(fake)[-1] == ("GET", "/1.0/network-acls/web/log", {})


def test_log_elsewhere_is_refused_as_lxd_does(acl: NetworkACL) -> None:
    with pytest.raises(exceptions.LXDAPIException) as err:
        acl.log()
    assert str(err.value) == (
        "Network ACL 'web': Only OVN log entries may be retrieved at this time"
    )


def test_acls_need_their_extension(fake: FakeLXD) -> None:
    fake.extensions.remove("network_acl")
    client = fake.client()
    start = len(fake.requests)
    for call in (
        lambda: client.network_acls.all(),
        lambda: client.network_acls.get("web"),
        lambda: client.network_acls.create("web"),
    ):
        with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="network_acl"):
            call()
    assert wire(fake, start) == []


def test_log_needs_its_extension(acl: NetworkACL, fake: FakeLXD) -> None:
    fake.extensions.remove("network_acl_log")
    loaded = fake.client().network_acls.get("web")
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="acl_log"):
        loaded.log()


def test_acls_follow_the_client_project(fake: FakeLXD) -> None:
    fake.client().projects.create("p1", config={"features.networks": "true"})
    client = fake.client(project="p1")
    client.network_acls.create("web")
    assert fake.calls("POST", "/1.0/network-acls")[-1].query == {"project": "p1"}
    assert "web" not in fake.store("network_acls")
    assert [a.name for a in client.network_acls.all()] == ["web"]

"""Network ACLs against the real LXD 5.0.2 (applied to address-less bridges)."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import pytest

from integration.conftest import unique_name
from integration.test_networks import (  # noqa: F401 (fixtures)
    Bridges,
    make_bridge,
    networks_project,
)
from pylxd import Client, exceptions
from pylxd.models import NetworkACL
from pylxd.models._mixins import name_from_url

SSH_IN = {
    "action": "allow",
    "state": "enabled",
    "protocol": "tcp",
    "destination_port": "22",
}
DROP_OUT = {"action": "drop", "state": "logged", "destination": "192.0.2.0/24"}


@pytest.fixture
def make_acl(client: Client) -> Iterator[Callable[..., NetworkACL]]:
    """A factory of ACLs with unique names; every name they had is deleted after."""
    names: list[str] = []

    def make(**kwargs: Any) -> NetworkACL:
        name = track(unique_name("pyit-acl"))
        return client.network_acls.create(name, **kwargs)  # type: ignore[no-any-return]

    def track(name: str) -> str:
        names.append(name)
        return name

    make.track = track  # type: ignore[attr-defined]
    yield make
    for name in reversed(names):
        with contextlib.suppress(exceptions.NotFound):
            client.api["network-acls"][name].delete()


def test_create_get_all_exists(client: Client, make_acl: Any) -> None:
    acl = make_acl(description="ssh in", ingress=[SSH_IN], egress=[DROP_OUT])
    got = client.network_acls.get(acl.name)
    assert isinstance(got, NetworkACL)
    assert (got.description, got.ingress, got.egress) == (
        "ssh in",
        [SSH_IN],
        [DROP_OUT],
    )
    assert (got.config, got.used_by) == ({}, [])
    assert acl.name in [a.name for a in client.network_acls.all()]
    assert client.network_acls.exists(acl.name) is True
    assert client.network_acls.exists(unique_name("pyit-acl")) is False


def test_get_missing_names_it(client: Client) -> None:
    name = unique_name("pyit-acl")
    with pytest.raises(exceptions.NotFound) as err:
        client.network_acls.get(name)
    assert str(err.value) == f"Network ACL {name!r}: Network ACL not found"


def test_create_duplicate_is_a_conflict(client: Client, make_acl: Any) -> None:
    acl = make_acl(description="first")
    with pytest.raises(exceptions.Conflict, match="already exists"):
        client.network_acls.create(acl.name, description="second")
    assert client.network_acls.get(acl.name).description == "first"


def test_create_bad_rule_leaves_nothing(client: Client, make_acl: Any) -> None:
    name = make_acl.track(unique_name("pyit-acl"))
    with pytest.raises(exceptions.LXDAPIException) as err:
        client.network_acls.create(name, ingress=[{"action": "maybe"}])
    assert str(err.value).startswith(f"Network ACL {name!r}: Invalid ingress rule 0")
    assert client.network_acls.exists(name) is False


def test_save_and_patch(client: Client, make_acl: Any) -> None:
    acl = make_acl(ingress=[SSH_IN])
    acl.egress.append(DROP_OUT)
    acl.description = "edited"
    acl.save()
    got = client.network_acls.get(acl.name)
    assert (got.description, got.ingress, got.egress) == (
        "edited",
        [SSH_IN],
        [DROP_OUT],
    )
    acl.patch({"config": {"user.owner": "pylxd"}})
    assert acl.config == {"user.owner": "pylxd"}


def test_save_bad_rule_keeps_the_acl(client: Client, make_acl: Any) -> None:
    acl = make_acl(ingress=[SSH_IN])
    acl.ingress = [{"action": "maybe", "state": "enabled"}]
    with pytest.raises(exceptions.LXDAPIException, match="Action must be one of"):
        acl.save()
    assert client.network_acls.get(acl.name).ingress == [SSH_IN]


def test_rename(client: Client, make_acl: Any) -> None:
    acl = make_acl(ingress=[SSH_IN])
    old_name, new_name = acl.name, make_acl.track(unique_name("pyit-acl"))
    renamed = acl.rename(new_name)
    assert isinstance(renamed, NetworkACL)
    assert (renamed.name, renamed.ingress) == (new_name, [SSH_IN])
    assert client.network_acls.exists(old_name) is False


def test_rename_to_a_taken_name_is_a_conflict(client: Client, make_acl: Any) -> None:
    first, second = make_acl(), make_acl()
    with pytest.raises(exceptions.Conflict, match="exists already"):
        first.rename(second.name)
    assert client.network_acls.exists(first.name)


def test_delete(client: Client, make_acl: Any) -> None:
    acl = make_acl()
    acl.delete()
    assert client.network_acls.exists(acl.name) is False


def test_applied_to_a_bridge(
    client: Client,
    make_acl: Any,
    make_bridge: Bridges,  # noqa: F811
) -> None:
    acl = make_acl(ingress=[SSH_IN])
    network = make_bridge(config={"security.acls": acl.name})
    used_by = client.network_acls.get(acl.name).used_by
    assert [name_from_url(url) for url in used_by] == [network.name]
    with pytest.raises(exceptions.LXDAPIException) as err:
        acl.delete()
    assert str(err.value) == (
        f"Network ACL {acl.name!r}: Cannot delete an ACL that is in use"
    )
    network.config["security.acls"] = ""
    network.save()
    acl.delete()
    assert client.network_acls.exists(acl.name) is False


def test_log_is_for_ovn_only(make_acl: Any) -> None:
    acl = make_acl()
    with pytest.raises(exceptions.LXDAPIException) as err:
        acl.log()
    assert str(err.value) == (
        f"Network ACL {acl.name!r}: Only OVN log entries may be retrieved at this time"
    )


def test_acls_of_a_project_stay_in_it(
    client: Client, networks_project: Client  # noqa: F811
) -> None:
    name = unique_name("pyit-acl")
    acl = networks_project.network_acls.create(name, ingress=[SSH_IN])
    try:
        assert [a.name for a in networks_project.network_acls.all()] == [name]
        assert client.network_acls.exists(name) is False
        assert networks_project.network_acls.get(name).ingress == [SSH_IN]
    finally:
        acl.delete()
    assert networks_project.network_acls.exists(name) is False

"""Networks, their state, leases, forwards and peers, against the fake LXD."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest

from pylxd import exceptions
from pylxd.models import Network, NetworkForward, NetworkPeer, NetworkState
from pylxd.testing import FakeLXD

NO_ADDRESSES = {"ipv4.address": "none", "ipv6.address": "none"}


@pytest.fixture
def async_fake() -> FakeLXD:
    """A newer LXD: network changes are answered with operations."""
    fake = FakeLXD()
    fake.extensions.append("storage_and_network_operations")
    return fake


def wire(fake: FakeLXD, since: int = 0) -> list[tuple[str, str, dict[str, str]]]:
    return [(r.method, r.path, r.query) for r in fake.requests[since:]]


def bridge(client: Any, name: str = "br1", **config: str) -> Network:
    return client.networks.create(name, config={**NO_ADDRESSES, **config})


# -- reading ------------------------------------------------------------------
def test_all_is_one_request_and_fully_loaded(client: Any, fake: FakeLXD) -> None:
    start = len(fake.requests)
    networks = client.networks.all()
    assert [n.name for n in networks] == ["lxdbr0", "lo"]
    assert [(n.type, n.managed) for n in networks] == [
        ("bridge", True),
        ("loopback", False),
    ]
    assert wire(fake, start) == [("GET", "/1.0/networks", {"recursion": "1"})]


def test_get_loads_every_attribute(client: Any) -> None:
    network = client.networks.get("lxdbr0")
    assert isinstance(network, Network)
    assert (network.name, network.description, network.type) == ("lxdbr0", "", "bridge")
    assert network.config == {
        "ipv4.address": "10.74.126.1/24",
        "ipv4.nat": "true",
        "ipv6.address": "none",
    }
    assert network.managed is True
    assert (network.status, network.locations) == ("Created", ["none"])


def test_used_by_null_reads_as_an_empty_list(client: Any, fake: FakeLXD) -> None:
    network = client.networks.get("lxdbr0")
    assert fake.calls("GET", "/1.0/networks/lxdbr0")[-1].json is None
    assert network.used_by == []


@pytest.mark.parametrize("used_by", [5, "/1.0/profiles/web", {"a": "b"}])
def test_used_by_that_is_no_list_is_kept_as_lxd_sent_it(
    client: Any, fake: FakeLXD, used_by: Any
) -> None:
    client.networks.create("br1")
    answer = FakeLXD.sync({"name": "br1", "used_by": used_by})
    fake.reply_next(answer, "GET", "/1.0/networks/br1")
    assert client.networks.get("br1").used_by == used_by  # not split, no TypeError


def test_used_by_lists_profiles_using_the_network(client: Any) -> None:
    bridge(client)
    nic = {"eth0": {"type": "nic", "network": "br1", "name": "eth0"}}
    client.profiles.create("web", devices=nic)
    assert client.networks.get("br1").used_by == ["/1.0/profiles/web"]


def test_get_missing_raises_not_found_naming_it(client: Any) -> None:
    with pytest.raises(exceptions.NotFound) as err:
        client.networks.get("nope")
    assert str(err.value) == "Network 'nope': Network not found"
    assert err.value.response.status_code == 404


def test_exists(client: Any) -> None:
    assert client.networks.exists("lxdbr0") is True
    assert client.networks.exists("nope") is False


def test_repr_and_str(client: Any) -> None:
    network = client.networks.get("lxdbr0")
    assert repr(network) == (  # pylxd's form, values as JSON
        'Network(config={"ipv4.address": "10.74.126.1/24", "ipv4.nat": "true", '
        '"ipv6.address": "none"}, description="", name="lxdbr0", type="bridge")'
    )
    assert repr(Network(client, name="n")) == 'Network(name="n")'
    assert json.loads(str(network)) == {
        "name": "lxdbr0",
        "description": "",
        "type": "bridge",
        "config": {
            "ipv4.address": "10.74.126.1/24",
            "ipv4.nat": "true",
            "ipv6.address": "none",
        },
        "managed": True,
        "used_by": [],
        "status": "Created",
        "locations": ["none"],
    }
    assert str(network).startswith('{\n  "name": "lxdbr0",\n  "description": ""')


def test_state(client: Any, fake: FakeLXD) -> None:
    state = client.networks.get("lxdbr0").state()
    assert isinstance(state, NetworkState)
    assert state.addresses == [
        {"family": "inet", "address": "10.74.126.1", "netmask": "24", "scope": "global"}
    ]
    assert (state.mtu, state.state, state.bridge.stp) == (1500, "up", False)
    assert fake.calls()[-1].path == "/1.0/networks/lxdbr0/state"


def test_state_of_a_host_interface(client: Any) -> None:
    state = client.networks.get("lo").state()
    assert (state.type, state.bridge) == ("loopback", None)


def test_leases(client: Any, fake: FakeLXD) -> None:
    lease = {
        "hostname": "c1",
        "hwaddr": "00:16:3e:11:22:33",
        "address": "10.74.126.10",
        "type": "dynamic",
        "location": "none",
    }
    fake.store("networks")["lxdbr0"]["leases"].append(lease)
    leases = client.networks.get("lxdbr0").leases()
    assert leases == [lease]
    assert leases[0].hostname == "c1"
    assert wire(fake)[-1] == ("GET", "/1.0/networks/lxdbr0/leases", {})


def test_leases_of_a_host_interface_is_not_found(client: Any) -> None:
    with pytest.raises(exceptions.NotFound, match="Network 'lo': Failed loading"):
        client.networks.get("lo").leases()


# -- the network API extension ------------------------------------------------
def test_create_needs_the_network_extension() -> None:
    fake = FakeLXD(extensions=[])
    client = fake.client()
    start = len(fake.requests)
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="'network'"):
        client.networks.create("br1", config=NO_ADDRESSES)
    assert wire(fake, start) == []


def test_reads_do_not_need_the_network_extension() -> None:
    # As in pylxd: LXD before ``network`` still listed networks read-only.
    fake = FakeLXD(extensions=[])
    client = fake.client()
    assert "lxdbr0" in [n.name for n in client.networks.all()]
    assert client.networks.get("lxdbr0").type == "bridge"
    assert client.networks.exists("lxdbr0")


@pytest.mark.parametrize(
    "call",
    [
        lambda n: n.save(),
        lambda n: n.rename("br2"),
        lambda n: n.delete(),
    ],
    ids=["save", "rename", "delete"],
)
def test_changes_need_the_network_extension(
    client: Any, fake: FakeLXD, call: Any
) -> None:
    network = bridge(client)
    client.assert_has_api_extension = mock.Mock(
        side_effect=exceptions.LXDAPIExtensionNotAvailable("network")
    )
    start = len(fake.requests)
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable):
        call(network)
    client.assert_has_api_extension.assert_called_once_with("network")
    assert wire(fake, start) == []


def test_leases_need_their_extension(fake: FakeLXD) -> None:
    fake.extensions.remove("network_leases")
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="network_leases"):
        fake.client().networks.get("lxdbr0").leases()


# -- creating -----------------------------------------------------------------
def test_create_sends_every_field_given(client: Any, fake: FakeLXD) -> None:
    network = client.networks.create(
        "br1", description="My new network", type="bridge", config=NO_ADDRESSES
    )
    assert fake.last_body("POST", "/1.0/networks") == {
        "name": "br1",
        "description": "My new network",
        "type": "bridge",
        "config": NO_ADDRESSES,
    }
    assert (network.name, network.description, network.config) == (
        "br1",
        "My new network",
        NO_ADDRESSES,
    )


def test_create_sends_only_the_name_when_nothing_else_is_given(
    client: Any, fake: FakeLXD
) -> None:
    network = client.networks.create("br1")
    assert fake.last_body("POST", "/1.0/networks") == {"name": "br1"}
    # LXD picks both subnets then; integration tests always pass "none".
    assert network.config["ipv4.address"] != "none"


def test_create_duplicate_raises_conflict(client: Any, fake: FakeLXD) -> None:
    client.networks.create("br1", description="first", config=NO_ADDRESSES)
    with pytest.raises(exceptions.Conflict) as err:
        bridge(client)
    assert str(err.value) == "Network 'br1': The network already exists"
    assert err.value.response.status_code == 400  # how LXD 5.0 answers
    assert fake.store("networks")["br1"]["description"] == "first"


def test_create_refused_leaves_nothing(client: Any) -> None:
    with pytest.raises(exceptions.LXDAPIException) as err:
        bridge(client, **{"bogus.key": "1"})
    assert not isinstance(err.value, exceptions.Conflict)
    assert "Network 'br1'" in str(err.value) and "bogus.key" in str(err.value)
    assert client.networks.exists("br1") is False


def test_create_unknown_type(client: Any) -> None:
    with pytest.raises(
        exceptions.LXDAPIException, match="Network 'x1': Unknown driver"
    ):
        client.networks.create("x1", type="nonsense", config=NO_ADDRESSES)


@pytest.mark.parametrize(
    "name, config, error, message",
    [
        ("", None, ValueError, "Network name '' is not allowed"),
        (None, None, TypeError, "Network name must be a string, not NoneType"),
        ("br1", ["a"], TypeError, "Network 'br1': config must be a dict"),
        ("br1", {"ipv4.nat": True}, TypeError, r"config\['ipv4.nat'\] must be a str"),
    ],
)
def test_create_bad_arguments_send_nothing(
    client: Any, fake: FakeLXD, name: Any, config: Any, error: Any, message: str
) -> None:
    start = len(fake.requests)
    with pytest.raises(error, match=message):
        client.networks.create(name, config=config)
    assert wire(fake, start) == []


def test_create_waits_for_the_operation_of_newer_lxd(async_fake: FakeLXD) -> None:
    client = async_fake.client()
    start = len(async_fake.requests)
    network = bridge(client)
    assert network.config == NO_ADDRESSES
    calls = wire(async_fake, start)
    assert [c[:2] for c in calls[:1]] == [("POST", "/1.0/networks")]
    assert calls[1][0] == "GET" and calls[1][1].endswith("/wait")
    assert calls[2][:2] == ("GET", "/1.0/networks/br1")


def test_create_failed_operation_names_the_network(async_fake: FakeLXD) -> None:
    client = async_fake.client()
    op = async_fake.operation("Creating network", err="Failed to set up bridge")
    async_fake.reply_next(async_fake.async_reply(op), "POST", "/1.0/networks")
    with pytest.raises(exceptions.LXDAPIException) as err:
        bridge(client)
    assert str(err.value) == "Network 'br1': Failed to set up bridge"


# -- changing -----------------------------------------------------------------
def test_save_puts_the_writable_fields(client: Any, fake: FakeLXD) -> None:
    network = bridge(client)
    network.config["user.owner"] = "me"
    network.description = "edited"
    assert network.dirty
    network.save()
    assert fake.last_body("PUT", "/1.0/networks/br1") == {
        "description": "edited",
        "config": {**NO_ADDRESSES, "user.owner": "me"},
    }
    assert not network.dirty
    assert client.networks.get("br1").config["user.owner"] == "me"


def test_save_waits_for_the_operation_of_newer_lxd(async_fake: FakeLXD) -> None:
    client = async_fake.client()
    network = bridge(client)
    network.description = "edited"
    start = len(async_fake.requests)
    network.save()
    calls = wire(async_fake, start)
    assert calls[0][:2] == ("PUT", "/1.0/networks/br1")
    assert calls[1][1].endswith("/wait")
    assert client.networks.get("br1").description == "edited"


def test_save_a_host_interface_is_refused(client: Any) -> None:
    network = client.networks.get("lo")
    with pytest.raises(exceptions.NotFound, match="Network 'lo'"):
        network.save()


def test_patch_merges_config(client: Any, fake: FakeLXD) -> None:
    network = bridge(client)
    network.patch({"config": {"user.a": "b"}})
    assert fake.last_body("PATCH", "/1.0/networks/br1") == {"config": {"user.a": "b"}}
    assert network.config == {**NO_ADDRESSES, "user.a": "b"}


def test_rename(client: Any, fake: FakeLXD) -> None:
    network = bridge(client)
    renamed = network.rename("br2")
    assert fake.last_body("POST", "/1.0/networks/br1") == {"name": "br2"}
    assert isinstance(renamed, Network) and renamed.name == "br2"
    assert client.networks.exists("br1") is False


def test_rename_to_a_taken_name_is_a_conflict(client: Any) -> None:
    network = bridge(client)
    with pytest.raises(exceptions.Conflict, match='Network "lxdbr0" already exists'):
        network.rename("lxdbr0")
    assert client.networks.exists("br1")


def test_rename_in_use_is_refused(client: Any) -> None:
    network = bridge(client)
    client.profiles.create("web", devices={"e": {"type": "nic", "network": "br1"}})
    with pytest.raises(exceptions.LXDAPIException, match="currently in use"):
        network.rename("br2")


def test_rename_waits_for_the_operation_of_newer_lxd(async_fake: FakeLXD) -> None:
    client = async_fake.client()
    renamed = bridge(client).rename("br2")
    assert renamed.name == "br2"
    assert client.networks.exists("br1") is False


def test_delete(client: Any, fake: FakeLXD) -> None:
    network = bridge(client)
    network.delete()
    assert wire(fake)[-1] == ("DELETE", "/1.0/networks/br1", {})
    assert client.networks.exists("br1") is False


def test_delete_in_use_is_refused_and_keeps_it(client: Any) -> None:
    network = bridge(client)
    client.profiles.create("web", devices={"e": {"type": "nic", "network": "br1"}})
    with pytest.raises(exceptions.LXDAPIException) as err:
        network.delete()
    assert str(err.value) == "Network 'br1': The network is currently in use"
    assert client.networks.exists("br1")


def test_delete_missing_names_it(client: Any) -> None:
    network = bridge(client)
    client.networks.get("br1").delete()
    with pytest.raises(exceptions.NotFound, match="Network 'br1'"):
        network.delete()


def test_delete_waits_for_the_operation_of_newer_lxd(async_fake: FakeLXD) -> None:
    client = async_fake.client()
    bridge(client).delete()
    assert client.networks.exists("br1") is False


# -- projects -----------------------------------------------------------------
def test_networks_follow_the_client_project(fake: FakeLXD) -> None:
    fake.client().projects.create("p1", config={"features.networks": "true"})
    client = fake.client(project="p1")
    client.networks.create("ovn1", config={"network": "lxdbr0"})
    assert fake.last("POST", "/1.0/networks").query == {"project": "p1"}
    assert [(n.name, n.type) for n in client.networks.all()] == [("ovn1", "ovn")]
    assert wire(fake)[-1] == (
        "GET",
        "/1.0/networks",
        {"project": "p1", "recursion": "1"},
    )
    assert "ovn1" not in fake.store("networks")


def test_a_bridge_in_a_project_is_refused(fake: FakeLXD) -> None:
    fake.client().projects.create("p1", config={"features.networks": "true"})
    client = fake.client(project="p1")
    with pytest.raises(exceptions.LXDAPIException, match="non-default projects"):
        client.networks.create("br1", type="bridge", config=NO_ADDRESSES)
    assert client.networks.exists("br1") is False


# -- forwards -----------------------------------------------------------------
@pytest.fixture
def routed(client: Any) -> Network:
    """A bridge with (fake, unrouted) addresses: forwards need one."""
    return client.networks.create(
        "br1", config={"ipv4.address": "192.0.2.1/24", "ipv6.address": "none"}
    )


PORTS = [
    {
        "description": "web",
        "protocol": "tcp",
        "listen_port": "80,443",
        "target_address": "192.0.2.10",
    }
]


def test_forward_create_sends_exact_body(routed: Network, fake: FakeLXD) -> None:
    forward = routed.forwards.create(
        {
            "listen_address": "192.0.2.100",
            "description": "public",
            "config": {"target_address": "192.0.2.10"},
            "ports": PORTS,
        }
    )
    assert fake.last_body("POST", "/1.0/networks/br1/forwards") == {
        "listen_address": "192.0.2.100",
        "description": "public",
        "config": {"target_address": "192.0.2.10"},
        "ports": PORTS,
    }
    assert isinstance(forward, NetworkForward)
    assert (forward.listen_address, forward.ports) == ("192.0.2.100", PORTS)
    assert forward.network is routed
    assert wire(fake)[-1] == ("GET", "/1.0/networks/br1/forwards/192.0.2.100", {})


def test_forward_all_get_exists(routed: Network, fake: FakeLXD) -> None:
    routed.forwards.create("192.0.2.100")
    start = len(fake.requests)
    forwards = routed.forwards.all()
    assert [f.listen_address for f in forwards] == ["192.0.2.100"]
    assert forwards[0].config == {}
    assert wire(fake, start) == [
        ("GET", "/1.0/networks/br1/forwards", {"recursion": "1"})
    ]
    assert routed.forwards.get("192.0.2.100").description == ""
    assert routed.forwards.exists("192.0.2.100") is True
    assert routed.forwards.exists("192.0.2.101") is False


def test_forward_save_and_delete(routed: Network, fake: FakeLXD) -> None:
    forward = routed.forwards.create("192.0.2.100")
    forward.ports = PORTS
    forward.description = "d"
    forward.save()
    assert fake.last_body("PUT", "/1.0/networks/br1/forwards/192.0.2.100") == {
        "description": "d",
        "config": {},
        "ports": PORTS,
    }
    forward.delete()
    assert wire(fake)[-1] == (
        "DELETE",
        "/1.0/networks/br1/forwards/192.0.2.100",
        {},
    )
    assert routed.forwards.all() == []


def test_forward_missing_names_it(routed: Network) -> None:
    with pytest.raises(exceptions.NotFound) as err:
        routed.forwards.get("192.0.2.7")
    assert str(err.value) == (
        "Network forward '192.0.2.7' of Network 'br1': Network forward not found"
    )


def test_forward_duplicate_is_a_conflict(routed: Network) -> None:
    routed.forwards.create("192.0.2.100")
    with pytest.raises(exceptions.Conflict, match="'192.0.2.100'"):
        routed.forwards.create("192.0.2.100")


def test_forward_needs_an_address_on_the_network(client: Any) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="invalid CIDR address"):
        bridge(client).forwards.create("192.0.2.100")


def test_forward_needs_its_extension(routed: Network, fake: FakeLXD) -> None:
    fake.extensions.remove("network_forward")
    network = fake.client().networks.get("br1")
    start = len(fake.requests)
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="network_forward"):
        network.forwards.create("192.0.2.100")
    assert wire(fake, start) == []


# -- peers --------------------------------------------------------------------
@pytest.fixture
def ovn(client: Any, fake: FakeLXD) -> Network:
    fake.store("networks")["ovn1"] = {
        **fake.store("networks")["lxdbr0"],
        "name": "ovn1",
        "type": "ovn",
        "config": {"network": "lxdbr0"},
        "forwards": {},
        "peers": {},
        "leases": [],
    }
    return client.networks.get("ovn1")  # type: ignore[no-any-return]


def test_peer_create_sends_exact_body(ovn: Network, fake: FakeLXD) -> None:
    peer = ovn.peers.create(
        "to-p2",
        "ovn2",
        target_project="p2",
        description="d",
        config={"user.a": "b"},
    )
    assert fake.last_body("POST", "/1.0/networks/ovn1/peers") == {
        "name": "to-p2",
        "target_network": "ovn2",
        "target_project": "p2",
        "description": "d",
        "config": {"user.a": "b"},
    }
    assert isinstance(peer, NetworkPeer)
    assert (peer.status, peer.target_network, peer.used_by) == ("Pending", "ovn2", [])


def test_peer_is_created_when_both_sides_peer(ovn: Network, client: Any) -> None:
    ovn.peers.create("a-b", "ovn1")  # a network peering with itself: both sides
    assert ovn.peers.get("a-b").status == "Created"


def test_peer_all_save_delete(ovn: Network, fake: FakeLXD) -> None:
    peer = ovn.peers.create("p", "ovn2")
    assert [p.name for p in ovn.peers.all()] == ["p"]
    peer.description = "edited"
    peer.save()
    assert fake.last_body("PUT", "/1.0/networks/ovn1/peers/p") == {
        "description": "edited",
        "config": {},
    }
    peer.delete()
    assert ovn.peers.exists("p") is False


def test_peer_on_a_bridge_is_refused(client: Any) -> None:
    with pytest.raises(exceptions.LXDAPIException) as err:
        bridge(client).peers.create("p", "other")
    assert "does not support peering" in str(err.value)
    assert str(err.value).startswith("Network peer 'p' of Network 'br1'")


def test_peer_missing_names_it(ovn: Network) -> None:
    with pytest.raises(exceptions.NotFound, match="Network peer 'x' of Network 'ovn1'"):
        ovn.peers.get("x")


# -- error naming -------------------------------------------------------------
def test_named_errors_keep_their_class_and_response(client: Any) -> None:
    with pytest.raises(exceptions.NotFound) as err:
        client.networks.get("nope")
    assert type(err.value).__name__ == "NotFound"
    assert isinstance(err.value, exceptions.LXDAPIException)
    assert repr(err.value) == "NotFound(\"Network 'nope': Network not found\")"
    assert err.value.response.json()["error"] == "Network not found"


def test_nested_naming_names_once() -> None:
    from pylxd.models.network import naming

    response = FakeLXD.error(404, "gone")
    fake_response = mock.Mock(status_code=404, json=lambda: json.loads(response.body))
    with pytest.raises(exceptions.NotFound) as err:
        with naming("Outer 'a'"):
            with naming("Inner 'b'"):
                raise exceptions.NotFound(fake_response)
    assert str(err.value) == "Inner 'b': gone"


def test_an_operation_still_running_is_not_renamed(async_fake: FakeLXD) -> None:
    client = async_fake.client()
    op = async_fake.operation("Creating network", status="Running")
    async_fake.reply_next(async_fake.async_reply(op), "POST", "/1.0/networks")
    with pytest.raises(exceptions.OperationTimeout) as err:
        bridge(client)
    assert "did not finish" in str(err.value)


def test_patch_waits_for_the_operation_of_newer_lxd(async_fake: FakeLXD) -> None:
    client = async_fake.client()
    network = bridge(client)
    start = len(async_fake.requests)
    network.patch({"config": {"user.a": "b"}})
    calls = wire(async_fake, start)
    assert calls[0][:2] == ("PATCH", "/1.0/networks/br1")
    assert calls[1][1].endswith("/wait")
    assert calls[2][:2] == ("GET", "/1.0/networks/br1")
    assert network.config["user.a"] == "b"


def test_put_replaces_and_reloads(client: Any, fake: FakeLXD) -> None:
    network = bridge(client)
    network.put({"description": "d", "config": NO_ADDRESSES})
    assert fake.last_body("PUT", "/1.0/networks/br1") == {
        "description": "d",
        "config": NO_ADDRESSES,
    }
    assert network.description == "d"


def test_raw_put_needs_the_extension(client: Any, fake: FakeLXD) -> None:
    network = bridge(client)
    client.host_info["api_extensions"].remove("network")
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable):
        network.raw_put({"config": {}})
    assert fake.calls("PUT") == []


def test_reading_a_deleted_network_names_it(client: Any) -> None:
    bridge(client)
    stale = Network(client, name="br1")
    client.networks.get("br1").delete()
    with pytest.raises(exceptions.NotFound, match="Network 'br1'"):
        stale.config


def test_in_use_by_an_instance(client: Any, fake: FakeLXD) -> None:
    bridge(client)
    nic = {"type": "nic", "network": "br1", "name": "eth0"}
    fake.store("instances")["c1"] = {"name": "c1", "devices": {"eth0": nic}}
    network = client.networks.get("br1")
    assert network.used_by == ["/1.0/instances/c1"]
    with pytest.raises(exceptions.LXDAPIException, match="currently in use"):
        network.delete()


def test_a_child_gone_on_sync_is_named_with_its_parent(client: Any) -> None:
    network = client.networks.create(
        "br1", config={"ipv4.address": "10.0.0.1/24", "ipv6.address": "none"}
    )
    forward = network.forwards.create("10.0.0.7")
    client.api.networks["br1"].forwards["10.0.0.7"].delete()
    with pytest.raises(exceptions.NotFound) as err:
        forward.sync()
    assert str(err.value) == (
        "Network forward '10.0.0.7' of Network 'br1': Network forward not found"
    )

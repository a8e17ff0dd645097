"""Fake LXD: networks (state, leases, forwards, peers), network ACLs and zones.

Answers and messages are LXD 5.0.2's, as measured on a real daemon. With the
``storage_and_network_operations`` extension, network changes are answered
with operations, as newer LXD does.

Beyond the REST API, ``fake.store("networks")[name]["leases"]`` holds the
DHCP leases a network reports (a list of lease dicts). ACLs and zones are in
:mod:`pylxd.testing._fake_network_acls_zones`.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable

from pylxd._types import JSONDict
from pylxd.testing._fake import FakeLXD, on_init, put_and_patch, route
from pylxd.testing._fake_collection import Collection, json_body
from pylxd.testing._fake_core import listing, require_project
from pylxd.testing._fake_helpers import change
from pylxd.testing._fake_wire import FakeError, FakeRequest, Reply, lookup, rename_in

_NET = r"(?P<net>[^/]+)"
_NAME = r"(?P<name>[^/]+)"

_DRIVERS = ("bridge", "macvlan", "sriov", "ovn", "physical")
_MAX_INTERFACE_NAME = 15
_NETWORK_KEYS = re.compile(
    r"^(ipv[46]\.|bridge\.|dns\.|fan\.|tunnel\.|raw\.|user\.|maas\.|volatile\.|"
    r"security\.acls|parent$|mtu$|network$|vlan$|gvrp$|ovn\.)"
)
_BRIDGE_STATE = {
    "id": "8000.00163e000001",
    "stp": False,
    "forward_delay": 1500,
    "vlan_default": 0,
    "vlan_filtering": False,
    "upper_devices": [],
}
_NETWORK_NOT_FOUND = "Failed loading network: Network not found"


@on_init
def _seed(fake: FakeLXD) -> None:
    networks = fake.store("networks")
    networks["lxdbr0"] = _new_network(
        "lxdbr0",
        "bridge",
        {"ipv4.address": "10.74.126.1/24", "ipv4.nat": "true", "ipv6.address": "none"},
    )
    networks["lo"] = {**_new_network("lo", "loopback", {}), "managed": False}


def _new_network(
    name: str, type_: str, config: JSONDict, description: str = ""
) -> JSONDict:
    return {
        "name": name,
        "description": description,
        "type": type_,
        "config": config,
        "managed": True,
        "status": "Created",
        "locations": ["none"],
        "leases": [],
        "forwards": {},
        "peers": {},
    }


# -- shared helpers -----------------------------------------------------------
def _project(fake: FakeLXD, request: FakeRequest) -> str:
    """Networks, ACLs and zones live in the project only with features.networks."""
    project = require_project(fake, request)
    config = fake.store("projects")[project].get("config", {})
    return project if config.get("features.networks") == "true" else "default"


def _suffix(project: str) -> str:
    return "" if project == "default" else f"?project={project}"


def _strings(config: Any) -> JSONDict:
    if config is None:
        return {}
    if not isinstance(config, dict) or not all(
        isinstance(v, str) for v in config.values()
    ):
        raise FakeError(
            400, "json: cannot unmarshal value into Go struct field of type string"
        )
    return dict(config)


def _update(obj: JSONDict, body: JSONDict, fields: dict[str, Any], merge: bool) -> None:
    """PUT replaces; PATCH (LXD 5.0) merges ``config`` and resets the rest."""
    for key, default in fields.items():
        obj[key] = copy.deepcopy(body.get(key, default))
    obj["config"] = {**obj["config"], **body["config"]} if merge else body["config"]


# -- networks -----------------------------------------------------------------
def _devices_using(
    fake: FakeLXD, project: str, kind: str, match: Callable[[JSONDict], bool]
) -> list[str]:
    urls = []
    for name, obj in fake.store(kind, project).items():
        devices = obj.get("devices") or {}
        if any(d.get("type") == "nic" and match(d) for d in devices.values()):
            urls.append(f"/1.0/{kind}/{name}{_suffix(project)}")
    return urls


def _network_used_by(fake: FakeLXD, project: str, name: str) -> list[str]:
    def uses(device: JSONDict) -> bool:
        return name in (device.get("network"), device.get("parent"))

    return _devices_using(fake, project, "profiles", uses) + _devices_using(
        fake, project, "instances", uses
    )


def _network_view(fake: FakeLXD, project: str, net: JSONDict) -> JSONDict:
    view = {
        k: copy.deepcopy(v)
        for k, v in net.items()
        if k not in ("leases", "forwards", "peers")
    }
    used_by = _network_used_by(fake, project, net["name"]) if net["managed"] else []
    view["used_by"] = used_by or (None if net["managed"] else [])
    if not net["managed"]:
        view.update(status="", locations=None)
    if fake.server == "incus":  # Incus 6.0 says which project a network is in
        view["project"] = project
    return view


def _network(
    fake: FakeLXD, request: FakeRequest, name: str, managed: bool = True
) -> JSONDict:
    missing = _NETWORK_NOT_FOUND if managed else "Network not found"
    net = lookup(fake.store("networks", _project(fake, request)), name, missing)
    if managed and not net["managed"]:
        raise FakeError(404, missing)
    return net


def _network_config(name: str, type_: str, config: Any, creating: bool) -> JSONDict:
    config = _strings(config)
    for key in config:
        if not _NETWORK_KEYS.match(key):
            status = 500 if creating else 400
            raise FakeError(
                status, f'Invalid option for network "{name}" option "{key}"'
            )
    if creating and type_ == "bridge":
        # LXD picks a subnet for each family not set: a fake, unrouted one here.
        config.setdefault("ipv4.address", "10.158.27.1/24")
        config.setdefault("ipv6.address", "fd42:6b5d:1e4a:7c3f::1/64")
        for family in ("ipv4", "ipv6"):
            if config[f"{family}.address"] not in ("none", ""):
                config.setdefault(f"{family}.nat", "true")
    return config


@route("GET", r"/1.0/networks")
def _networks(fake: FakeLXD, request: FakeRequest) -> Reply:
    project = _project(fake, request)
    items = fake.store("networks", project)
    return fake.sync(
        listing(
            request, "/1.0/networks", items, lambda n: _network_view(fake, project, n)
        )
    )


@route("POST", r"/1.0/networks")
def _network_create(fake: FakeLXD, request: FakeRequest) -> Reply:
    project = _project(fake, request)
    networks = fake.store("networks", project)
    body = json_body(request)
    # Only OVN networks live in a project of their own (LXD 5.0).
    name = body.get("name")
    type_ = body.get("type") or ("bridge" if project == "default" else "ovn")
    if not name:
        raise FakeError(400, "No name provided")
    if len(name) > _MAX_INTERFACE_NAME:
        raise FakeError(400, "Network interface is too long (maximum 15 characters)")
    if name in networks and fake.server == "incus":
        raise FakeError(409, f'Network "{name}" already exists')
    if name in networks:
        raise FakeError(400, "The network already exists")
    if type_ not in _DRIVERS:
        raise FakeError(400, "Unknown driver")
    if project != "default" and type_ != "ovn":
        raise FakeError(400, "Network type does not support non-default projects")
    config = _network_config(name, type_, body.get("config"), creating=True)
    net = _new_network(name, type_, config, body.get("description") or "")
    return change(
        fake, request, "Creating network", lambda: networks.__setitem__(name, net)
    )


@route("GET", rf"/1.0/networks/{_NAME}")
def _network_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    net = _network(fake, request, name, managed=False)
    return fake.sync(_network_view(fake, _project(fake, request), net))


@put_and_patch(rf"/1.0/networks/{_NAME}")
def _network_update(
    fake: FakeLXD, request: FakeRequest, name: str, merge: bool
) -> Reply:
    net = _network(fake, request, name)
    body = json_body(request)
    body["config"] = _network_config(
        name, net["type"], body.get("config"), creating=False
    )
    return change(
        fake,
        request,
        "Updating network",
        lambda: _update(net, body, {"description": ""}, merge),
    )


@route("POST", rf"/1.0/networks/{_NAME}")
def _network_rename(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    project = _project(fake, request)
    _network(fake, request, name)
    new = json_body(request).get("name")
    networks = fake.store("networks", project)
    if not new:
        raise FakeError(400, "No name provided")
    if new in networks:
        raise FakeError(409, f'Network "{new}" already exists')
    if _network_used_by(fake, project, name):
        raise FakeError(400, "Network is currently in use")

    rename = lambda: rename_in(networks, name, new)  # noqa: E731
    return change(fake, request, "Renaming network", rename)


@route("DELETE", rf"/1.0/networks/{_NAME}")
def _network_delete(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    project = _project(fake, request)
    _network(fake, request, name)
    if _network_used_by(fake, project, name):
        raise FakeError(400, "The network is currently in use")
    networks = fake.store("networks", project)
    return change(fake, request, "Deleting network", lambda: networks.pop(name))


@route("GET", rf"/1.0/networks/{_NAME}/state")
def _network_state(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    net = fake.store("networks", _project(fake, request)).get(name)
    if net is None:
        raise FakeError(404, f'Network interface "{name}" not found')
    return fake.sync(_state(net))


def _state(net: JSONDict) -> JSONDict:
    addresses = []
    for family, inet in (("ipv4", "inet"), ("ipv6", "inet6")):
        address = net["config"].get(f"{family}.address", "none")
        if address not in ("none", ""):
            ip, _, mask = address.partition("/")
            addresses.append(
                {"family": inet, "address": ip, "netmask": mask, "scope": "global"}
            )
    return {
        "addresses": addresses,
        "counters": {
            "bytes_received": 0,
            "bytes_sent": 0,
            "packets_received": 0,
            "packets_sent": 0,
        },
        "hwaddr": "00:16:3e:00:00:01" if net["managed"] else "",
        "mtu": 1500 if net["managed"] else 65536,
        "state": "up",
        "type": "broadcast" if net["managed"] else net["type"],
        "bond": None,
        "bridge": copy.deepcopy(_BRIDGE_STATE) if net["type"] == "bridge" else None,
        "vlan": None,
        "ovn": None,
    }


@route("GET", rf"/1.0/networks/{_NAME}/leases")
def _network_leases(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    return fake.sync(_network(fake, request, name)["leases"])


# -- forwards and peers -------------------------------------------------------
def _children(
    kind: str, feature: str, types: tuple[str, ...]
) -> Callable[..., dict[str, JSONDict]]:
    """The ``kind`` records of network ``net``, if its driver has ``feature``."""

    def items(fake: FakeLXD, request: FakeRequest, net: str) -> dict[str, JSONDict]:
        network = _network(fake, request, net)
        if network["type"] not in types:
            raise FakeError(
                400, f'Network driver "{network["type"]}" does not support {feature}'
            )
        children: dict[str, JSONDict] = network[kind]
        return children

    return items


def _config_clean(
    fake: FakeLXD, request: FakeRequest, body: JSONDict, net: str
) -> None:
    body["config"] = _strings(body.get("config"))


def _forward_check(
    fake: FakeLXD, request: FakeRequest, body: JSONDict, net: str
) -> None:
    family = "ipv6" if ":" in body["listen_address"] else "ipv4"
    if _network(fake, request, net)["config"].get(f"{family}.address") == "none":
        raise FakeError(500, "Failed creating forward: invalid CIDR address: none")


def _forward_make(
    fake: FakeLXD, request: FakeRequest, record: JSONDict, body: JSONDict, net: str
) -> JSONDict:
    return {"ports": copy.deepcopy(body.get("ports") or []), "location": ""}


Collection(
    rf"/1.0/networks/{_NET}/forwards",
    _children("forwards", "forwards", ("bridge", "ovn")),
    "Network forward not found",
    {"description": "", "config": {}, "ports": []},
    key="listen_address",
    required=(400, "Invalid listen address"),
    exists=(409, "A forward for that listen address already exists"),
    check=_forward_check,
    clean=_config_clean,
    make=_forward_make,
)


def _peer_check(fake: FakeLXD, request: FakeRequest, body: JSONDict, net: str) -> None:
    if not body.get("target_network"):
        raise FakeError(400, "Target network is required")


def _peer_make(
    fake: FakeLXD, request: FakeRequest, record: JSONDict, body: JSONDict, net: str
) -> JSONDict:
    return {
        "target_project": body.get("target_project") or _project(fake, request),
        "target_network": body["target_network"],
        "used_by": [],
    }


def _peer_view(
    fake: FakeLXD, request: FakeRequest, peer: JSONDict, net: str
) -> JSONDict:
    project = _project(fake, request)
    target = fake.store("networks", peer["target_project"]).get(peer["target_network"])
    mutual = target is not None and any(
        p["target_network"] == net and p["target_project"] == project
        for p in target["peers"].values()
    )
    return {**copy.deepcopy(peer), "status": "Created" if mutual else "Pending"}


Collection(
    rf"/1.0/networks/{_NET}/peers",
    _children("peers", "peering", ("ovn",)),
    "Network peer not found",
    {"description": "", "config": {}},
    required=(400, "Name is required"),
    exists=(409, "A peer for that name already exists"),
    check=_peer_check,
    clean=_config_clean,
    make=_peer_make,
    view=_peer_view,
)

"""Fake LXD: network ACLs (``/1.0/network-acls``) and zones (``/1.0/network-zones``).

Answers and messages are LXD 5.0.2's, as measured on a real daemon.
``fake.store("network_acls")[name]["log"]`` holds the log an ACL used by an
OVN network returns.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pylxd.testing._fake import (
    FakeError,
    FakeLXD,
    FakeRequest,
    Reply,
    lookup,
    put_and_patch,
    rename_in,
    route,
)
from pylxd.testing._fake_core import listing
from pylxd.testing._fake_networks import (
    JSONDict,
    _body,
    _devices_using,
    _project,
    _strings,
    _suffix,
    _update,
)

_NAME = r"(?P<name>[^/]+)"
_ZONE = r"(?P<zone>[^/]+)"
_RR_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT", "CAA", "SOA")
_RULE_ACTIONS = ("allow", "drop", "reject")
_RULE_STATES = ("enabled", "disabled", "logged")


def _user_config(config: Any) -> JSONDict:
    config = _strings(config)
    for key in config:
        if not key.startswith("user."):
            raise FakeError(500, f'Invalid config option "{key}"')
    return config


# -- network ACLs -------------------------------------------------------------
_ACL_NAME = re.compile(r"^[A-Za-z0-9-]+$")


def _acls(fake: FakeLXD, request: FakeRequest) -> dict[str, JSONDict]:
    return fake.store("network_acls", _project(fake, request))


def _acl(fake: FakeLXD, request: FakeRequest, name: str) -> JSONDict:
    return lookup(_acls(fake, request), name, "Network ACL not found")


def _acl_rules(body: JSONDict) -> JSONDict:
    """Validate ``ingress``/``egress`` as LXD does; return them (default [])."""
    rules = {}
    for direction in ("ingress", "egress"):
        rules[direction] = copy.deepcopy(body.get(direction) or [])
        for index, rule in enumerate(rules[direction]):
            if rule.get("action") not in _RULE_ACTIONS:
                raise FakeError(
                    500,
                    f"Invalid {direction} rule {index}: Action must be one of: "
                    + ", ".join(_RULE_ACTIONS),
                )
            if rule.get("state") not in _RULE_STATES:
                raise FakeError(
                    500,
                    f"Invalid {direction} rule {index}: State must be one of: "
                    + ", ".join(_RULE_STATES),
                )
    return rules


def _acl_users(fake: FakeLXD, project: str, name: str) -> list[JSONDict]:
    return [
        net
        for net in fake.store("networks", project).values()
        if name in net["config"].get("security.acls", "").split(",")
    ]


def _acl_used_by(fake: FakeLXD, project: str, name: str) -> list[str]:
    def uses(device: JSONDict) -> bool:
        return name in device.get("security.acls", "").split(",")

    networks = [
        f"/1.0/networks/{net['name']}{_suffix(project)}"
        for net in _acl_users(fake, project, name)
    ]
    return networks + _devices_using(fake, project, "profiles", uses)


def _acl_view(fake: FakeLXD, project: str, acl: JSONDict) -> JSONDict:
    view = {k: copy.deepcopy(v) for k, v in acl.items() if k != "log"}
    view["used_by"] = _acl_used_by(fake, project, acl["name"])
    return view


@route("GET", r"/1.0/network-acls")
def _acl_list(fake: FakeLXD, request: FakeRequest) -> Reply:
    project = _project(fake, request)
    render = lambda a: _acl_view(fake, project, a)  # noqa: E731
    return fake.sync(
        listing(request, "/1.0/network-acls", _acls(fake, request), render)
    )


@route("POST", r"/1.0/network-acls")
def _acl_create(fake: FakeLXD, request: FakeRequest) -> Reply:
    acls = _acls(fake, request)
    body = _body(request)
    name = body.get("name")
    if not name:
        raise FakeError(500, "Name is required")
    if not _ACL_NAME.match(name):
        raise FakeError(500, "Name can only contain alphanumeric and hyphen characters")
    if name in acls:
        raise FakeError(400, "The network ACL already exists")
    acl = {"name": name, "description": body.get("description", "")}
    acl.update(_acl_rules(body))
    acl["config"] = _user_config(body.get("config"))
    acl["log"] = ""
    acls[name] = acl
    return fake.sync()


@route("GET", rf"/1.0/network-acls/{_NAME}")
def _acl_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    return fake.sync(
        _acl_view(fake, _project(fake, request), _acl(fake, request, name))
    )


@put_and_patch(rf"/1.0/network-acls/{_NAME}")
def _acl_update(fake: FakeLXD, request: FakeRequest, name: str, merge: bool) -> Reply:
    acl = _acl(fake, request, name)
    body = _body(request)
    body.update(_acl_rules(body))
    body["config"] = _user_config(body.get("config"))
    _update(acl, body, {"description": "", "ingress": [], "egress": []}, merge)
    return fake.sync()


@route("POST", rf"/1.0/network-acls/{_NAME}")
def _acl_rename(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    acls = _acls(fake, request)
    _acl(fake, request, name)
    new = _body(request).get("name")
    if not new:
        raise FakeError(500, "Name is required")
    if new in acls:
        raise FakeError(500, "An ACL by that name exists already")
    if _acl_used_by(fake, _project(fake, request), name):
        raise FakeError(500, "Cannot rename an ACL that is in use")
    rename_in(acls, name, new)
    return fake.sync()


@route("DELETE", rf"/1.0/network-acls/{_NAME}")
def _acl_delete(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    _acl(fake, request, name)
    if _acl_used_by(fake, _project(fake, request), name):
        raise FakeError(500, "Cannot delete an ACL that is in use")
    del _acls(fake, request)[name]
    return fake.sync()


@route("GET", rf"/1.0/network-acls/{_NAME}/log")
def _acl_log(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    acl = _acl(fake, request, name)
    users = _acl_users(fake, _project(fake, request), name)
    if not any(net["type"] == "ovn" for net in users):
        raise FakeError(500, "Only OVN log entries may be retrieved at this time")
    return fake.raw(acl["log"].encode("utf-8"))


# -- network zones and records ------------------------------------------------
_ZONE_KEYS = re.compile(r"^(dns\.nameservers$|network\.nat$|peers\.|user\.)")


def _zones(fake: FakeLXD, request: FakeRequest) -> dict[str, JSONDict]:
    return fake.store("network_zones", _project(fake, request))


def _zone(fake: FakeLXD, request: FakeRequest, name: str) -> JSONDict:
    return lookup(_zones(fake, request), name, "Network zone not found")


def _zone_config(config: Any) -> JSONDict:
    config = _strings(config)
    for key in config:
        if not _ZONE_KEYS.match(key):
            raise FakeError(500, f'Invalid config option "{key}"')
    return config


def _zone_view(fake: FakeLXD, project: str, zone: JSONDict) -> JSONDict:
    keys = ("dns.zone.forward", "dns.zone.reverse.ipv4", "dns.zone.reverse.ipv6")
    view = {k: copy.deepcopy(v) for k, v in zone.items() if k != "records"}
    view["used_by"] = [
        f"/1.0/networks/{net['name']}{_suffix(project)}"
        for net in fake.store("networks", project).values()
        if any(zone["name"] in net["config"].get(k, "").split(",") for k in keys)
    ]
    return view


@route("GET", r"/1.0/network-zones")
def _zone_list(fake: FakeLXD, request: FakeRequest) -> Reply:
    project = _project(fake, request)
    render = lambda z: _zone_view(fake, project, z)  # noqa: E731
    return fake.sync(
        listing(request, "/1.0/network-zones", _zones(fake, request), render)
    )


@route("POST", r"/1.0/network-zones")
def _zone_create(fake: FakeLXD, request: FakeRequest) -> Reply:
    zones = _zones(fake, request)
    body = _body(request)
    name = body.get("name")
    if not name:
        raise FakeError(500, "Name is required")
    if name in zones:
        raise FakeError(400, "The network zone already exists")
    zones[name] = {
        "name": name,
        "description": body.get("description", ""),
        "config": _zone_config(body.get("config")),
        "records": {},
    }
    return fake.sync()


@route("GET", rf"/1.0/network-zones/{_NAME}")
def _zone_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    zone = _zone(fake, request, name)
    return fake.sync(_zone_view(fake, _project(fake, request), zone))


@put_and_patch(rf"/1.0/network-zones/{_NAME}")
def _zone_update(fake: FakeLXD, request: FakeRequest, name: str, merge: bool) -> Reply:
    zone = _zone(fake, request, name)
    body = _body(request)
    body["config"] = _zone_config(body.get("config"))
    _update(zone, body, {"description": ""}, merge)
    return fake.sync()


@route("DELETE", rf"/1.0/network-zones/{_NAME}")
def _zone_delete(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    _zone(fake, request, name)
    del _zones(fake, request)[name]  # LXD drops the records with the zone
    return fake.sync()


def _records(fake: FakeLXD, request: FakeRequest, zone: str) -> dict[str, JSONDict]:
    records: dict[str, JSONDict] = _zone(fake, request, zone)["records"]
    return records


def _record(fake: FakeLXD, request: FakeRequest, zone: str, name: str) -> JSONDict:
    return lookup(_records(fake, request, zone), name, "Network zone record not found")


def _entries(body: JSONDict) -> list[JSONDict]:
    entries = copy.deepcopy(body.get("entries") or [])
    for entry in entries:
        if entry.get("type") not in _RR_TYPES:
            raise FakeError(
                500,
                f'Bad zone record entry: dns: unknown RR type: "{entry.get("type")}"',
            )
    return entries


@route("GET", rf"/1.0/network-zones/{_ZONE}/records")
def _record_list(fake: FakeLXD, request: FakeRequest, zone: str) -> Reply:
    records = _records(fake, request, zone)
    prefix = f"/1.0/network-zones/{zone}/records"
    return fake.sync(listing(request, prefix, records))


@route("POST", rf"/1.0/network-zones/{_ZONE}/records")
def _record_create(fake: FakeLXD, request: FakeRequest, zone: str) -> Reply:
    records = _records(fake, request, zone)
    body = _body(request)
    name = body.get("name")
    if not name:
        raise FakeError(500, "Name is required")
    if name in records:
        raise FakeError(500, "UNIQUE constraint failed: networks_zones_records.name")
    records[name] = {
        "name": name,
        "description": body.get("description", ""),
        "entries": _entries(body),
        "config": _user_config(body.get("config")),
    }
    return fake.sync()


@route("GET", rf"/1.0/network-zones/{_ZONE}/records/{_NAME}")
def _record_get(fake: FakeLXD, request: FakeRequest, zone: str, name: str) -> Reply:
    return fake.sync(_record(fake, request, zone, name))


@put_and_patch(rf"/1.0/network-zones/{_ZONE}/records/{_NAME}")
def _record_update(
    fake: FakeLXD, request: FakeRequest, zone: str, name: str, merge: bool
) -> Reply:
    record = _record(fake, request, zone, name)
    body = _body(request)
    body["entries"] = _entries(body)
    body["config"] = _user_config(body.get("config"))
    _update(record, body, {"description": "", "entries": []}, merge)
    return fake.sync()


@route("DELETE", rf"/1.0/network-zones/{_ZONE}/records/{_NAME}")
def _record_delete(fake: FakeLXD, request: FakeRequest, zone: str, name: str) -> Reply:
    _record(fake, request, zone, name)
    del _records(fake, request, zone)[name]
    return fake.sync()

"""Fake LXD: network ACLs (``/1.0/network-acls``) and zones (``/1.0/network-zones``).

Answers and messages are LXD 5.0.2's, as measured on a real daemon.
``fake.store("network_acls")[name]["log"]`` holds the log an ACL used by an
OVN network returns.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pylxd.testing._fake import FakeError, FakeLXD, FakeRequest, Reply, route
from pylxd.testing._fake_collection import Collection
from pylxd.testing._fake_networks import (
    JSONDict,
    _devices_using,
    _project,
    _strings,
    _suffix,
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


def _acl_view(fake: FakeLXD, request: FakeRequest, acl: JSONDict) -> JSONDict:
    view = {k: copy.deepcopy(v) for k, v in acl.items() if k != "log"}
    view["used_by"] = _acl_used_by(fake, _project(fake, request), acl["name"])
    return view


def _acl_check(fake: FakeLXD, request: FakeRequest, body: JSONDict) -> None:
    if not _ACL_NAME.match(body["name"]):
        raise FakeError(500, "Name can only contain alphanumeric and hyphen characters")


def _acl_clean(fake: FakeLXD, request: FakeRequest, body: JSONDict) -> None:
    body.update(_acl_rules(body))
    body["config"] = _user_config(body.get("config"))


def _acl_free(fake: FakeLXD, request: FakeRequest, name: str, verb: str) -> None:
    if _acl_used_by(fake, _project(fake, request), name):
        raise FakeError(500, f"Cannot {verb} an ACL that is in use")


_ACLS = Collection(
    r"/1.0/network-acls",
    _acls,
    "Network ACL not found",
    {"description": "", "ingress": [], "egress": [], "config": {}},
    required=(500, "Name is required"),
    exists=(400, "The network ACL already exists"),
    check=_acl_check,
    clean=_acl_clean,
    make=lambda fake, request, record, body: {"log": ""},
    view=_acl_view,
    verbs=("PUT", "PATCH", "POST", "DELETE"),
    rename=((500, "Name is required"), (500, "An ACL by that name exists already")),
    check_free=_acl_free,
)


@route("GET", rf"/1.0/network-acls/{_NAME}/log")
def _acl_log(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    acl = _ACLS.find(fake, request, name)
    users = _acl_users(fake, _project(fake, request), name)
    if not any(net["type"] == "ovn" for net in users):
        raise FakeError(500, "Only OVN log entries may be retrieved at this time")
    return fake.raw(acl["log"].encode("utf-8"))


# -- network zones and records ------------------------------------------------
_ZONE_KEYS = re.compile(r"^(dns\.nameservers$|network\.nat$|peers\.|user\.)")


def _zones(fake: FakeLXD, request: FakeRequest) -> dict[str, JSONDict]:
    return fake.store("network_zones", _project(fake, request))


def _zone_config(config: Any) -> JSONDict:
    config = _strings(config)
    for key in config:
        if not _ZONE_KEYS.match(key):
            raise FakeError(500, f'Invalid config option "{key}"')
    return config


def _zone_view(fake: FakeLXD, request: FakeRequest, zone: JSONDict) -> JSONDict:
    project = _project(fake, request)
    keys = ("dns.zone.forward", "dns.zone.reverse.ipv4", "dns.zone.reverse.ipv6")
    view = {k: copy.deepcopy(v) for k, v in zone.items() if k != "records"}
    view["used_by"] = [
        f"/1.0/networks/{net['name']}{_suffix(project)}"
        for net in fake.store("networks", project).values()
        if any(zone["name"] in net["config"].get(k, "").split(",") for k in keys)
    ]
    return view


def _zone_clean(fake: FakeLXD, request: FakeRequest, body: JSONDict) -> None:
    body["config"] = _zone_config(body.get("config"))


# Deleting a zone drops its records, as in LXD.
_ZONES = Collection(
    r"/1.0/network-zones",
    _zones,
    "Network zone not found",
    {"description": "", "config": {}},
    required=(500, "Name is required"),
    exists=(400, "The network zone already exists"),
    clean=_zone_clean,
    make=lambda fake, request, record, body: {"records": {}},
    view=_zone_view,
)


def _records(fake: FakeLXD, request: FakeRequest, zone: str) -> dict[str, JSONDict]:
    records: dict[str, JSONDict] = _ZONES.find(fake, request, zone)["records"]
    return records


def _entries(body: JSONDict) -> list[JSONDict]:
    entries = copy.deepcopy(body.get("entries") or [])
    for entry in entries:
        if entry.get("type") not in _RR_TYPES:
            raise FakeError(
                500,
                f'Bad zone record entry: dns: unknown RR type: "{entry.get("type")}"',
            )
    return entries


def _record_clean(
    fake: FakeLXD, request: FakeRequest, body: JSONDict, zone: str
) -> None:
    body["entries"] = _entries(body)
    body["config"] = _user_config(body.get("config"))


Collection(
    rf"/1.0/network-zones/{_ZONE}/records",
    _records,
    "Network zone record not found",
    {"description": "", "entries": [], "config": {}},
    required=(500, "Name is required"),
    exists=(500, "UNIQUE constraint failed: networks_zones_records.name"),
    clean=_record_clean,
)

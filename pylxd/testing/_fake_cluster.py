"""Fake LXD: clustering (``/1.0/cluster``, members, groups, join tokens).

``FakeLXD(clustered=True)`` starts as the only member of a cluster, named
after the server (``fake``); :func:`add_cluster_member` adds more. A
standalone fake bootstraps a cluster on ``PUT /1.0/cluster`` once it has an
HTTPS address, as LXD does. Status codes and messages are LXD 5.0.2's.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from pylxd.testing._fake import FakeLXD, on_init, route
from pylxd.testing._fake_core import given_name, list_route, listing
from pylxd.testing._fake_wire import FakeError, FakeRequest, Reply, lookup, rename_in

_MEMBER = r"/1.0/cluster/members/(?P<name>[^/]*)"
_GROUP = r"/1.0/cluster/groups/(?P<name>[^/]+)"
#: The fingerprint of the fake's cluster certificate (any 64 hex digits).
FAKE_FINGERPRINT = "f" * 64
_ONLINE = ("Online", "Fully operational")
_EVACUATED = ("Evacuated", "Unavailable due to maintenance")


def _cluster(fake: FakeLXD) -> dict[str, Any]:
    return fake.store("cluster")


def _members(fake: FakeLXD) -> dict[str, dict[str, Any]]:
    return fake.store("cluster_members")


def _groups(fake: FakeLXD) -> dict[str, dict[str, Any]]:
    return fake.store("cluster_groups")


def add_cluster_member(
    fake: FakeLXD, name: str, url: str | None = None, **fields: Any
) -> dict[str, Any]:
    """Add a member (Online, in group ``default``) to a clustered fake.

    >>> fake = FakeLXD(clustered=True)
    >>> _ = add_cluster_member(fake, "c2", roles=["database-standby"])
    >>> [m.server_name for m in fake.client().cluster.members.all()]
    ['fake', 'c2']
    """
    if not fake.clustered:
        raise ValueError("add_cluster_member() needs FakeLXD(clustered=True)")
    members = _members(fake)
    port = 8443 + len(members)
    member = {
        "server_name": name,
        "url": url or f"https://127.0.0.1:{port}",
        "database": not members,
        "status": _ONLINE[0],
        "message": _ONLINE[1],
        "architecture": "x86_64",
        "roles": ["database-leader", "database"] if not members else [],
        "failure_domain": "default",
        "description": "",
        "config": {},
    }
    member.update({k: v for k, v in fields.items() if k != "groups"})
    members[name] = member
    for group in fields.get("groups", ["default"]):
        _groups(fake)[group]["members"].append(name)
    return member


def _bootstrap(fake: FakeLXD, name: str, url: str) -> None:
    fake.clustered = True
    _cluster(fake).update(server_name=name, enabled=True)
    _groups(fake)["default"] = {
        "name": "default",
        "description": "Default cluster group",
        "members": [],
    }
    add_cluster_member(fake, name, url=url)


@on_init
def _seed(fake: FakeLXD) -> None:
    _cluster(fake).update(server_name="", enabled=False, member_config=[])
    if fake.clustered:
        _bootstrap(fake, "fake", "https://127.0.0.1:8443")


def _require_clustered(
    fake: FakeLXD, status: int = 400, message: str = "This server is not clustered"
) -> None:
    if not fake.clustered:
        raise FakeError(status, message)


# -- /1.0/cluster --------------------------------------------------------------
@route("GET", r"/1.0/cluster")
def _cluster_get(fake: FakeLXD, request: FakeRequest) -> Reply:
    cluster = _cluster(fake)
    return fake.sync(
        {
            "server_name": cluster["server_name"],
            "enabled": cluster["enabled"],
            "member_config": cluster["member_config"],
        }
    )


@route("PUT", r"/1.0/cluster")
def _cluster_put(fake: FakeLXD, request: FakeRequest) -> Reply:
    body = request.json or {}
    if not body.get("enabled"):
        return _disable(fake, request)
    name = body.get("server_name")
    if not name:
        raise FakeError(400, "ServerName is required when enabling clustering")
    if body.get("cluster_address"):
        return _join(fake, request, body)
    address = fake.config.get("cluster.https_address") or fake.config.get(
        "core.https_address"
    )
    if not address and not fake.clustered:  # checked before LXD answers
        raise FakeError(
            500,
            'Cannot use wildcard core.https_address "" for cluster.https_address. '
            "Please specify a new cluster.https_address or core.https_address",
        )

    def bootstrap() -> None:
        if fake.clustered:
            raise FakeError(
                400, "Inconsistent state: found leftover cluster certificate"
            )
        _bootstrap(fake, name, f"https://{address}")

    return fake.run_async(
        "Creating bootstrap node", request, bootstrap, {"cluster": []}
    )


def _join(fake: FakeLXD, request: FakeRequest, body: dict[str, Any]) -> Reply:
    if fake.clustered:
        raise FakeError(400, "This server is already clustered")
    if not body.get("cluster_certificate"):
        raise FakeError(400, "No target cluster member certificate provided")
    # each server reads the token from its own field only
    field = "cluster_token" if fake.server == "incus" else "cluster_password"
    token = _decode_token(body.get(field) or "")

    def join() -> None:
        if token is None or token.get("server_name") != body["server_name"]:
            raise FakeError(403, "No matching cluster join token found")
        address = body.get("server_address") or "127.0.0.1:8443"
        _bootstrap(fake, body["server_name"], f"https://{address}")

    return fake.run_async("Joining cluster", request, join, {"cluster": []})


def _decode_token(raw: str) -> dict[str, Any] | None:
    try:
        token = json.loads(base64.b64decode(raw))
    except (binascii.Error, ValueError):
        return None
    return token if isinstance(token, dict) else None


def _disable(fake: FakeLXD, request: FakeRequest) -> Reply:
    _require_clustered(fake)
    fake.clustered = False
    _cluster(fake).update(server_name="", enabled=False)
    _members(fake).clear()
    _groups(fake).clear()
    return fake.empty()


@route("PUT", r"/1.0/cluster/certificate")
def _certificate_put(fake: FakeLXD, request: FakeRequest) -> Reply:
    body = request.json or {}
    for key in ("cluster_certificate", "cluster_certificate_key"):
        if "-----BEGIN" not in str(body.get(key) or ""):
            raise FakeError(
                400, "Certificate must be base64 encoded PEM certificate: %!w(<nil>)"
            )
    _require_clustered(fake)
    _cluster(fake)["certificate"] = body["cluster_certificate"]
    return fake.empty()


@route("GET", r"/1.0/cluster/certificate")
def _certificate_get(fake: FakeLXD, request: FakeRequest) -> Reply:
    return fake.error(501, "not implemented")


# -- members -----------------------------------------------------------------
def _member_view(fake: FakeLXD, member: dict[str, Any]) -> dict[str, Any]:
    view = dict(member)
    view["groups"] = [
        g["name"]
        for g in _groups(fake).values()
        if member["server_name"] in g["members"]
    ]
    return view


def _member(fake: FakeLXD, name: str) -> dict[str, Any]:
    _require_clustered(fake)
    return lookup(_members(fake), name, "Cluster member not found")


@route("GET", r"/1.0/cluster/members")
def _members_get(fake: FakeLXD, request: FakeRequest) -> Reply:
    _require_clustered(fake, 500, "Server is not clustered")
    members = _members(fake)
    view = functools.partial(_member_view, fake)
    path = "/1.0/cluster/members"
    return fake.sync(listing(request, path, members, view, in_project=False))


@route("POST", r"/1.0/cluster/members")
def _token_create(fake: FakeLXD, request: FakeRequest) -> Reply:
    _require_clustered(fake)
    name = (request.json or {}).get("server_name", "")
    expires = datetime.now(timezone.utc) + timedelta(hours=3)
    metadata = {
        "addresses": [
            m["url"].split("://", 1)[-1]
            for m in _members(fake).values()
            if m["status"] == _ONLINE[0]
        ],
        "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "fingerprint": FAKE_FINGERPRINT,
        "secret": secrets.token_hex(32),
        "serverName": name,
    }
    op = fake.operation(
        "Executing operation",
        {"cluster": []},
        metadata=metadata,
        status="Running",
        op_class="token",
    )
    return fake.async_reply(op)


@route("GET", _MEMBER)
def _member_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    return fake.sync(_member_view(fake, _member(fake, name)))


def _member_update(fake: FakeLXD, member: dict[str, Any], body: dict[str, Any]) -> None:
    groups = body.get("groups") or []
    if not groups:
        raise FakeError(400, "Cluster members need to belong to at least one group")
    if not body.get("failure_domain"):
        raise FakeError(
            500, "Update failure domain: Failure domain name can't be empty"
        )
    database = {"database", "database-leader", "database-standby"}
    if set(body.get("roles") or ()) & database != set(member["roles"]) & database:
        raise FakeError(400, 'The "database" role cannot be added at this time')
    missing = [g for g in groups if g not in _groups(fake)]
    if missing:
        raise FakeError(
            404,
            "Update cluster groups: Failed to add member to cluster group: "
            "Failed to get cluster group ID: Cluster group not found",
        )
    name = member["server_name"]
    for group in _groups(fake).values():
        if name in group["members"] and group["name"] not in groups:
            group["members"].remove(name)
        elif name not in group["members"] and group["name"] in groups:
            group["members"].append(name)
    member["roles"] = list(body.get("roles") or ())
    member["failure_domain"] = body["failure_domain"]
    member["description"] = body.get("description", "")
    member["config"] = dict(body.get("config") or {})


@route("PUT", _MEMBER)
def _member_put(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    _member_update(fake, _member(fake, name), request.json or {})
    return fake.empty()


@route("PATCH", _MEMBER)
def _member_patch(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    member = _member(fake, name)
    # LXD 5.0 starts a PATCH from an empty group list: send ``groups`` too.
    body = {**_member_view(fake, member), "groups": [], **(request.json or {})}
    _member_update(fake, member, body)
    return fake.empty()


@route("POST", _MEMBER)
def _member_rename(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    member = _member(fake, name)
    new = (request.json or {}).get("server_name", "")
    members = _members(fake)
    if new in members:
        raise FakeError(409, "Conflict")
    del members[name]
    member["server_name"] = new
    members[new] = member
    for group in _groups(fake).values():
        group["members"] = [new if m == name else m for m in group["members"]]
    if _cluster(fake)["server_name"] == name:
        _cluster(fake)["server_name"] = new
    return fake.empty()


@route("DELETE", _MEMBER)
def _member_delete(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    _member(fake, name)
    del _members(fake)[name]
    for group in _groups(fake).values():
        if name in group["members"]:
            group["members"].remove(name)
    return fake.empty()


@route("GET", _MEMBER + "/state")
def _member_state_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    return fake.error(501, "not implemented")


@route("POST", _MEMBER + "/state")
def _member_state(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    member = _member(fake, name)
    action = (request.json or {}).get("action")
    if action not in ("evacuate", "restore"):
        raise FakeError(400, f'Unknown action "{action}"')
    status = _EVACUATED if action == "evacuate" else _ONLINE

    def change() -> None:
        member["status"], member["message"] = status

    description = (
        "Evacuating cluster member"
        if action == "evacuate"
        else "Restoring cluster member"
    )
    return fake.run_async(description, request, change)


# -- groups ------------------------------------------------------------------
def _group(fake: FakeLXD, name: str) -> dict[str, Any]:
    _require_clustered(fake)
    return lookup(_groups(fake), name, "Cluster group not found")


def _check_members(fake: FakeLXD, names: list[str]) -> list[str]:
    if any(n not in _members(fake) for n in names):
        raise FakeError(
            500,
            "Insert nodes for cluster group: NOT NULL constraint failed: "
            "nodes_cluster_groups.node_id",
        )
    return list(names)


list_route(
    "/1.0/cluster/groups", "cluster_groups", _require_clustered, in_project=False
)


@route("POST", r"/1.0/cluster/groups")
def _group_create(fake: FakeLXD, request: FakeRequest) -> Reply:
    _require_clustered(fake)
    body = request.json or {}
    name = given_name(body)
    if name in _groups(fake):
        raise FakeError(500, "This cluster group already exists")
    _groups(fake)[name] = {
        "name": name,
        "description": body.get("description", ""),
        "members": _check_members(fake, body.get("members") or []),
    }
    return fake.sync()


@route("GET", _GROUP)
def _group_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    return fake.sync(_group(fake, name))


@route("PUT", _GROUP)
def _group_put(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    group = _group(fake, name)
    body = request.json or {}
    group["members"] = _check_members(fake, body.get("members") or [])
    group["description"] = body.get("description", "")
    return fake.empty()


@route("PATCH", _GROUP)
def _group_patch(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    group = _group(fake, name)
    body = request.json or {}
    if "members" in body:
        group["members"] = _check_members(fake, body["members"] or [])
    if "description" in body:
        group["description"] = body["description"]
    return fake.empty()


@route("POST", _GROUP)
def _group_rename(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    _group(fake, name)
    new = (request.json or {}).get("name", "")
    if name == "default":
        raise FakeError(403, 'The "default" group cannot be renamed')
    if new in _groups(fake):
        raise FakeError(500, f'Name "{new}" already in use')
    rename_in(_groups(fake), name, new)
    return fake.sync()


@route("DELETE", _GROUP)
def _group_delete(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    group = _group(fake, name)
    if name == "default":
        raise FakeError(403, "The 'default' cluster group cannot be deleted")
    if group["members"]:
        raise FakeError(500, "Only empty cluster groups can be removed")
    del _groups(fake)[name]
    return fake.empty()

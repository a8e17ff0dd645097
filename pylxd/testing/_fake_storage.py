"""Fake LXD: storage pools and volumes (their snapshots and backups: ``_fake_volume_children``).

Answers and messages follow LXD 5.0.2. With the API extension
``storage_and_network_operations`` (newer LXD), pool and volume changes
answer with an operation instead, as LXD does.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import uuid
from typing import Any, Callable

from pylxd.testing._fake import (
    FakeError,
    FakeLXD,
    FakeRequest,
    Handler,
    Reply,
    now,
    on_init,
    put_and_patch,
    route,
)
from pylxd.testing._fake_core import listing
from pylxd.testing._fake_helpers import change

DRIVERS = ("btrfs", "ceph", "cephfs", "cephobject", "dir", "lvm", "zfs")
NEVER = "0001-01-01T00:00:00Z"

_POOL = r"/1.0/storage-pools/(?P<pool>[^/]+)"
VOLUME_PATH = _POOL + r"/volumes/(?P<vtype>[^/]+)/(?P<vol>[^/]+)"


@on_init
def _seed(fake: FakeLXD) -> None:
    fake.store("storage_pools")["default"] = _new_pool(fake, "default", "dir", {}, "")


def _new_pool(
    fake: FakeLXD, name: str, driver: str, config: dict[str, Any], desc: str
) -> Any:
    source = f"/var/lib/{fake.server}/storage-pools/{name}"  # the daemon's own dir
    return {
        "name": name,
        "driver": driver,
        "description": desc,
        "config": {"source": source, **config},
        "status": "Created",
        "locations": ["none"],
    }


def _update(
    stored: dict[str, Any], body: dict[str, Any], merge: bool, keep: Any = None
) -> None:
    """A pool's or volume's PUT (``config`` and ``description`` replaced,
    ``config`` starting from ``keep``) or PATCH (the body's keys merged)."""
    if not merge:
        stored["config"] = {**(keep or {}), **(body.get("config") or {})}
        stored["description"] = body.get("description", "")
        return
    stored["config"].update(body.get("config") or {})
    if "description" in body:
        stored["description"] = body["description"]


def remover(store: dict[Any, Any], key: Any) -> Callable[[], None]:
    """Work that removes ``key`` from ``store`` (an operation without metadata)."""

    def work() -> None:
        store.pop(key)

    return work


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


# -- pools ---------------------------------------------------------------------
def _pool(fake: FakeLXD, name: str) -> Any:
    pool = fake.store("storage_pools").get(name)
    if pool is None:
        raise FakeError(404, "Storage pool not found")
    return pool


def _pool_used_by(fake: FakeLXD, name: str) -> list[str]:
    keys: list[Any] = list(fake.store("storage_volumes"))
    used = [
        f"/1.0/storage-pools/{name}/volumes/{vtype}/{vol}"
        for (pool, vtype, vol) in keys
        if pool == name
    ]
    for kind, prefix in (
        ("profiles", "/1.0/profiles"),
        ("instances", "/1.0/instances"),
    ):
        for obj_name, obj in fake.store(kind).items():
            if any(
                d.get("type") == "disk" and d.get("pool") == name
                for d in (obj.get("devices") or {}).values()
            ):
                used.append(f"{prefix}/{obj_name}")
    return used


def _pool_view(fake: FakeLXD, pool: dict[str, Any]) -> dict[str, Any]:
    used_by = _pool_used_by(fake, pool["name"])
    if fake.server == "incus":  # Incus 6.0 answers [] for an unused pool
        return {**pool, "used_by": used_by}
    return {**pool, "used_by": used_by or None}


@route("GET", r"/1.0/storage-pools")
def _pools(fake: FakeLXD, request: FakeRequest) -> Reply:
    pools = fake.store("storage_pools")
    return fake.sync(
        listing(request, "/1.0/storage-pools", pools, lambda p: _pool_view(fake, p))
    )


@route("POST", r"/1.0/storage-pools")
def _pool_create(fake: FakeLXD, request: FakeRequest) -> Reply:
    body = request.json or {}
    name, driver = body.get("name"), body.get("driver")
    if not name:
        raise FakeError(400, "No name provided")
    if "/" in name:
        raise FakeError(400, "Storage pool names may not contain slashes")
    if not driver:
        raise FakeError(400, "No driver provided")
    pools = fake.store("storage_pools")
    if name in pools:
        raise FakeError(
            409, "The storage pool already exists: The record already exists"
        )
    if driver not in DRIVERS:
        raise FakeError(500, "Unknown driver")
    pool = _new_pool(
        fake, name, driver, dict(body.get("config") or {}), body.get("description", "")
    )
    work = lambda: pools.update({name: pool})  # noqa: E731
    return change(fake, request, "Creating storage pool", work, metadata={})


@route("GET", _POOL)
def _pool_get(fake: FakeLXD, request: FakeRequest, pool: str) -> Reply:
    return fake.sync(_pool_view(fake, _pool(fake, pool)))


@put_and_patch(_POOL)
def _pool_update(fake: FakeLXD, request: FakeRequest, pool: str, merge: bool) -> Reply:
    stored = _pool(fake, pool)
    body = request.json or {}
    keep = {"source": stored["config"].get("source", "")}  # a PUT keeps it
    work = lambda: _update(stored, body, merge, keep)  # noqa: E731
    return change(fake, request, "Updating storage pool", work)


@route("DELETE", _POOL)
def _pool_delete(fake: FakeLXD, request: FakeRequest, pool: str) -> Reply:
    _pool(fake, pool)
    if _pool_used_by(fake, pool):
        raise FakeError(400, "The storage pool is currently in use")
    pools = fake.store("storage_pools")
    return change(fake, request, "Deleting storage pool", remover(pools, pool))


@route("GET", _POOL + r"/resources")
def _pool_resources(fake: FakeLXD, request: FakeRequest, pool: str) -> Reply:
    _pool(fake, pool)
    return fake.sync(
        {
            "space": {"used": 1 << 30, "total": 100 << 30},
            "inodes": {"used": 1000, "total": 1 << 24},
        }
    )


# -- volumes -------------------------------------------------------------------
def _volumes(fake: FakeLXD, request: FakeRequest) -> dict[Any, Any]:
    return fake.store("storage_volumes", request.project)


def volume_of(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
) -> Any:
    _pool(fake, pool)
    volume = _volumes(fake, request).get((pool, vtype, vol))
    if volume is None:
        raise FakeError(404, "Storage pool volume not found")
    return volume


def _volume_used_by(
    fake: FakeLXD, request: FakeRequest, pool: str, vol: str
) -> list[str]:
    used = []
    for kind, prefix in (
        ("instances", "/1.0/instances"),
        ("profiles", "/1.0/profiles"),
    ):
        for name, obj in fake.store(kind, request.project).items():
            if any(
                d.get("type") == "disk"
                and d.get("pool") == pool
                and d.get("source") == vol
                for d in (obj.get("devices") or {}).values()
            ):
                used.append(f"{prefix}/{name}")
    return used


def _volume_view(fake: FakeLXD, request: FakeRequest, volume: dict[str, Any]) -> Any:
    used = _volume_used_by(fake, request, volume["_pool"], volume["name"])
    return {**public(volume), "used_by": used}


#: The volume types LXD knows (``/volumes/<type>``).
_VOLUME_TYPES = ("container", "custom", "image", "virtual-machine")


def _on_volumes(method: str) -> Callable[[Handler], Handler]:
    """Route ``method`` of a pool's volumes, all of them (``/volumes``) or
    those of one type (``/volumes/<vtype>``: the handler's ``vtype``)."""

    def decorate(handler: Handler) -> Handler:
        route(method, _POOL + r"/volumes")(handler)
        return route(method, _POOL + r"/volumes/(?P<vtype>[^/]+)")(handler)

    return decorate


@_on_volumes("GET")
def _volume_list(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str | None = None
) -> Reply:
    _pool(fake, pool)
    if vtype is not None and vtype not in _VOLUME_TYPES:
        raise FakeError(400, "Invalid storage volume type name")
    found = []
    for (p, t, name), volume in _volumes(fake, request).items():
        if p != pool or (vtype and t != vtype):
            continue
        found.append(_volume_view(fake, request, volume))
        for snap in volume["_snapshots"].values():
            found.append(
                {**found[-1], **public(snap), "name": f"{name}/{snap['name']}"}
            )
    if request.recursion:
        return fake.sync(found)
    return fake.sync(
        [
            f"/1.0/storage-pools/{pool}/volumes/{v['type']}/"
            + v["name"].replace("/", "/snapshots/")
            for v in found
        ]
    )


def _new_volume(request: FakeRequest, pool: str, body: dict[str, Any]) -> Any:
    return {
        "name": body["name"],
        "type": body.get("type") or "custom",
        "description": body.get("description", ""),
        "config": dict(body.get("config") or {}),
        "content_type": body.get("content_type") or "filesystem",
        "location": "none",
        "project": request.project,
        "created_at": now(),
        "_pool": pool,
        "_snapshots": {},
        "_backups": {},
    }


@_on_volumes("POST")
def _volume_create(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str | None = None
) -> Reply:
    _pool(fake, pool)
    if request.headers.get("Content-Type") == "application/octet-stream":
        return _volume_import(fake, request, pool)
    body = dict(request.json or {})
    if not body.get("name"):
        raise FakeError(400, "No name provided")
    body["type"] = vtype or body.get("type")
    if not body["type"]:  # the untyped URL needs the type in the body
        if fake.server == "incus":
            raise FakeError(
                400, 'Currently not allowed to create storage volumes of type ""'
            )
        raise FakeError(
            400, "You must provide a storage volume type of the storage volume"
        )
    volumes = _volumes(fake, request)
    key = (pool, body["type"], body["name"])
    if key in volumes:
        raise FakeError(409, "Volume by that name already exists")
    source = body.get("source") or {}
    volume = _new_volume(request, pool, body)
    if source.get("type") == "copy":
        return _volume_copy(fake, request, volume, source)
    if source.get("type") == "migration":
        return fake.run_async(
            "Creating storage volume", request, lambda: volumes.update({key: volume})
        )
    work = lambda: volumes.update({key: volume})  # noqa: E731
    return change(fake, request, "Creating storage volume", work, metadata={})


def _volume_copy(
    fake: FakeLXD, request: FakeRequest, volume: Any, source: Any
) -> Reply:
    src = volume_of(
        fake, request, source.get("pool", ""), "custom", source.get("name", "")
    )
    volume["config"] = {**src["config"], **volume["config"]}
    volume["description"] = volume["description"] or src["description"]
    if not source.get("volume_only"):
        volume["_snapshots"] = json.loads(json.dumps(src["_snapshots"]))
    volumes = _volumes(fake, request)
    key = (volume["_pool"], volume["type"], volume["name"])
    return fake.run_async(
        "Copying storage volume", request, lambda: volumes.update({key: volume})
    )


@route("GET", VOLUME_PATH)
def _volume_get(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
) -> Reply:
    volume = volume_of(fake, request, pool, vtype, vol)
    return fake.sync(_volume_view(fake, request, volume))


@route("GET", VOLUME_PATH + r"/state")
def _volume_state(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
) -> Reply:
    volume_of(fake, request, pool, vtype, vol)
    if _pool(fake, pool)["driver"] == "dir":
        raise FakeError(500, "Not supported")
    return fake.sync({"usage": {"used": 4096, "total": -1}})


def _restore(volume: dict[str, Any], snap_name: str) -> None:
    """Restore contents (which the fake does not keep); LXD 5.0 keeps the config."""
    if snap_name not in volume["_snapshots"]:
        raise FakeError(500, "Snapshot not found")


@put_and_patch(VOLUME_PATH)
def _volume_update(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str, merge: bool
) -> Reply:
    volume = volume_of(fake, request, pool, vtype, vol)
    body = request.json or {}
    if body.get("restore"):
        _restore(volume, body["restore"])
        return fake.empty()

    work = lambda: _update(volume, body, merge)  # noqa: E731
    return change(fake, request, "Updating storage volume", work)


@route("DELETE", VOLUME_PATH)
def _volume_delete(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
) -> Reply:
    volume_of(fake, request, pool, vtype, vol)
    if _volume_used_by(fake, request, pool, vol):
        raise FakeError(400, "The storage volume is still in use")
    volumes = _volumes(fake, request)
    return change(
        fake, request, "Deleting storage volume", remover(volumes, (pool, vtype, vol))
    )


@route("POST", VOLUME_PATH)
def _volume_post(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
) -> Reply:
    volume = volume_of(fake, request, pool, vtype, vol)
    body = request.json or {}
    if not body.get("name"):
        raise FakeError(400, "No name provided")
    if body.get("migration"):
        return _volume_migration_source(fake, request)
    new_pool = body.get("pool") or pool
    _pool(fake, new_pool)
    volumes = _volumes(fake, request)
    new_key = (new_pool, vtype, body["name"])
    if new_key in volumes:
        raise FakeError(409, "Volume by that name already exists")

    def work() -> None:
        volumes.pop((pool, vtype, vol))
        volume.update(name=body["name"], _pool=new_pool)
        volumes[new_key] = volume

    description = (
        "Moving storage volume" if new_pool != pool else "Renaming storage volume"
    )
    return fake.run_async(description, request, work)


def _volume_migration_source(fake: FakeLXD, request: FakeRequest) -> Reply:
    """The source side of a pull migration: a websocket operation with secrets."""
    op = fake.operation(
        "Migrating storage volume",
        metadata={"control": uuid.uuid4().hex, "fs": uuid.uuid4().hex},
        status="Running",
        project=request.project,
        op_class="websocket",
    )
    op.on_wait = lambda: setattr(op, "status", "Success")
    return fake.async_reply(op)


# -- backups (their routes: _fake_volume_children) ---------------------------
def backup_tarball(volume: dict[str, Any]) -> bytes:
    """A volume backup as LXD makes it: ``backup/index.yaml`` in a tar.gz.

    The index is JSON (which YAML reads too), so that the fake can import it.
    """
    index = {"name": volume["name"], "config": {"volume": public(volume)}}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = json.dumps(index).encode()
        info = tarfile.TarInfo("backup/index.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _volume_import(fake: FakeLXD, request: FakeRequest, pool: str) -> Reply:
    """``POST .../volumes/custom`` with a backup tarball as the body."""
    try:
        with tarfile.open(fileobj=io.BytesIO(request.data), mode="r:gz") as tar:
            member = tar.extractfile("backup/index.yaml")
            index = json.loads(member.read() if member else b"{}")
    except (tarfile.TarError, KeyError, ValueError, OSError):
        raise FakeError(400, "Invalid backup file") from None
    saved = index.get("config", {}).get("volume", {})
    name = request.headers.get("X-LXD-name") or index.get("name")
    volumes = _volumes(fake, request)
    if (pool, "custom", name) in volumes:
        raise FakeError(409, "Volume by that name already exists")
    volume = _new_volume(request, pool, {**saved, "name": name, "type": "custom"})
    return fake.run_async(
        "Restoring custom volume backup",
        request,
        lambda: volumes.update({(pool, "custom", name): volume}),
        resources={"storage_volumes": [f"/1.0/storage_volumes/{name}"]},
    )

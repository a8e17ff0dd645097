"""Fake LXD: the snapshots and backups of storage volumes, kept in the
volume record (``_snapshots``, ``_backups``: name -> record)."""

from __future__ import annotations

from typing import Any

from pylxd.testing._fake import (
    FakeError,
    FakeLXD,
    FakeRequest,
    Reply,
    now,
    put_and_patch,
    rename_in,
    route,
)
from pylxd.testing._fake_core import listing
from pylxd.testing._fake_storage import (
    NEVER,
    VOLUME_PATH,
    backup_tarball,
    public,
    remover,
    volume_of,
)

_SNAP = VOLUME_PATH + r"/snapshots/(?P<snap>[^/]+)"
_BACKUP = VOLUME_PATH + r"/backups/(?P<backup>[^/]+)"


def _new_name(
    body: dict[str, Any], prefix: str, taken: dict[str, Any], in_use: str
) -> str:
    """The body's ``name``, or LXD's for an unnamed child (``<prefix><n>``, the
    first one free); a 409 with ``in_use`` when it is taken."""
    name: str = body.get("name") or next(
        f"{prefix}{i}" for i in range(len(taken) + 1) if f"{prefix}{i}" not in taken
    )
    if name in taken:
        raise FakeError(409, in_use.format(name=name))
    return name


def _rename(
    fake: FakeLXD,
    request: FakeRequest,
    children: dict[str, Any],
    old: str,
    what: str,
    in_use: str | None = None,
) -> Reply:
    """Rename child ``old`` to the body's ``name`` in an operation (``in_use``:
    the message when the name is taken, which some children do not check)."""
    new = (request.json or {}).get("name")
    if not new:
        raise FakeError(400, "No name provided")

    def work() -> None:
        if in_use is not None and new in children:
            raise FakeError(409, in_use.format(new=new))
        rename_in(children, old, new)

    return fake.run_async(f"Renaming {what}", request, work)


# -- snapshots -----------------------------------------------------------------
def _snapshot(volume: dict[str, Any], name: str) -> Any:
    snap = volume["_snapshots"].get(name)
    if snap is None:
        raise FakeError(404, "Storage pool volume not found")
    return snap


@route("GET", VOLUME_PATH + r"/snapshots")
def _snapshot_list(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
) -> Reply:
    snaps = volume_of(fake, request, pool, vtype, vol)["_snapshots"]
    view = lambda s: {**s, "name": f"{vol}/{s['name']}"}  # noqa: E731
    prefix = f"/1.0/storage-pools/{pool}/volumes/{vtype}/{vol}/snapshots"
    return fake.sync(listing(request, prefix, snaps, view, in_project=False))


@route("POST", VOLUME_PATH + r"/snapshots")
def _snapshot_create(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
) -> Reply:
    volume = volume_of(fake, request, pool, vtype, vol)
    body = request.json or {}
    snaps = volume["_snapshots"]
    name = _new_name(body, "snap", snaps, 'Snapshot "{name}" already in use')
    snap = {
        "name": name,
        "description": "",
        "config": dict(volume["config"]),
        "content_type": volume["content_type"],
        "created_at": now(),
        "expires_at": body.get("expires_at") or NEVER,
    }
    return fake.run_async(
        "Creating storage volume snapshot",
        request,
        lambda: snaps.update({name: snap}),
        resources={"storage_volumes": [f"/1.0/storage_volumes/{vol}"]},
    )


@route("GET", _SNAP)
def _snapshot_get(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str, snap: str
) -> Reply:
    return fake.sync(_snapshot(volume_of(fake, request, pool, vtype, vol), snap))


@put_and_patch(_SNAP)
def _snapshot_update(
    fake: FakeLXD,
    request: FakeRequest,
    pool: str,
    vtype: str,
    vol: str,
    snap: str,
    merge: bool,
) -> Reply:
    found = _snapshot(volume_of(fake, request, pool, vtype, vol), snap)
    body = request.json or {}
    if not merge or "description" in body:
        found["description"] = body.get("description", "")
    if not merge or "expires_at" in body:
        found["expires_at"] = body.get("expires_at") or NEVER
    return fake.sync()


@route("POST", _SNAP)
def _snapshot_rename(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str, snap: str
) -> Reply:
    volume = volume_of(fake, request, pool, vtype, vol)
    _snapshot(volume, snap)
    snaps = volume["_snapshots"]
    in_use = 'Snapshot "{new}" already in use'
    return _rename(fake, request, snaps, snap, "storage volume snapshot", in_use)


@route("DELETE", _SNAP)
def _snapshot_delete(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str, snap: str
) -> Reply:
    volume = volume_of(fake, request, pool, vtype, vol)
    _snapshot(volume, snap)
    return fake.run_async(
        "Deleting storage volume snapshot",
        request,
        remover(volume["_snapshots"], snap),
    )


# -- backups -------------------------------------------------------------------
def _backup(volume: dict[str, Any], name: str) -> Any:
    backup = volume["_backups"].get(name)
    if backup is None:
        raise FakeError(404, "Storage volume backup not found")
    return backup


@route("GET", VOLUME_PATH + r"/backups")
def _backup_list(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
) -> Reply:
    backups = volume_of(fake, request, pool, vtype, vol)["_backups"]
    prefix = f"/1.0/storage-pools/{pool}/volumes/{vtype}/{vol}/backups"
    return fake.sync(listing(request, prefix, backups, public, in_project=False))


@route("POST", VOLUME_PATH + r"/backups")
def _backup_create(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
) -> Reply:
    volume = volume_of(fake, request, pool, vtype, vol)
    body = request.json or {}
    backups = volume["_backups"]
    name = _new_name(body, "backup", backups, "Backup already exists")
    backup = {
        "name": name,
        "created_at": now(),
        "expires_at": body.get("expires_at") or NEVER,
        "volume_only": bool(body.get("volume_only")),
        "optimized_storage": bool(body.get("optimized_storage")),
        "_data": backup_tarball(volume),
    }
    return fake.run_async(
        "Creating custom volume backup",
        request,
        lambda: backups.update({name: backup}),
        resources={
            "backups": [f"/1.0/backups/{name}"],
            "storage_volumes": [f"/1.0/storage_volumes/{vol}"],
        },
    )


@route("GET", _BACKUP)
def _backup_get(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str, backup: str
) -> Reply:
    return fake.sync(
        public(_backup(volume_of(fake, request, pool, vtype, vol), backup))
    )


@route("GET", _BACKUP + r"/export")
def _backup_export(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str, backup: str
) -> Reply:
    data = _backup(volume_of(fake, request, pool, vtype, vol), backup)["_data"]
    return fake.raw(data, **{"Content-Length": str(len(data))})


@route("POST", _BACKUP)
def _backup_rename(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str, backup: str
) -> Reply:
    volume = volume_of(fake, request, pool, vtype, vol)
    _backup(volume, backup)
    return _rename(fake, request, volume["_backups"], backup, "custom volume backup")


@route("DELETE", _BACKUP)
def _backup_delete(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str, backup: str
) -> Reply:
    volume = volume_of(fake, request, pool, vtype, vol)
    _backup(volume, backup)
    return fake.run_async(
        "Deleting custom volume backup", request, remover(volume["_backups"], backup)
    )

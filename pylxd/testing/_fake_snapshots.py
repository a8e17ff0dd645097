"""Fake LXD: instance snapshots (``fake.store("snapshots", project)[instance][name]``)."""

from __future__ import annotations

import functools

from pylxd._types import JSONDict
from pylxd.testing._fake import (
    FakeError,
    FakeLXD,
    FakeRequest,
    Reply,
    lookup,
    now,
    rename_in,
    route,
)
from pylxd.testing._fake_core import listing
from pylxd.testing._fake_helpers import wording
from pylxd.testing._fake_instances import (
    INSTANCE_PATH,
    NEVER,
    instance_of_kind,
    render,
    resources_of,
    snapshot_records,
)

_SNAP = INSTANCE_PATH + r"/snapshots/(?P<snap>[^/]+)"


def _snapshot(
    fake: FakeLXD, request: FakeRequest, kind: str, name: str, snap: str
) -> JSONDict:
    instance_of_kind(fake, request, kind, name)
    missing = (
        f'Failed to fetch snapshot "{snap}" of instance "{name}" in project '
        f'"{request.project}": '
        + wording(fake, "InstanceSnapshot", "Instance_snapshot")
        + " not found"
    )
    return lookup(snapshot_records(fake, request.project, name), snap, missing)


@route("GET", INSTANCE_PATH + "/snapshots")
def _snapshots(fake: FakeLXD, request: FakeRequest, kind: str, name: str) -> Reply:
    instance_of_kind(fake, request, kind, name)
    snaps = snapshot_records(fake, request.project, name)
    view = functools.partial(render, fake, request.project)
    return fake.sync(listing(request, f"/1.0/{kind}/{name}/snapshots", snaps, view))


def _new_snapshot(record: JSONDict, snap: str, body: JSONDict) -> JSONDict:
    copied = {
        k: record[k]
        for k in ("architecture", "config", "devices", "ephemeral", "profiles")
    }
    return {
        **copied,
        "config": dict(record["config"]),
        "devices": dict(record["devices"]),
        "profiles": list(record["profiles"]),
        "name": snap,
        "created_at": now(),
        "expires_at": body.get("expires_at") or NEVER,
        "last_used_at": NEVER,
        "stateful": bool(body.get("stateful")),
        "size": -1,
    }


def _take_snapshot(
    fake: FakeLXD,
    record: JSONDict,
    snaps: dict[str, JSONDict],
    snap: str,
    body: JSONDict,
) -> None:
    if snap in snaps:
        raise FakeError(
            400,
            f'Failed creating instance snapshot record "{snap}": Add snapshot info to '
            "the database: "
            + wording(
                fake,
                'This "instances_snapshots" entry already exists',
                'Failed to create "instances_snapshots" entry: UNIQUE constraint '
                "failed: instances_snapshots.instance_id, instances_snapshots.name",
            ),
        )
    if body.get("stateful") and record["status"] == "Stopped":
        raise FakeError(
            400, "Unable to create a stateful snapshot. The instance isn't running"
        )
    snaps[snap] = _new_snapshot(record, snap, body)


@route("POST", INSTANCE_PATH + "/snapshots")
def _snapshot_create(
    fake: FakeLXD, request: FakeRequest, kind: str, name: str
) -> Reply:
    record = instance_of_kind(fake, request, kind, name)
    body = request.json or {}
    snaps = snapshot_records(fake, request.project, name)
    snap = body.get("name") or f"snap{len(snaps)}"
    if "/" in snap:
        raise FakeError(400, 'Invalid snapshot name: Cannot contain "/"')
    work = lambda: _take_snapshot(fake, record, snaps, snap, body)  # noqa: E731
    return fake.run_async("Snapshotting instance", request, work, resources_of(name))


@route("GET", _SNAP)
def _snapshot_get(
    fake: FakeLXD, request: FakeRequest, kind: str, name: str, snap: str
) -> Reply:
    return fake.sync(
        render(fake, request.project, _snapshot(fake, request, kind, name, snap))
    )


@route("POST", _SNAP)
def _snapshot_rename(
    fake: FakeLXD, request: FakeRequest, kind: str, name: str, snap: str
) -> Reply:
    _snapshot(fake, request, kind, name, snap)
    new = (request.json or {}).get("name")
    snaps = snapshot_records(fake, request.project, name)
    if not new:
        raise FakeError(400, "A new name for the container must be provided")
    if new in snaps:
        raise FakeError(409, f"Name '{name}/{new}' already in use")

    def work() -> None:
        rename_in(snaps, snap, new)

    return fake.run_async("Renaming snapshot", request, work, resources_of(name))


@route("PUT", _SNAP)
@route("PATCH", _SNAP)
def _snapshot_put(
    fake: FakeLXD, request: FakeRequest, kind: str, name: str, snap: str
) -> Reply:
    found = _snapshot(fake, request, kind, name, snap)
    expires = (request.json or {}).get("expires_at")

    def work() -> None:
        found["expires_at"] = expires or NEVER

    return fake.run_async("Updating snapshot", request, work, resources_of(name))


@route("DELETE", _SNAP)
def _snapshot_delete(
    fake: FakeLXD, request: FakeRequest, kind: str, name: str, snap: str
) -> Reply:
    _snapshot(fake, request, kind, name, snap)
    snaps = snapshot_records(fake, request.project, name)
    return fake.run_async(
        "Deleting snapshot",
        request,
        lambda: snaps.pop(snap) and None,
        resources_of(name),
    )

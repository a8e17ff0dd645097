"""Fake LXD: instances, their state, copies and cluster moves.

Instances live in ``fake.store("instances", project)`` as LXD's ``Instance``
objects (without the ``expanded_*`` fields, computed from the profiles when
rendered). State changes answer with LXD 5.0's status codes and messages.
Snapshots are served by ``_fake_snapshots``, migrations between fakes by
``_fake_migration``.
"""

from __future__ import annotations

from typing import Callable

from pylxd._types import JSONDict
from pylxd.models._instance_config import name_problem
from pylxd.testing import _fake_migration
from pylxd.testing._fake import FakeLXD, route
from pylxd.testing._fake_core import profiles_of, require_project
from pylxd.testing._fake_helpers import wording
from pylxd.testing._fake_images import image_project
from pylxd.testing._fake_wire import FakeError, FakeRequest, Reply, lookup, now

_KIND = r"/1.0/(?P<kind>instances|containers|virtual-machines)"
INSTANCE_PATH = _KIND + r"/(?P<name>[^/]+)"
_TYPE_OF_KIND = {
    "instances": None,
    "containers": "container",
    "virtual-machines": "virtual-machine",
}
_INSTANCE_TYPES = ("container", "virtual-machine")
_CODES = {"Running": 103, "Stopped": 102, "Frozen": 110, "Error": 112}
NEVER = "0001-01-01T00:00:00Z"
_ACTIONS = ("start", "stop", "restart", "freeze", "unfreeze")

#: Migration sources waiting for a target, by operation id (any FakeLXD).


# -- helpers other families may use ------------------------------------------
def instance_record(fake: FakeLXD, project: str, name: str) -> JSONDict:
    """The stored instance ``name``, or LXD's 404."""
    missing = wording(
        fake,
        "Instance not found",
        f'Failed to fetch instance "{name}" in project "{project}": '
        "Instance not found",
    )
    return lookup(fake.store("instances", project), name, missing)


def snapshot_records(fake: FakeLXD, project: str, name: str) -> dict[str, JSONDict]:
    """The snapshots of instance ``name`` (a dict to edit in place)."""
    snapshots: dict[str, JSONDict] = fake.store("snapshots", project).setdefault(
        name, {}
    )
    return snapshots


def publish_source(fake: FakeLXD, project: str, source: JSONDict) -> JSONDict:
    """The instance or snapshot an image would be published from (``POST /1.0/images``).

    :raises FakeError: 404 when missing, 400 for a running instance (as LXD).
    """
    instance, _, snap = str(source.get("name", "")).partition("/")
    record = instance_record(fake, project, instance)
    if snap:
        found = snapshot_records(fake, project, instance).get(snap)
        if found is None:
            raise FakeError(404, "Snapshot not found")
        return found
    if record["status"] != "Stopped":
        raise FakeError(400, "Cannot export a running instance as an image")
    return record


def render(fake: FakeLXD, project: str, record: JSONDict) -> JSONDict:
    """An instance or snapshot as LXD shows it, with the expanded fields."""
    config: JSONDict = {}
    devices: JSONDict = {}
    profiles = profiles_of(fake, project)
    for profile in record.get("profiles") or ():
        config.update((profiles.get(profile) or {}).get("config") or {})
        devices.update((profiles.get(profile) or {}).get("devices") or {})
    config.update(record.get("config") or {})
    devices.update(record.get("devices") or {})
    return {**record, "expanded_config": config, "expanded_devices": devices}


_LOOPBACK = {
    "hwaddr": "",
    "host_name": "",
    "mtu": 65536,
    "state": "up",
    "type": "loopback",
}
_COUNTERS = dict.fromkeys(
    (
        "bytes_received",
        "bytes_sent",
        "packets_received",
        "packets_sent",
        "errors_received",
        "errors_sent",
        "packets_dropped_outbound",
        "packets_dropped_inbound",
    ),
    0,
)


def _state(
    fake: FakeLXD, record: JSONDict, fields: list[str] | None = None
) -> JSONDict:
    running = record["status"] != "Stopped"
    state = {
        "status": record["status"],
        "status_code": record["status_code"],
        "disk": {},
        "memory": {"usage": 0, "usage_peak": 0, "swap_usage": 0, "swap_usage_peak": 0},
        "network": (
            {"lo": {**_LOOPBACK, "addresses": [], "counters": dict(_COUNTERS)}}
            if running
            else None
        ),
        "pid": 4242 if running else 0,
        "processes": 1 if running else 0,
        "cpu": {"usage": 0},
    }
    if fake.server == "incus":  # Incus 6.0 adds the guest OS and the start time
        started = record["last_used_at"] if running else "0001-01-01T00:00:00Z"
        state.update(os_info=None, started_at=started)
    if fields is not None:  # selective recursion: only the asked-for fields
        for key in ("disk", "network"):
            if f"state.{key}" not in fields:
                state[key] = None
    return state


def _kind_type(kind: str, request: FakeRequest) -> str | None:
    """The type a request is about: its collection's, or ``?instance-type=``."""
    wanted = _TYPE_OF_KIND[kind] or request.query.get("instance-type") or None
    if wanted not in (None, *_INSTANCE_TYPES):
        raise FakeError(500, "Invalid instance type")  # LXD 5.0's answer
    return wanted


def instance_of_kind(
    fake: FakeLXD, request: FakeRequest, kind: str, name: str
) -> JSONDict:
    record = instance_record(fake, require_project(fake, request), name)
    # LXD 5.0 filters one instance on ?instance-type= too; Incus 6.0 ignores it.
    wanted = _kind_type(kind, request) if fake.server == "lxd" else None
    if wanted is not None and record["type"] != wanted:
        raise FakeError(404, "Instance not found")
    return record


def set_status(record: JSONDict, status: str) -> None:
    record["status"] = status
    record["status_code"] = _CODES[status]
    record.setdefault("config", {})["volatile.last_state.power"] = status.upper()


def resources_of(name: str) -> dict[str, list[str]]:
    return {
        "containers": [f"/1.0/containers/{name}"],
        "instances": [f"/1.0/instances/{name}"],
    }


# -- listing and reading -----------------------------------------------------
def _parse_recursion(
    request: FakeRequest, fake: FakeLXD
) -> tuple[int, list[str] | None]:
    level, _, rest = request.query.get("recursion", "0").partition(";")
    fields = None
    if (
        rest.startswith("fields=")
        and "instances_state_selective_recursion" in fake.extensions
    ):
        fields = [f for f in rest[len("fields=") :].split(",") if f]
    try:
        return int(level), fields
    except ValueError:
        return 0, None


def _matches(record: JSONDict, expression: str) -> bool:
    """LXD's ``filter``: ``key eq value`` clauses joined by ``and``."""
    for clause in expression.split(" and "):
        parts = clause.split(None, 2)
        if len(parts) != 3 or parts[1] not in ("eq", "ne"):
            raise FakeError(400, f"Invalid filter: {clause!r}")
        key, op, value = parts
        equal = str(record.get(key, "")).lower() == value.strip("\"'").lower()
        if equal != (op == "eq"):
            return False
    return True


@route("GET", _KIND)
def _list(fake: FakeLXD, request: FakeRequest, kind: str) -> Reply:
    project = require_project(fake, request)
    level, fields = _parse_recursion(request, fake)
    wanted = _kind_type(kind, request)
    expression = request.query.get("filter")
    chosen = [
        r
        for r in fake.store("instances", project).values()
        if (wanted is None or r["type"] == wanted)
        and (not expression or _matches(r, expression))
    ]
    if level == 0:
        suffix = "" if project == "default" else f"?project={project}"
        return fake.sync([f"/1.0/{kind}/{r['name']}{suffix}" for r in chosen])
    items = [render(fake, project, r) for r in chosen]
    if level >= 2:
        for item in items:
            snaps = snapshot_records(fake, project, item["name"]).values()
            item["state"] = _state(fake, item, fields)
            item["snapshots"] = [render(fake, project, s) for s in snaps] or None
            item["backups"] = None
    return fake.sync(items)


@route("GET", INSTANCE_PATH)
def _instance_get(fake: FakeLXD, request: FakeRequest, kind: str, name: str) -> Reply:
    record = instance_of_kind(fake, request, kind, name)
    return fake.sync(render(fake, request.project, record), etag=str(hash(now())))


@route("GET", INSTANCE_PATH + "/state")
def _state_get(fake: FakeLXD, request: FakeRequest, kind: str, name: str) -> Reply:
    return fake.sync(_state(fake, instance_of_kind(fake, request, kind, name)))


# -- creation -----------------------------------------------------------------
def _find_image(fake: FakeLXD, request: FakeRequest, source: JSONDict) -> JSONDict:
    """The local image a source names (``images``/``image_aliases`` stores)."""
    project = image_project(fake, request)
    if source.get("server"):  # a remote image: the fake pretends to download it
        return {"fingerprint": source.get("fingerprint") or "0" * 64, "properties": {}}
    images: dict[str, JSONDict] = fake.store("images", project)
    alias = source.get("alias")
    if alias:
        target = (fake.store("image_aliases", project).get(alias) or {}).get("target")
        for fingerprint, image in images.items():
            names = [a.get("name") for a in image.get("aliases") or ()]
            if alias in names or fingerprint == target:
                return image
        raise FakeError(404, "Image alias not found")
    wanted = source.get("fingerprint") or ""
    props = source.get("properties") or {}
    for fingerprint, image in images.items():
        have = image.get("properties") or {}
        if fingerprint.startswith(wanted) and all(
            have.get(k) == v for k, v in props.items()
        ):
            return image
    raise FakeError(404, "Image not found")


def _from_image(fake: FakeLXD, request: FakeRequest, source: JSONDict) -> JSONDict:
    image = _find_image(fake, request, source)
    config = {f"image.{k}": v for k, v in (image.get("properties") or {}).items()}
    config["volatile.base_image"] = image.get("fingerprint", "")
    return {"config": config, "architecture": image.get("architecture", "x86_64")}


def _from_copy(fake: FakeLXD, request: FakeRequest, source: JSONDict) -> JSONDict:
    origin = source.get("project") or request.project
    instance, _, snap = str(source.get("source", "")).partition("/")
    record = instance_record(fake, origin, instance)
    if snap:
        record = snapshot_records(fake, origin, instance).get(snap) or {}
        if not record:
            raise FakeError(404, "Instance snapshot not found")
    copied = {k: record[k] for k in ("architecture", "config", "devices", "ephemeral")}
    copied["config"] = {
        k: v
        for k, v in copied["config"].items()
        if not k.startswith("volatile.") or k == "volatile.base_image"
    }
    snaps = (
        {}
        if snap or source.get("instance_only")
        else snapshot_records(fake, origin, instance)
    )
    return {**copied, "_snapshots": snaps}


_SOURCES: dict[str, Callable[[FakeLXD, FakeRequest, JSONDict], JSONDict]] = {
    "none": lambda fake, request, source: {},
    "image": _from_image,
    "copy": _from_copy,
    "migration": _fake_migration.from_migration,
}


def _new_record(
    body: JSONDict, name: str, itype: str, base: JSONDict, project: str
) -> JSONDict:
    config = {**base.get("config", {}), **(body.get("config") or {})}
    return {
        "architecture": body.get("architecture")
        or base.get("architecture")
        or "x86_64",
        "config": config,
        "devices": dict(body.get("devices") or base.get("devices") or {}),
        "ephemeral": bool(body.get("ephemeral", base.get("ephemeral", False))),
        "profiles": list(body["profiles"] if "profiles" in body else ["default"]),
        "stateful": False,
        "description": body.get("description") or "",
        "created_at": now(),
        "name": name,
        "status": "Stopped",
        "status_code": _CODES["Stopped"],
        "last_used_at": "1970-01-01T00:00:00Z",
        "location": base.get("location", "none"),
        "type": itype,
        "project": project,
    }


def _check_profiles(
    fake: FakeLXD, project: str, record: JSONDict, needs_root: bool
) -> None:
    known = profiles_of(fake, project)
    for profile in record["profiles"]:
        if profile not in known:
            raise FakeError(
                400,
                f"Failed creating instance record: Requested profile {profile!r} doesn't exist",
            )
    devices = render(fake, project, record)["expanded_devices"]
    # LXD's pitfall: a copy or migration without profiles has no root disk.
    if (
        needs_root
        and not record["profiles"]
        and not any(
            d.get("type") == "disk" and d.get("path") == "/" for d in devices.values()
        )
    ):
        raise FakeError(
            400,
            "Failed creating instance record: Failed initialising instance: "
            "Failed getting root disk: No root device could be found",
        )


def _location(fake: FakeLXD, request: FakeRequest) -> str:
    """Where a new instance goes: ``target=``, else the first member, else "none"."""
    target = request.query.get("target")
    members = fake.store("cluster_members") if fake.clustered else {}
    if target is None:
        return next(iter(members), "none")
    if not fake.clustered:
        raise FakeError(400, "Target only allowed when clustered")
    if target not in members:
        raise FakeError(404, "Cluster member not found")
    return target


def _cluster_move(
    fake: FakeLXD, request: FakeRequest, record: JSONDict, body: JSONDict
) -> Reply:
    """``POST /1.0/instances/<name>?target=<member>``: move within the cluster."""
    location = _location(fake, request)
    new = body.get("name") or record["name"]

    def work() -> None:
        if record["status"] != "Stopped" and not body.get("live"):
            raise FakeError(400, "Instance must be stopped to be moved statelessly")
        if new != record["name"]:
            _rename(fake, request.project, record, new)
        record["location"] = location

    return fake.run_async("Migrating instance", request, work, resources_of(new))


def _generate_name(fake: FakeLXD, project: str) -> str:
    return f"fake-{fake.next_id()}"


@route("POST", _KIND)
def _create(fake: FakeLXD, request: FakeRequest, kind: str) -> Reply:
    project = require_project(fake, request)
    body = request.json
    if not isinstance(body, dict):
        raise FakeError(400, "Invalid request body")
    name = body.get("name") or _generate_name(fake, project)
    problem = name_problem(name)
    if problem is not None:
        raise FakeError(400, f"Invalid instance name: {problem}")
    source = body.get("source") or {}
    make = _SOURCES.get(source.get("type", ""))
    if make is None:
        raise FakeError(400, f"Unknown source type {source.get('type', '')}")
    base = {**make(fake, request, source), "location": _location(fake, request)}
    itype = body.get("type") or _kind_type(kind, request) or "container"

    def work() -> None:
        _store_new(fake, project, body, name, itype, base)

    return fake.run_async("Creating instance", request, work, resources_of(name))


def _store_new(
    fake: FakeLXD, project: str, body: JSONDict, name: str, itype: str, base: JSONDict
) -> None:
    store = fake.store("instances", project)
    if name in store:
        raise FakeError(
            400,
            "Failed creating instance record: Add instance info to the database: "
            + wording(
                fake,
                'This "instances" entry already exists',
                'Failed to create "instances" entry: UNIQUE constraint failed: '
                "instances.project_id, instances.name",
            ),
        )
    if "_pull" in base:
        base = {**base, **_fake_migration.pull(base["_pull"], base["_secrets"])}
    record = _new_record(body, name, itype, base, project)
    if "_snapshots" in base and "profiles" not in body:
        record["profiles"] = []  # LXD does not carry profiles over by itself
    _check_profiles(fake, project, record, needs_root="_snapshots" in base)
    store[name] = record
    snaps = snapshot_records(fake, project, name)
    for snap_name, snap in (base.get("_snapshots") or {}).items():
        snaps[snap_name] = {**snap, "profiles": list(record["profiles"])}


# -- changes ------------------------------------------------------------------
def _change_state(fake: FakeLXD, project: str, record: JSONDict, action: str) -> None:
    status = record["status"]
    if action in ("start",) and status != "Stopped":
        raise FakeError(400, "The instance is already running")
    if action in ("stop", "restart") and status == "Stopped":
        raise FakeError(400, "The instance is already stopped")
    if action == "freeze" and status == "Stopped":
        raise FakeError(
            400,
            wording(fake, "The container isn't running", "The instance isn't running"),
        )
    if action == "unfreeze" and status == "Stopped":
        raise FakeError(400, "The container isn't running")
    if action == "freeze" and status == "Frozen":
        raise FakeError(400, "The container is already frozen")
    if action == "unfreeze" and status == "Running":
        raise FakeError(400, "The container is already running")
    if action == "stop":
        set_status(record, "Stopped")
        if record.get("ephemeral"):
            _remove(fake, project, record["name"])
        return
    if action in ("start", "restart"):
        record["last_used_at"] = now()
    set_status(record, "Frozen" if action == "freeze" else "Running")


@route("PUT", INSTANCE_PATH + "/state")
def _state_put(fake: FakeLXD, request: FakeRequest, kind: str, name: str) -> Reply:
    record = instance_of_kind(fake, request, kind, name)
    body = request.json or {}
    action = body.get("action")
    if action not in _ACTIONS:
        raise FakeError(400, f"Unknown action: {action!r}")
    if body.get("stateful") and "migration_stateful" not in fake.extensions:
        raise FakeError(
            400, "Stateful stop requires migration.stateful to be set to true"
        )
    description = {
        "start": "Starting",
        "stop": "Stopping",
        "restart": "Restarting",
        "freeze": "Freezing",
        "unfreeze": "Unfreezing",
    }[action]
    return fake.run_async(
        f"{description} instance",
        request,
        lambda: _change_state(fake, request.project, record, action),
        resources_of(name),
    )


def _remove(fake: FakeLXD, project: str, name: str) -> None:
    fake.store("instances", project).pop(name, None)
    fake.store("snapshots", project).pop(name, None)


@route("DELETE", INSTANCE_PATH)
def _instance_delete(
    fake: FakeLXD, request: FakeRequest, kind: str, name: str
) -> Reply:
    record = instance_of_kind(fake, request, kind, name)
    if record["status"] != "Stopped":
        raise FakeError(400, "Instance is running")
    return fake.run_async(
        "Deleting instance",
        request,
        lambda: _remove(fake, request.project, name),
        resources_of(name),
    )


def _update(
    fake: FakeLXD, project: str, record: JSONDict, body: JSONDict, merge: bool
) -> None:
    known = profiles_of(fake, project)
    for profile in body.get("profiles") or ():
        if profile not in known:
            raise FakeError(400, f"Requested profile {profile!r} doesn't exist")
    for key in ("config", "devices"):
        if key in body and merge:
            record[key] = {**record.get(key, {}), **(body[key] or {})}
        elif key in body or not merge:
            record[key] = dict(body.get(key) or {})
    for key, default in (("profiles", []), ("description", ""), ("ephemeral", False)):
        if key in body or not merge:
            record[key] = body.get(key, default)
    if body.get("architecture"):
        record["architecture"] = body["architecture"]


def _restore(fake: FakeLXD, project: str, record: JSONDict, snap: str) -> None:
    found = snapshot_records(fake, project, record["name"]).get(snap)
    if found is None:
        raise FakeError(400, f"Snapshot {record['name']}/{snap} does not exist")
    for key in ("architecture", "config", "devices", "ephemeral", "profiles"):
        record[key] = found.get(key, record.get(key))


@route("PUT", INSTANCE_PATH)
def _instance_put(fake: FakeLXD, request: FakeRequest, kind: str, name: str) -> Reply:
    record = instance_of_kind(fake, request, kind, name)
    body = request.json or {}
    project = request.project
    if body.get("restore"):
        work = lambda: _restore(fake, project, record, body["restore"])  # noqa: E731
        return fake.run_async("Restoring snapshot", request, work, resources_of(name))
    work = lambda: _update(fake, project, record, body, merge=False)  # noqa: E731
    return fake.run_async("Updating instance", request, work, resources_of(name))


@route("PATCH", INSTANCE_PATH)
def _instance_patch(fake: FakeLXD, request: FakeRequest, kind: str, name: str) -> Reply:
    record = instance_of_kind(fake, request, kind, name)
    _update(fake, request.project, record, request.json or {}, merge=True)
    return fake.empty()


def _rename(fake: FakeLXD, project: str, record: JSONDict, new: str) -> None:
    if record["status"] != "Stopped":
        raise FakeError(
            400,
            wording(
                fake,
                "Renaming of running container not allowed",
                "Renaming of running instance not allowed",
            ),
        )
    store = fake.store("instances", project)
    old = record["name"]
    store[new] = store.pop(old)
    record["name"] = new
    snaps = fake.store("snapshots", project)
    if old in snaps:
        snaps[new] = snaps.pop(old)


@route("POST", INSTANCE_PATH)
def _instance_post(fake: FakeLXD, request: FakeRequest, kind: str, name: str) -> Reply:
    record = instance_of_kind(fake, request, kind, name)
    body = request.json or {}
    if "target" in request.query:
        return _cluster_move(fake, request, record, body)
    if body.get("migration"):
        return _fake_migration.migration_source(fake, request, name, body)
    new = body.get("name")
    if not new:
        raise FakeError(400, "A new name for the container must be provided")
    problem = name_problem(new)
    if problem is not None:
        raise FakeError(400, f"Invalid instance name: {problem}")
    if new in fake.store("instances", request.project):
        raise FakeError(409, f'Name "{new}" already in use')
    work = lambda: _rename(fake, request.project, record, new)  # noqa: E731
    return fake.run_async("Renaming instance", request, work, resources_of(name))

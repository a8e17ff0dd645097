"""Fake LXD: instance backups, logs, metadata and templates, bulk state and
backup import (the instance's sub-resources).

Per-instance state lives in ``fake.store("instance-subresources", project)[name]``
and belongs to the instance object it was made for (a renamed instance keeps
its backups, one deleted and created again starts empty). Tests may seed it
with :func:`subresources` and :func:`add_log`.

The answers imitate LXD 5.0.2 as measured on a real daemon: ``Instance not
found``, ``Load backup from database: Instance backup not found``,
``Backup names may not contain slashes``, a duplicate backup name failing
the operation, ``lxc.log and lxc.conf may not be deleted``, ``log file name
<x> not valid``, ``Template "<x>" not found``, ``missing path argument``,
``Unsupported compression`` (500) for a body that is not a backup.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib import parse

from pylxd.testing._fake import (
    _ROUTES,
    FakeError,
    FakeLXD,
    FakeRequest,
    Handler,
    Reply,
    lookup,
    now,
    rename_in,
    route,
)
from pylxd.testing._fake_core import listing, require_project
from pylxd.testing._fake_helpers import instance_owned

_INST = r"/1.0/instances/(?P<name>[^/]+)"
_NEVER = "0001-01-01T00:00:00Z"
_BACKUP_MAGIC = b"FAKE-LXD-BACKUP\n"
_UNDELETABLE_LOGS = ("lxc.log", "lxc.conf")
_LOG_PREFIXES = ("migration_", "snapshot_", "exec_")
_STATUS = {"Running": 103, "Stopped": 102, "Frozen": 110}
#: action -> (statuses it applies to, status afterwards)
_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "start": (("Stopped",), "Running"),
    "stop": (("Running", "Frozen"), "Stopped"),
    "restart": (("Running",), "Running"),
    "freeze": (("Running",), "Frozen"),
    "unfreeze": (("Frozen",), "Running"),
}
_DESCRIPTIONS = {
    "start": "Starting instance",
    "stop": "Stopping instance",
    "restart": "Restarting instance",
    "freeze": "Freezing instance",
    "unfreeze": "Unfreezing instance",
}


# -- per-instance state ------------------------------------------------------
def _instance(fake: FakeLXD, request: FakeRequest, name: str) -> dict[str, Any]:
    instances = fake.store("instances", require_project(fake, request))
    return lookup(instances, name, "Instance not found")


def _new_subresources() -> dict[str, Any]:
    return {
        "backups": {},
        "logs": {"lxc.log": b""},
        "metadata": {
            "architecture": "x86_64",
            "creation_date": 0,
            "expiry_date": 0,
            "properties": {},
            "templates": {},
        },
        "templates": {},
    }


def subresources(fake: FakeLXD, name: str, project: str = "default") -> dict[str, Any]:
    """The backups, logs, metadata and templates of instance ``name``.

    A dict with ``backups`` (name -> record, the tarball under ``"data"``),
    ``logs`` (file name -> bytes), ``metadata`` and ``templates`` (name ->
    bytes). FakeError 404 when there is no such instance.
    """
    return instance_owned(
        fake, "instance-subresources", project, name, _new_subresources
    )


def _subresources(fake: FakeLXD, request: FakeRequest, name: str) -> dict[str, Any]:
    _instance(fake, request, name)
    return subresources(fake, name, request.project)


def add_log(
    fake: FakeLXD, instance: str, filename: str, data: bytes, project: str = "default"
) -> None:
    """Give instance ``instance`` a log file (e.g. ``exec_<id>.stdout``)."""
    subresources(fake, instance, project)["logs"][filename] = data


def _file_reply(fake: FakeLXD, data: bytes, filename: str) -> Reply:
    """A raw file as LXD serves it (``Content-Length``, ``Content-Disposition``)."""
    headers = {
        "Content-Disposition": f"inline;filename={filename}",
        "Content-Length": str(len(data)),
    }
    return fake.raw(data, **headers)


# -- backups -----------------------------------------------------------------
def _backup_view(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "data"}


def _backup(extra: dict[str, Any], backup: str) -> dict[str, Any]:
    missing = "Load backup from database: Instance backup not found"
    return lookup(extra["backups"], backup, missing)


def _backups_holding(
    fake: FakeLXD, request: FakeRequest, name: str, backup: str
) -> dict[str, Any]:
    """The backups of instance ``name``, which must hold ``backup`` (404)."""
    extra = _subresources(fake, request, name)
    _backup(extra, backup)
    backups: dict[str, Any] = extra["backups"]
    return backups


@route("GET", rf"{_INST}/backups")
def _backups(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    backups = _subresources(fake, request, name)["backups"]
    path = f"/1.0/instances/{name}/backups"
    return fake.sync(listing(request, path, backups, _backup_view, in_project=False))


def _free_backup_name(backups: dict[str, Any]) -> str:
    index = 0
    while f"backup{index}" in backups:
        index += 1
    return f"backup{index}"


@route("POST", rf"{_INST}/backups")
def _backup_create(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    instance = _instance(fake, request, name)
    backups = subresources(fake, name, request.project)["backups"]
    body = request.json or {}
    backup = body.get("name") or _free_backup_name(backups)
    if "/" in backup:
        raise FakeError(400, "Backup names may not contain slashes")
    only = bool(body.get("instance_only") or body.get("container_only"))
    payload = {"instance": copy.deepcopy(instance), "instance_only": only}

    def work() -> None:
        if backup in backups:
            raise FakeError(
                400, f'Create backup: Backup "{name}/{backup}" already exists'
            )
        backups[backup] = {
            "name": backup,
            "created_at": now(),
            "expires_at": body.get("expires_at") or _NEVER,
            "instance_only": only,
            "container_only": only,
            "optimized_storage": bool(body.get("optimized_storage")),
            "data": _BACKUP_MAGIC + json.dumps(payload).encode(),
        }

    resources = {
        "backups": [f"/1.0/backups/{backup}"],
        "instances": [f"/1.0/instances/{name}"],
    }
    return fake.run_async("Backing up instance", request, work, resources)


@route("GET", rf"{_INST}/backups/(?P<backup>[^/]+)")
def _backup_get(fake: FakeLXD, request: FakeRequest, name: str, backup: str) -> Reply:
    return fake.sync(_backup_view(_backup(_subresources(fake, request, name), backup)))


@route("POST", rf"{_INST}/backups/(?P<backup>[^/]+)")
def _backup_rename(
    fake: FakeLXD, request: FakeRequest, name: str, backup: str
) -> Reply:
    backups = _backups_holding(fake, request, name, backup)
    new = (request.json or {}).get("name") or ""
    if not new or "/" in new:
        raise FakeError(400, "Backup names may not contain slashes")

    def work() -> None:
        if new in backups:
            raise FakeError(400, "UNIQUE constraint failed: instances_backups.name")
        rename_in(backups, backup, new)

    return fake.run_async("Renaming instance backup", request, work)


@route("DELETE", rf"{_INST}/backups/(?P<backup>[^/]+)")
def _backup_delete(
    fake: FakeLXD, request: FakeRequest, name: str, backup: str
) -> Reply:
    backups = _backups_holding(fake, request, name, backup)

    def work() -> None:
        del backups[backup]

    return fake.run_async("Deleting instance backup", request, work)


@route("GET", rf"{_INST}/backups/(?P<backup>[^/]+)/export")
def _backup_export(
    fake: FakeLXD, request: FakeRequest, name: str, backup: str
) -> Reply:
    record = _backup(_subresources(fake, request, name), backup)
    return _file_reply(fake, record["data"], backup)


# -- POST /1.0/instances with a backup, PUT /1.0/instances -------------------
def import_backup(fake: FakeLXD, request: FakeRequest) -> Reply:
    """Create an instance from a backup uploaded as ``application/octet-stream``."""
    project = require_project(fake, request)
    data = request.data
    if not data.startswith(_BACKUP_MAGIC):
        raise FakeError(500, "Unsupported compression")
    payload = json.loads(data[len(_BACKUP_MAGIC) :])
    pool = request.headers.get("X-LXD-pool")
    if pool is not None and pool not in fake.store("storage_pools"):
        raise FakeError(500, "Storage pool not found: Storage pool not found")
    instance = payload["instance"]
    name = request.headers.get("X-LXD-name") or instance["name"]
    instances = fake.store("instances", project)

    def work() -> None:
        if name in instances:
            raise FakeError(
                400,
                "Create instance from backup: Cannot restore volume, already exists on target",
            )
        instances[name] = {**instance, "name": name, "project": project}
        instances[name].update(status="Stopped", status_code=_STATUS["Stopped"])

    resources = {"instances": [f"/1.0/instances/{name}"]}
    return fake.run_async("Restoring backup", request, work, resources)


def _next_route(
    current: Handler, method: str, path: str
) -> tuple[Handler, dict[str, str]] | None:
    """The route registered after ``current`` that also serves ``method path``."""
    after = False
    for route_method, pattern, handler in _ROUTES:
        match = pattern.match(path)
        if handler is current:
            after = True
        elif after and route_method == method and match is not None:
            return handler, {k: parse.unquote(v) for k, v in match.groupdict().items()}
    return None


@route("POST", r"/1.0/(?P<kind>instances|containers|virtual-machines)")
def _instances_post(fake: FakeLXD, request: FakeRequest, kind: str) -> Reply:
    # Backups arrive as raw bytes; JSON creations go to the instances family,
    # whose module must come after this one in _FAMILIES.
    if request.headers.get("Content-Type") == "application/octet-stream":
        return import_backup(fake, request)
    found = _next_route(_instances_post, "POST", request.path)
    if found is None:
        raise FakeError(400, "Only instances from a backup file are implemented")
    handler, groups = found
    return handler(fake, request, **groups)


@route("PUT", r"/1.0/(?P<kind>instances|containers|virtual-machines)")
def _instances_bulk_state(fake: FakeLXD, request: FakeRequest, kind: str) -> Reply:
    state = (request.json or {}).get("state") or {}
    action = state.get("action")
    if action not in _TRANSITIONS:
        raise FakeError(400, f"Unknown action {action}")
    wanted = {"containers": "container", "virtual-machines": "virtual-machine"}
    sources, after = _TRANSITIONS[action]
    changed = []
    for name, instance in fake.store(
        "instances", require_project(fake, request)
    ).items():
        if kind in wanted and instance.get("type", "container") != wanted[kind]:
            continue
        if instance.get("status", "Stopped") in sources:
            instance.update(status=after, status_code=_STATUS[after])
            changed.append(f"/1.0/instances/{name}")
    description = _DESCRIPTIONS[action]
    resources: dict[str, Any] = {"instances": changed or None}  # None, as LXD
    return fake.run_async(description, request, resources=resources)


# -- logs ----------------------------------------------------------------------
def _valid_log(filename: str) -> None:
    if filename in _UNDELETABLE_LOGS or filename.startswith(_LOG_PREFIXES):
        if "/" not in filename:
            return
    raise FakeError(400, f"log file name {filename} not valid")


@route("GET", rf"{_INST}/logs")
def _logs(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    logs = _subresources(fake, request, name)["logs"]
    return fake.sync([f"/1.0/instances/{name}/logs/{f}" for f in sorted(logs)])


@route("GET", rf"{_INST}/logs/(?P<filename>[^/]+)")
def _log_get(fake: FakeLXD, request: FakeRequest, name: str, filename: str) -> Reply:
    logs = _subresources(fake, request, name)["logs"]
    _valid_log(filename)
    if filename not in logs:
        raise FakeError(
            500, f"open /var/lib/lxd/logs/{name}/{filename}: no such file or directory"
        )
    return _file_reply(fake, logs[filename], filename)


@route("DELETE", rf"{_INST}/logs/(?P<filename>[^/]+)")
def _log_delete(fake: FakeLXD, request: FakeRequest, name: str, filename: str) -> Reply:
    logs = _subresources(fake, request, name)["logs"]
    _valid_log(filename)
    if filename in _UNDELETABLE_LOGS:
        raise FakeError(400, "lxc.log and lxc.conf may not be deleted")
    if filename not in logs:
        raise FakeError(
            404,
            f"remove /var/lib/lxd/logs/{name}/{filename}: no such file or directory",
        )
    del logs[filename]
    return fake.empty()


# -- metadata and templates ----------------------------------------------------
_METADATA_KEYS = ("architecture", "creation_date", "expiry_date", "properties")


@route("GET", rf"{_INST}/metadata")
def _metadata_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    return fake.sync(_subresources(fake, request, name)["metadata"])


@route("PUT", rf"{_INST}/metadata")
def _metadata_put(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    extra = _subresources(fake, request, name)
    body = request.json or {}
    extra["metadata"] = {
        "architecture": body.get("architecture", ""),
        "creation_date": body.get("creation_date", 0),
        "expiry_date": body.get("expiry_date", 0),
        "properties": dict(body.get("properties") or {}),
        "templates": dict(body.get("templates") or {}),
    }
    return fake.empty()


@route("PATCH", rf"{_INST}/metadata")
def _metadata_patch(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    metadata = _subresources(fake, request, name)["metadata"]
    body = request.json or {}
    for key in _METADATA_KEYS[:3]:
        if key in body:
            metadata[key] = body[key]
    for key in ("properties", "templates"):  # maps are merged, as Go decodes them
        metadata[key].update(body.get(key) or {})
    return fake.empty()


def _template_path(request: FakeRequest) -> str:
    path = request.query.get("path", "")
    if not path:
        raise FakeError(400, "missing path argument")
    return path


@route("GET", rf"{_INST}/metadata/templates")
def _templates_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    templates = _subresources(fake, request, name)["templates"]
    path = request.query.get("path", "")
    if not path:
        return fake.sync(sorted(templates))
    if path not in templates:
        raise FakeError(404, f'Template "{path}" not found')
    return _file_reply(fake, templates[path], path)


@route("POST", rf"{_INST}/metadata/templates")
def _templates_post(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    templates = _subresources(fake, request, name)["templates"]
    templates[_template_path(request)] = request.data
    return fake.empty()


@route("DELETE", rf"{_INST}/metadata/templates")
def _templates_delete(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    templates = _subresources(fake, request, name)["templates"]
    path = _template_path(request)
    if path not in templates:
        raise FakeError(404, f'Template "{path}" not found')
    del templates[path]
    return fake.empty()

"""Fake LXD: warnings (``/1.0/warnings``) and metrics (``/1.0/metrics``).

Tests may record a warning with :func:`add_warning`. As LXD 5.0.2: a warning
cannot be set ``resolved`` (403, ``Status may only be set to "acknowledge" or
"new"``).
"""

from __future__ import annotations

import uuid
from typing import Any

from pylxd.testing._fake import FakeLXD, route
from pylxd.testing._fake_core import listing, require_project
from pylxd.testing._fake_wire import FakeError, FakeRequest, Reply, lookup, now


# -- warnings --------------------------------------------------------------------
def add_warning(
    fake: FakeLXD,
    type: str = "AppArmor support has been disabled",
    message: str = "Disabled because of lack of kernel support",
    project: str = "",
    severity: str = "low",
    entity_url: str = "",
) -> str:
    """Record a warning as LXD would; return its uuid."""
    key = str(uuid.uuid4())
    seen = now()
    fake.store("warnings")[key] = {
        "uuid": key,
        "status": "new",
        "type": type,
        "severity": severity,
        "count": 1,
        "first_seen_at": seen,
        "last_seen_at": seen,
        "last_message": message,
        "entity_url": entity_url,
        "location": "none",
        "project": project,
    }
    return key


def _warning(fake: FakeLXD, key: str) -> dict[str, Any]:
    return lookup(fake.store("warnings"), key, "Warning not found")


@route("GET", r"/1.0/warnings")
def _warnings(fake: FakeLXD, request: FakeRequest) -> Reply:
    items = fake.store("warnings")
    project = request.query.get("project")
    if project is not None:
        items = {k: w for k, w in items.items() if w["project"] == project}
    return fake.sync(listing(request, "/1.0/warnings", items, in_project=False))


@route("GET", r"/1.0/warnings/(?P<key>[^/]+)")
def _warning_get(fake: FakeLXD, request: FakeRequest, key: str) -> Reply:
    return fake.sync(_warning(fake, key))


@route("PUT", r"/1.0/warnings/(?P<key>[^/]+)")
@route("PATCH", r"/1.0/warnings/(?P<key>[^/]+)")
def _warning_put(fake: FakeLXD, request: FakeRequest, key: str) -> Reply:
    warning = _warning(fake, key)
    status = (request.json or {}).get("status", "")
    if status not in ("new", "acknowledged", "resolved"):
        raise FakeError(400, f'Invalid warning type "{status}"')
    if status == "resolved":
        raise FakeError(403, 'Status may only be set to "acknowledge" or "new"')
    warning["status"] = status
    return fake.empty()


@route("DELETE", r"/1.0/warnings/(?P<key>[^/]+)")
def _warning_delete(fake: FakeLXD, request: FakeRequest, key: str) -> Reply:
    _warning(fake, key)
    del fake.store("warnings")[key]
    return fake.empty()


# -- metrics ---------------------------------------------------------------------
@route("GET", r"/1.0/metrics")
def _metrics(fake: FakeLXD, request: FakeRequest) -> Reply:
    project = require_project(fake, request)
    running = [
        name
        for name, inst in fake.store("instances", project).items()
        if inst.get("status") == "Running"
    ]
    lines = []
    if running:
        lines += [
            "# HELP lxd_procs_total The number of running processes.",
            "# TYPE lxd_procs_total gauge",
        ]
        lines += [
            f'lxd_procs_total{{name="{n}",project="{project}",type="container"}} 1'
            for n in running
        ]
    lines.append("# EOF")
    return fake.raw(("\n".join(lines) + "\n").encode(), content_type="text/plain")

"""Fake LXD: the event stream (``GET /1.0/events``, a websocket).

``client.events()`` and ``client.events_iter()`` connect to the fake over a
socket pair (:mod:`pylxd.testing._fake_ws`). The fake sends:

* ``lifecycle`` events for what a successful request changed, named as LXD
  5.0 names them (``instance-created``, ``instance-started``,
  ``instance-shutdown``/``instance-stopped``, ``instance-paused``,
  ``profile-updated``, ``storage-volume-deleted``, ...), with ``source`` the
  object's URL (``?project=`` outside the default project);
* ``operation`` events when an operation is created and when it ends;
* whatever a test sends with :meth:`FakeLXD.emit`.

As on LXD, ``?type=`` selects the types and ``?project=`` the project
(default: the default project; ``all-projects=true`` for every project).
A listener that does not read for :data:`SEND_TIMEOUT` seconds is dropped.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import TYPE_CHECKING, Any, Callable

from pylxd._types import JSONDict
from pylxd.testing._fake import FakeError, Reply, now

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.testing._fake import FakeLXD, FakeRequest
    from pylxd.testing._fake_ws import ServerWebSocket

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0
ALL_TYPES = ("lifecycle", "logging", "operation")
_REQUESTOR = {"username": "root", "protocol": "unix", "address": "@"}


class Listener:
    """One connected event websocket and what it asked for."""

    def __init__(self, query: dict[str, str]) -> None:
        types = [t for t in query.get("type", "").split(",") if t]
        self.types = set(types or ALL_TYPES)
        self.project = query.get("project") or "default"
        self.all_projects = query.get("all-projects", "") in ("true", "1")
        self.lock = threading.Lock()
        self.ws: ServerWebSocket | None = None
        self.pending: list[str] = []
        self.gone = False

    def wants(self, event: JSONDict) -> bool:
        if event["type"] not in self.types:
            return False
        project = event.get("project")
        return self.all_projects or not project or project == self.project

    def send(self, text: str) -> None:
        with self.lock:
            if self.gone:
                return
            if self.ws is None:
                self.pending.append(text)
                return
            try:
                self.ws.sock.settimeout(SEND_TIMEOUT)
                self.ws.send(text, binary=False)
            except (OSError, AttributeError) as err:
                logger.debug("fake events: dropping a listener: %r", err)
                self.gone = True

    def attach(self, ws: ServerWebSocket) -> None:
        with self.lock:
            self.ws = ws
            pending, self.pending = self.pending, []
        for text in pending:
            self.send(text)


def events_websocket(fake: FakeLXD, query: dict[str, str]) -> Callable[..., None]:
    """Register a listener now (no event is missed) and return its handler."""
    listener = Listener(query)
    with fake.lock:
        fake.event_listeners.append(listener)

    def serve(
        fake: FakeLXD, path: str, query: dict[str, str], ws: ServerWebSocket
    ) -> None:
        listener.attach(ws)
        try:
            while not listener.gone and ws.next_message() is not None:
                pass  # LXD ignores what clients send on the event stream
        finally:
            with fake.lock:
                if listener in fake.event_listeners:
                    fake.event_listeners.remove(listener)
            ws.end()

    return serve


def emit(
    fake: FakeLXD, event_type: str, metadata: Any, project: str | None = "default"
) -> JSONDict:
    """Send an event to the listeners that want it; return it."""
    event = {
        "type": event_type,
        "timestamp": now(),
        "metadata": metadata,
        "location": "none",
    }
    if project is not None:
        event["project"] = project
    text = json.dumps(event)
    for listener in list(fake.event_listeners):
        if listener.wants(event):
            listener.send(text)
    return event


def lifecycle(
    fake: FakeLXD,
    action: str,
    source: str,
    project: str = "default",
    context: JSONDict | None = None,
) -> JSONDict:
    """Send a ``lifecycle`` event as LXD 5.0 shapes them."""
    if project != "default":
        source = f"{source}?project={project}"
    metadata = {
        "action": action,
        "source": source,
        "context": context or {},
        "requestor": dict(_REQUESTOR),
    }
    return emit(fake, "lifecycle", metadata, project)


# -- lifecycle events from requests ------------------------------------------
_KINDS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(p), kind, base)
    for p, kind, base in (
        (
            r"/1\.0/(?:instances|containers|virtual-machines)/(?P<parent>[^/]+)"
            r"/snapshots",
            "instance-snapshot",
            "/1.0/instances/{parent}/snapshots",
        ),
        (
            r"/1\.0/(?:instances|containers|virtual-machines)",
            "instance",
            "/1.0/instances",
        ),
        (
            r"/1\.0/storage-pools/(?P<parent>[^/]+)/volumes/(?P<vtype>[^/]+)",
            "storage-volume",
            "/1.0/storage-pools/{parent}/volumes/{vtype}",
        ),
        (r"/1\.0/storage-pools", "storage-pool", "/1.0/storage-pools"),
        (r"/1\.0/images/aliases", "image-alias", "/1.0/images/aliases"),
        (r"/1\.0/profiles", "profile", "/1.0/profiles"),
        (r"/1\.0/projects", "project", "/1.0/projects"),
        (r"/1\.0/networks", "network", "/1.0/networks"),
        (r"/1\.0/certificates", "certificate", "/1.0/certificates"),
    )
]
_STATE_ACTIONS = {
    "start": "instance-started",
    "restart": "instance-restarted",
    "freeze": "instance-paused",
    "unfreeze": "instance-resumed",
}


def _succeeded(fake: FakeLXD, reply: Reply) -> bool:
    if reply.status >= 400:
        return False
    if reply.status != 202:
        return True
    try:
        op_id = json.loads(reply.body)["metadata"]["id"]
    except (ValueError, KeyError, TypeError):
        return False
    op = fake.operations.get(op_id)
    return op is not None and op.status in ("Success", "Running")


def _split(path: str) -> tuple[str, str, str | None, str] | None:
    """``(kind, collection URL, object name or None, rest)`` of ``path``."""
    for pattern, kind, base in _KINDS:
        match = pattern.match(path)
        if match is None:
            continue
        rest = path[match.end() :]
        collection = base.format(**match.groupdict())
        if not rest:
            return kind, collection, None, ""
        parts = rest.lstrip("/").split("/", 1)
        return kind, collection, parts[0], parts[1] if len(parts) > 1 else ""
    return None


def after_request(fake: FakeLXD, request: FakeRequest, reply: Reply) -> None:
    """Send the lifecycle event LXD would send for ``request``, if any."""
    if not fake.event_listeners:
        return
    if request.method == "GET" and not request.path.endswith("/files"):
        return
    if not _succeeded(fake, reply):
        return
    found = _split(request.path)
    if found is None:
        return
    action, source, context = _lifecycle_of(request, *found)
    if action:
        lifecycle(fake, action, source, request.project, context)


def _lifecycle_of(
    request: FakeRequest, kind: str, collection: str, name: str | None, rest: str
) -> tuple[str | None, str, JSONDict | None]:
    body = _body(request)
    if name is None:
        if request.method != "POST" or not body.get("name"):
            return None, "", None
        return f"{kind}-created", f"{collection}/{body['name']}", None
    source = f"{collection}/{name}"
    if kind == "instance" and rest:
        action, context = _instance_sub(request, rest, body)
        return action, source, context
    if rest:
        return None, "", None
    if request.method in ("PUT", "PATCH"):
        return f"{kind}-updated", source, None
    if request.method == "DELETE":
        return f"{kind}-deleted", source, None
    if request.method == "POST" and body.get("name") and not body.get("migration"):
        return f"{kind}-renamed", f"{collection}/{body['name']}", {"old_name": name}
    return None, "", None


_FILE_ACTIONS = {
    "GET": "instance-file-retrieved",
    "POST": "instance-file-pushed",
    "DELETE": "instance-file-deleted",
}


def _instance_sub(
    request: FakeRequest, rest: str, body: JSONDict
) -> tuple[str | None, JSONDict | None]:
    if rest == "state" and request.method == "PUT":
        action = body.get("action", "")
        if action == "stop":
            stop = "instance-stopped" if body.get("force") else "instance-shutdown"
            return stop, None
        return _STATE_ACTIONS.get(action), None
    if rest == "exec" and request.method == "POST":
        return "instance-exec", {"command": body.get("command")}
    if rest == "files" and request.method in _FILE_ACTIONS:
        return _FILE_ACTIONS[request.method], {"path": request.query.get("path")}
    return None, None


def _body(request: FakeRequest) -> JSONDict:
    content_type = request.headers.get("Content-Type", "")
    if "json" not in content_type:
        return {}
    try:
        body = request.json
    except FakeError:  # a bad body changed nothing
        return {}
    return body if isinstance(body, dict) else {}

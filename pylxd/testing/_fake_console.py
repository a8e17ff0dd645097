"""Fake LXD: instance consoles (``/1.0/instances/<name>/console``).

The console log of an instance is kept in ``fake.store("console", project)``
(bytes by instance name); tests add output with
:meth:`FakeLXD.add_console_output`. ``GET`` and ``DELETE`` answer like LXD
5.0.2 (its odd ``open : no such file or directory`` for an empty log
included). ``POST`` (type ``console``) is a websocket operation: once the
data and control websockets are connected, the fake sends the log so far,
then echoes what the client writes (as a terminal with echo on) and adds it
to the log, until the client detaches.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from pylxd.testing._fake import FakeError, FakeLXD, FakeOperation, FakeRequest, route
from pylxd.testing._fake_core import require_project
from pylxd.testing._fake_ws import ServerWebSocket

_CONSOLE = (
    r"/1.0/(?P<kind>instances|containers|virtual-machines)/(?P<name>[^/]+)/console"
)


def console_log(fake: FakeLXD, project: str, name: str) -> bytearray | None:
    """The console log of instance ``name`` (None before it ever had one)."""
    log: bytearray | None = fake.store("console", project).get(name)
    return log


def add_output(fake: FakeLXD, project: str, name: str, data: bytes) -> None:
    """Append ``data`` to the console log of instance ``name``."""
    fake.store("console", project).setdefault(name, bytearray()).extend(data)


def _record(fake: FakeLXD, request: FakeRequest, name: str) -> Any:
    from pylxd.testing._fake_instances import instance_record

    return instance_record(fake, require_project(fake, request), name)


@route("GET", _CONSOLE)
def _console_get(fake: FakeLXD, request: FakeRequest, kind: str, name: str) -> Any:
    record = _record(fake, request, name)
    log = console_log(fake, request.project, name)
    if log is None and record["status"] == "Stopped":
        if fake.server == "incus":  # Incus answers an empty log instead
            return fake.raw(b"")
        raise FakeError(
            500, f"open /var/lib/lxd/logs/{name}/console.log: no such file or directory"
        )
    if not log:
        raise FakeError(500, "open : no such file or directory")
    return fake.raw(bytes(log))


@route("DELETE", _CONSOLE)
def _console_clear(fake: FakeLXD, request: FakeRequest, kind: str, name: str) -> Any:
    record = _record(fake, request, name)
    log = console_log(fake, request.project, name)
    if log is None and record["status"] == "Stopped":
        raise FakeError(
            404, f"stat /var/lib/lxd/logs/{name}/console.log: no such file or directory"
        )
    fake.store("console", request.project)[name] = bytearray()
    return fake.empty()


@route("POST", _CONSOLE)
def _console_attach(fake: FakeLXD, request: FakeRequest, kind: str, name: str) -> Any:
    record = _record(fake, request, name)
    body = request.json or {}
    if body.get("type", "console") != "console":
        raise FakeError(400, "Unknown console type")
    if record["status"] != "Running":
        raise FakeError(400, "Instance is not running")
    fds = {fd: secrets.token_hex(32) for fd in ("0", "control")}
    op = fake.operation(
        "Showing console",
        {
            "containers": [f"/1.0/containers/{name}"],
            "instances": [f"/1.0/instances/{name}"],
        },
        metadata={"fds": fds},
        status="Running",
        project=request.project,
        op_class="websocket",
    )
    if op.status == "Running":
        op.done = threading.Event()
        session = _ConsoleSession(fake, op, request.project, name)
        for fd, secret in fds.items():
            fake.websocket_secrets[secret] = (session, fd)
    return fake.async_reply(op)


class _ConsoleSession:
    """The fake's side of one console attachment."""

    def __init__(self, fake: FakeLXD, op: FakeOperation, project: str, name: str):
        self.fake, self.op, self.project, self.name = fake, op, project, name
        self.conns: dict[str, ServerWebSocket] = {}
        self.lock = threading.Lock()

    def attach(self, fd: str, ws: ServerWebSocket) -> None:
        """Serve the console once both websockets are connected."""
        with self.lock:
            if fd in self.conns:
                ws.end()
                return
            self.conns[fd] = ws
            if len(self.conns) < 2:
                return
        threading.Thread(target=self.run, name="fake-lxd-console", daemon=True).start()

    def run(self) -> None:
        data = self.conns["0"]
        try:
            with self.fake.lock:
                log = bytes(console_log(self.fake, self.project, self.name) or b"")
            if log:
                data.send(log, binary=True)
            while (message := data.next_message()) is not None:
                chunk = bytes(message.data or b"")
                with self.fake.lock:
                    add_output(self.fake, self.project, self.name, chunk)
                data.send(chunk, binary=True)
        except OSError:
            pass  # the client detached abruptly
        finally:
            self._end()

    def _end(self) -> None:
        for ws in self.conns.values():
            ws.end()
        for secret in self.op.metadata["fds"].values():
            self.fake.websocket_secrets.pop(secret, None)
        self.op.status = "Success"
        self.fake.operation_changed(self.op)
        if self.op.done is not None:
            self.op.done.set()

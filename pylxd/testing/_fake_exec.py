"""Fake LXD: ``POST /1.0/instances/<name>/exec`` and its websockets.

Commands do not run anywhere: :meth:`FakeLXD.on_exec` registers what a
command "prints" and "returns" (fixed output or a handler called with an
:class:`ExecCall`). A few commands have a built-in behaviour when nothing is
registered for them: ``true``, ``false``, ``echo`` (and ``-n``), ``cat``
(stdin, or files of the instance's in-memory filesystem), ``mv`` (of a
file), ``pwd``, ``id -u``
and ``id -g``, printing what busybox prints. Any other command fails like a
missing binary does on LXD 5.0: the operation ends in ``Failure`` with
``Command not found`` (``return`` 127).

The websockets are real RFC 6455 websockets over a socket pair
(:mod:`pylxd.testing._fake_ws`), so ``Instance.execute`` runs unchanged:
stdin is read to its end-of-input message, then stdout and stderr are sent
and closed and the operation ends with ``metadata.return``. ``record-output``
writes ``exec_<id>.stdout``/``.stderr`` logs; ``wait-for-websocket: false``
runs at once. An interactive command gets its stdin as nothing and sends
stdout and stderr on the pty websocket.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from pylxd.testing._fake import FakeError, FakeLXD, FakeOperation, FakeRequest, route
from pylxd.testing._fake_core import require_project
from pylxd.testing._fake_ws import ServerWebSocket

_EXEC = r"/1.0/(?P<kind>instances|containers|virtual-machines)/(?P<name>[^/]+)/exec"
#: What LXD 5.0 sets for a command when the request does not say otherwise.
DEFAULT_ENVIRONMENT = {
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "USER": "root",
}
COMMAND_NOT_FOUND = 127
_CHUNK = 64 * 1024


@dataclass
class ExecCall:
    """One command run on the fake, as an exec handler sees it."""

    fake: FakeLXD
    instance: str
    project: str
    command: list[str]
    environment: dict[str, str]
    stdin: bytes = b""
    user: int | None = None
    group: int | None = None
    cwd: str | None = None
    interactive: bool = False

    @property
    def filesystem(self) -> dict[str, Any]:
        """The instance's in-memory filesystem (see ``pylxd.testing._fake_files``)."""
        from pylxd.testing._fake_files import filesystem

        with self.fake.lock:
            return filesystem(self.fake, self.instance, self.project)


@dataclass
class ExecResult:
    """What a command "did": its exit code and output."""

    exit_code: int = 0
    stdout: bytes | str = b""
    stderr: bytes | str = b""

    def output(self, which: str) -> bytes:
        """Return ``stdout`` or ``stderr`` (``which``) as bytes."""
        data = getattr(self, which)
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)


class CommandNotFound(Exception):
    """Raise from an exec handler to fail like a missing binary."""


@dataclass
class ExecRule:
    """A registered exec behaviour (see :meth:`FakeLXD.on_exec`)."""

    prefix: list[str]
    handler: Callable[[ExecCall], Any]
    instance: str | None = None
    calls: list[ExecCall] = field(default_factory=list)

    def matches(self, call: ExecCall) -> bool:
        if self.instance is not None and self.instance != call.instance:
            return False
        return call.command[: len(self.prefix)] == self.prefix


def add_rule(
    fake: FakeLXD,
    command: Sequence[str] | str | Callable[[ExecCall], Any] | None,
    handler: Callable[[ExecCall], Any] | None,
    result: ExecResult,
    instance: str | None,
) -> ExecRule:
    """Register a rule; later rules win over earlier ones."""
    if callable(command) and handler is None:
        command, handler = None, command
    if isinstance(command, str):
        command = [command]
    if command is not None and (
        not isinstance(command, (list, tuple))
        or not all(isinstance(c, str) for c in command)
    ):
        raise TypeError(f"on_exec: command must be a list of str, not {command!r}")
    if handler is not None and not callable(handler):
        raise TypeError(f"on_exec: handler must be callable, not {handler!r}")
    rule = ExecRule(list(command or []), handler or (lambda call: result), instance)
    fake.exec_rules.insert(0, rule)
    return rule


def _result_of(value: Any) -> ExecResult:
    if value is None:
        return ExecResult()
    if isinstance(value, ExecResult):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return ExecResult(value)
    if isinstance(value, tuple) and len(value) == 3:
        return ExecResult(*value)
    raise TypeError(
        "an exec handler must return None, an exit code, "
        f"(exit_code, stdout, stderr) or an ExecResult, not {value!r}"
    )


def run_command(call: ExecCall) -> ExecResult:
    """Run ``call`` through the registered rules, then the built-ins.

    :raises CommandNotFound: when nothing knows the command.
    """
    for rule in list(call.fake.exec_rules):
        if rule.matches(call):
            rule.calls.append(call)
            return _result_of(rule.handler(call))
    return _builtin(call)


def _builtin(call: ExecCall) -> ExecResult:
    name, args = call.command[0], call.command[1:]
    if name == "true":
        return ExecResult(0)
    if name == "false":
        return ExecResult(1)
    if name == "echo":
        if args[:1] == ["-n"]:
            return ExecResult(0, " ".join(args[1:]))
        return ExecResult(0, " ".join(args) + "\n")
    if name == "cat":
        return _cat(call, args)
    if name == "mv":
        return _mv(call, [a for a in args if a not in ("-f", "--")])
    if name == "pwd":
        return ExecResult(0, (call.cwd or call.environment.get("HOME", "/")) + "\n")
    if name == "id" and args in (["-u"], ["-g"]):
        value = call.user if args == ["-u"] else call.group
        return ExecResult(0, f"{value or 0}\n")
    raise CommandNotFound(name)


def _cat(call: ExecCall, paths: list[str]) -> ExecResult:
    if not paths:
        return ExecResult(0, call.stdin)
    from pylxd.testing._fake_files import _resolve

    out, err, code = b"", b"", 0
    fs = call.filesystem
    for path in paths:
        try:
            entry = fs.get(_resolve(fs, path, follow_last=True))
        except FakeError:  # a symlink loop
            entry = None
        if entry is None:
            err += f"cat: can't open '{path}': No such file or directory\n".encode()
            code = 1
        elif entry["type"] == "directory":
            err += b"cat: read error: Is a directory\n"
            code = 1
        else:
            out += entry["content"]
    return ExecResult(code, out, err)


def _mv(call: ExecCall, paths: list[str]) -> ExecResult:
    """``mv [-f] [--] SOURCE TARGET`` for a file or symlink (rename in place)."""
    from pylxd.testing._fake_files import _normalize

    if len(paths) != 2:
        return ExecResult(1, b"", b"BusyBox mv: usage: mv [-f] SOURCE DEST\n")
    source, target = (_normalize(p) for p in paths)
    with call.fake.lock:
        fs = call.filesystem
        entry = fs.get(source)
        if entry is None:
            message = f"mv: can't rename '{paths[0]}': No such file or directory\n"
            return ExecResult(1, b"", message.encode())
        if (
            entry["type"] == "directory"
            or fs.get(target, {}).get("type") == "directory"
        ):
            return ExecResult(1, b"", b"mv: directories are not supported here\n")
        fs[target] = fs.pop(source)
    return ExecResult(0)


# -- the route ---------------------------------------------------------------
def _check_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise FakeError(400, "Invalid request body")
    command = body.get("command")
    if not command or not isinstance(command, list):
        raise FakeError(400, "Command is required")  # LXD rejects an empty command
    return body


@route("POST", _EXEC)
def _exec(fake: FakeLXD, request: FakeRequest, kind: str, name: str) -> Any:
    from pylxd.testing._fake_instances import instance_record

    project = require_project(fake, request)
    record = instance_record(fake, project, name)
    body = _check_body(request.json)
    if record["status"] != "Running":
        raise FakeError(400, "Instance is not running")
    call = ExecCall(
        fake=fake,
        instance=name,
        project=project,
        command=list(body["command"]),
        environment={**DEFAULT_ENVIRONMENT, **(body.get("environment") or {})},
        user=body.get("user"),
        group=body.get("group"),
        cwd=body.get("cwd"),
        interactive=bool(body.get("interactive")),
    )
    resources = {
        "containers": [f"/1.0/containers/{name}"],
        "instances": [f"/1.0/instances/{name}"],
    }
    if body.get("wait-for-websocket"):
        return fake.async_reply(_websocket_operation(fake, call, resources))
    return fake.async_reply(_run_now(fake, call, resources, body))


def _finish(op: FakeOperation, call: ExecCall) -> ExecResult:
    """Run the command and end ``op`` as LXD does."""
    try:
        result = run_command(call)
    except CommandNotFound:
        op.status, op.err = "Failure", "Command not found"
        result = ExecResult(COMMAND_NOT_FOUND)
    except Exception as err:  # noqa: BLE001 (a test's handler failed: say so)
        op.status, op.err = "Failure", f"exec handler raised {err!r}"
        result = ExecResult(1)
    else:
        op.status = "Success"
    op.metadata = {**(op.metadata or {}), "return": result.exit_code}
    return result


def _run_now(
    fake: FakeLXD, call: ExecCall, resources: dict[str, list[str]], body: Any
) -> FakeOperation:
    op = fake.operation("Executing command", resources, project=call.project)
    if op.status == "Failure":  # fail_operation_next
        return op
    result = _finish(op, call)
    if body.get("record-output"):
        output = {}
        for fd, which in (("1", "stdout"), ("2", "stderr")):
            filename = f"exec_{op.id}.{which}"
            output[fd] = _record(fake, call, filename, result.output(which))
        op.metadata = {"output": output, "return": result.exit_code}
    fake.operation_changed(op)
    return op


def _record(fake: FakeLXD, call: ExecCall, filename: str, data: bytes) -> str:
    """Keep a record-output file; return its URL (Incus: under ``exec-output``)."""
    from pylxd.testing._fake_incus import exec_outputs
    from pylxd.testing._fake_instance_subresources import add_log

    if fake.server == "incus":
        exec_outputs(fake, call.instance, call.project)[filename] = data
        return f"/1.0/instances/{call.instance}/logs/exec-output/{filename}"
    add_log(fake, call.instance, filename, data, call.project)
    return f"/1.0/instances/{call.instance}/logs/{filename}"


def _websocket_operation(
    fake: FakeLXD, call: ExecCall, resources: dict[str, list[str]]
) -> FakeOperation:
    fds = ["0", "control"] if call.interactive else ["0", "1", "2", "control"]
    secrets_by_fd = {fd: secrets.token_hex(32) for fd in fds}
    op = fake.operation(
        "Executing command",
        resources,
        metadata={
            "command": call.command,
            "environment": call.environment,
            "fds": secrets_by_fd,
            "interactive": call.interactive,
        },
        status="Running",
        project=call.project,
        op_class="websocket",
    )
    if op.status == "Failure":  # fail_operation_next
        return op
    op.done = threading.Event()
    session = _ExecSession(fake, op, call, secrets_by_fd)
    for fd, secret in secrets_by_fd.items():
        fake.websocket_secrets[secret] = (session, fd)
    return op


class _ExecSession:
    """The fake's side of one exec: its websockets and the thread running it."""

    def __init__(
        self, fake: FakeLXD, op: FakeOperation, call: ExecCall, fds: dict[str, str]
    ) -> None:
        self.fake, self.op, self.call, self.fds = fake, op, call, fds
        self.conns: dict[str, ServerWebSocket] = {}
        self.lock = threading.Lock()
        # LXD starts an interactive command once "0" is connected; the fake's
        # command ends at once, so it also waits for the control websocket
        # pylxd's InteractiveSession opens right after.
        self.required = ["0", "control"] if call.interactive else ["0", "1", "2"]
        self.started = False

    def attach(self, fd: str, ws: ServerWebSocket) -> None:
        """A websocket connected: run the command once the required ones are."""
        with self.lock:
            if fd in self.conns or self.started or self.op.status != "Running":
                ws.end()
                return
            self.conns[fd] = ws
            if all(r in self.conns for r in self.required):
                self.started = True
                threading.Thread(
                    target=self.run, name="fake-lxd-exec", daemon=True
                ).start()

    def run(self) -> None:
        try:
            if not self.call.interactive:
                self.call.stdin = _read_stdin(self.conns["0"])
            result = _finish(self.op, self.call)
            self._send(result)
        finally:
            for secret in self.fds.values():
                self.fake.websocket_secrets.pop(secret, None)
            self.fake.operation_changed(self.op)
            if self.op.done is not None:
                self.op.done.set()

    def _send(self, result: ExecResult) -> None:
        if self.call.interactive:
            outputs = [("0", result.output("stdout") + result.output("stderr"))]
        else:
            outputs = [("1", result.output("stdout")), ("2", result.output("stderr"))]
        for fd, data in outputs:
            ws = self.conns[fd]
            try:
                for start in range(0, len(data), _CHUNK):
                    ws.send(data[start : start + _CHUNK], binary=True)
            except OSError:
                pass  # the client stopped reading: LXD drops the output too
        with self.lock:
            conns = list(self.conns.values())
        for ws in conns:
            ws.end()


def _read_stdin(ws: ServerWebSocket) -> bytes:
    """Everything up to the client's end-of-input (an empty message) or close."""
    data = bytearray()
    while True:
        message = ws.next_message()
        if message is None or not message.data:
            return bytes(data)
        data += message.data


def exec_websocket(fake: FakeLXD, secret: str) -> Any:
    """The websocket handler for ``secret``, or None when it is not known."""
    found = fake.websocket_secrets.get(secret)
    if found is None:
        return None
    session, fd = found

    def attach(
        fake: FakeLXD, path: str, query: dict[str, str], ws: ServerWebSocket
    ) -> None:
        session.attach(fd, ws)

    return attach

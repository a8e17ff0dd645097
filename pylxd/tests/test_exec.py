"""Instance exec, interactive sessions and console against the fake LXD.

The fake serves real websockets over socket pairs, so ``execute`` runs end to
end (ws4py framing included); the orchestration seams
(``pylxd.models.instance._StdinWebsocket``/``_CommandWebsocketClient``) are
tested with fake stream classes.
"""

from __future__ import annotations

import io
import json
import threading
from typing import Any, Iterator
from unittest import mock

import pytest
from ws4py.messaging import BinaryMessage, TextMessage

from pylxd import exceptions
from pylxd._websocket_exec import _CommandWebsocketClient, _StdinWebsocket
from pylxd.models import _exec
from pylxd.testing import FakeLXD, Reply

EXEC = "/1.0/instances/c1/exec"


@pytest.fixture
def instance(client: Any) -> Any:
    instance = client.instances.create(
        {"name": "c1", "source": {"type": "none"}}, wait=True
    )
    instance.start(wait=True)
    return instance


# -- the request -------------------------------------------------------------
def test_execute_sends_pylxds_body(instance: Any, fake: FakeLXD) -> None:
    assert instance.execute(["echo", "hi"]) == (0, "hi\n", "")
    assert fake.last_body("POST", EXEC) == {
        "command": ["echo", "hi"],
        "environment": {},
        "wait-for-websocket": True,
        "interactive": False,
    }


def test_execute_with_environment_user_group_cwd(instance: Any, fake: FakeLXD) -> None:
    rule = fake.on_exec(["env"], stdout="ok\n")
    result = instance.execute(
        ["env"], environment={"A": "1"}, user=1000, group=1001, cwd="/srv"
    )
    assert result == (0, "ok\n", "")
    assert fake.last_body("POST", EXEC) == {
        "command": ["env"],
        "environment": {"A": "1"},
        "wait-for-websocket": True,
        "interactive": False,
        "user": 1000,
        "group": 1001,
        "cwd": "/srv",
    }
    call = rule.calls[0]
    assert (call.user, call.group, call.cwd, call.environment["A"]) == (
        1000,
        1001,
        "/srv",
        "1",
    )


def test_exit_code_and_streams_come_from_lxd(instance: Any, fake: FakeLXD) -> None:
    fake.on_exec(["sh"], lambda call: (42, "out\n", "err\n"))
    result = instance.execute(["sh", "-c", "anything"])
    assert result == (42, "out\n", "err\n")
    assert (result.exit_code, result.stdout, result.stderr) == (42, "out\n", "err\n")
    assert type(result).__name__ == "_InstanceExecuteResult"


def test_decode_false_and_encoding(instance: Any, fake: FakeLXD) -> None:
    fake.on_exec(["bin"], stdout=b"\x00\xff\xe9", stderr=b"\xe9")
    assert instance.execute(["bin"], decode=False) == (0, b"\x00\xff\xe9", b"\xe9")
    assert instance.execute(["bin"], encoding="latin-1") == (0, "\x00ÿé", "é")
    with pytest.raises(UnicodeDecodeError):
        instance.execute(["bin"])


@pytest.mark.parametrize(
    "make_payload, expected",
    [
        (lambda: "héllo", "héllo".encode()),
        (lambda: b"\x00bytes", b"\x00bytes"),
        (lambda: bytearray(b"array"), b"array"),
        (lambda: io.BytesIO(b"x" * 200_000), b"x" * 200_000),
        (lambda: io.StringIO("text file"), b"text file"),
        (lambda: (c for c in ["a", b"b", "c"]), b"abc"),
        (lambda: ["list ", "of chunks"], b"list of chunks"),
        (lambda: BinaryMessage(b"binmsg"), b"binmsg"),
        (lambda: TextMessage("textmsg"), b"textmsg"),
    ],
    ids=[
        "str",
        "bytes",
        "bytearray",
        "bytesio",
        "stringio",
        "generator",
        "list",
        "bin",
        "text",
    ],
)
def test_stdin_payloads(instance: Any, make_payload: Any, expected: bytes) -> None:
    result = instance.execute(["cat"], stdin_payload=make_payload(), decode=False)
    assert result == (0, expected, b"")


def test_stdin_encoding(instance: Any) -> None:
    result = instance.execute(
        ["cat"], stdin_payload="é", stdin_encoding="latin-1", decode=False
    )
    assert result.stdout == b"\xe9"


def test_handlers_get_chunks_and_whole_characters(instance: Any, fake: FakeLXD) -> None:
    text = "€" * 50_000  # 150 kB: the fake sends 64 KiB messages, splitting a "€"
    fake.on_exec(["euro"], stdout=text, stderr="warn\n")
    out: list[str] = []
    err: list[str] = []
    result = instance.execute(
        ["euro"], stdout_handler=out.append, stderr_handler=err.append
    )
    assert result == (0, "", "")
    assert len(out) >= 3 and "".join(out) == text and err == ["warn\n"]


def test_handler_with_decode_false_gets_bytes(instance: Any, fake: FakeLXD) -> None:
    fake.on_exec(["x"], stdout=b"\xff")
    chunks: list[bytes] = []
    instance.execute(["x"], decode=False, stdout_handler=chunks.append)
    assert chunks == [b"\xff"]


def test_handler_error_is_raised_after_the_command_ended(
    instance: Any, fake: FakeLXD
) -> None:
    rule = fake.on_exec(["x"], stdout="data")

    def broken(chunk: str) -> None:
        raise RuntimeError("handler broke")

    with pytest.raises(RuntimeError, match="handler broke"):
        instance.execute(["x"], stdout_handler=broken)
    assert len(rule.calls) == 1


def test_stdin_generator_error_is_raised_after_the_command_ended(
    instance: Any, fake: FakeLXD
) -> None:
    rule = fake.on_exec(["cat"], lambda call: (0, call.stdin, b""))

    def payload() -> Any:
        yield "partial"
        raise ValueError("payload broke")

    with pytest.raises(ValueError, match="payload broke"):
        instance.execute(["cat"], stdin_payload=payload())
    assert rule.calls[0].stdin == b"partial"  # the command got its input's end


def test_command_not_found_raises_lxds_error(instance: Any) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="Command not found"):
        instance.execute(["no-such-command"])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"commands": "echo hi"}, TypeError, "list of strings"),
        ({"commands": []}, ValueError, "non-empty"),
        ({"commands": ["echo", 1]}, ValueError, "list of strings"),
        ({"commands": ["x"], "environment": ["A=1"]}, TypeError, "environment"),
        (
            {"commands": ["x"], "environment": {"A": 1}},
            TypeError,
            r"environment\['A'\] must be a string, not int 1",
        ),
        ({"commands": ["x"], "user": "root"}, TypeError, "user"),
        ({"commands": ["x"], "group": -1}, ValueError, "group"),
        ({"commands": ["x"], "cwd": "tmp"}, ValueError, "absolute"),
        ({"commands": ["x"], "stdin_payload": 3}, TypeError, "stdin_payload"),
        (
            {"commands": ["x"], "stdin_payload": "a", "record_output": True},
            ValueError,
            "record_output",
        ),
    ],
)
def test_bad_arguments(
    instance: Any, fake: FakeLXD, kwargs: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        instance.execute(**kwargs)
    if "stdin_payload" not in kwargs or "record_output" in kwargs:
        assert fake.calls("POST", EXEC) == []  # refused before any request


# -- record-output -------------------------------------------------------------
def test_record_output_fetches_and_deletes_the_logs(
    instance: Any, fake: FakeLXD
) -> None:
    fake.on_exec(["sh"], lambda call: (2, "out\n", "err\n"))
    seen: list[str] = []
    result = instance.execute(["sh"], record_output=True, stdout_handler=seen.append)
    assert result == (2, "out\n", "err\n") and seen == ["out\n"]
    assert fake.last_body("POST", EXEC) == {
        "command": ["sh"],
        "environment": {},
        "wait-for-websocket": False,
        "interactive": False,
        "record-output": True,
    }
    gets = [c.path for c in fake.calls("GET") if "/logs/" in c.path]
    deletes = [c.path for c in fake.calls("DELETE") if "/logs/" in c.path]
    assert len(gets) == 2 and sorted(gets) == sorted(deletes)
    assert all(p.startswith("/1.0/instances/c1/logs/exec_") for p in gets)


def test_record_output_decode_false(instance: Any, fake: FakeLXD) -> None:
    fake.on_exec(["bin"], stdout=b"\x00\xff")
    assert instance.execute(["bin"], record_output=True, decode=False) == (
        0,
        b"\x00\xff",
        b"",
    )


# -- timeout -------------------------------------------------------------------
def test_timeout_signals_closes_and_raises(
    instance: Any, fake: FakeLXD, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    fake.on_exec(["sleep"], lambda call: release.wait(30) and None)
    monkeypatch.setattr(_exec, "_GRACE", 0.05)
    signals: list[int] = []
    monkeypatch.setattr(
        "pylxd._websocket_exec._ControlWebsocket.signal",
        lambda self, s: signals.append(s),
    )
    try:
        with pytest.raises(exceptions.ExecTimeout) as info:
            instance.execute(["sleep", "60"], timeout=0.2, timeout_signal=15)
    finally:
        release.set()
    err: exceptions.ExecTimeout = info.value
    assert signals == [15]
    assert isinstance(err, TimeoutError) and isinstance(
        err, exceptions.ClientConnectionFailed
    )
    assert not isinstance(err, exceptions.LXDAPIException)
    assert err.timeout == 0.2 and err.operation_id and "0.2 s" in str(err)
    wait = fake.calls("GET", f"/1.0/operations/{err.operation_id}/wait")[0]
    assert wait.query["timeout"] == "1"  # LXD counts whole seconds


def test_timeout_with_record_output(instance: Any, fake: FakeLXD) -> None:
    fake.reply_next(
        Reply(
            200,
            json.dumps(
                {
                    "type": "sync",
                    "metadata": {"id": "op1", "status": "Running", "status_code": 103},
                }
            ).encode(),
            {"Content-Type": "application/json"},
        ),
        method="GET",
    )
    fake.on_exec(["x"], stdout="")
    with pytest.raises(exceptions.ExecTimeout, match="keeps running"):
        instance.execute(["x"], record_output=True, timeout=3)


# -- the seams ---------------------------------------------------------------------
class _FakeStdin(_StdinWebsocket):
    """Records what would be sent; never touches a socket."""

    made: list[Any] = []

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__("ws+unix:///nonexistent", **kwargs)
        self.sent: list[tuple[Any, bool]] = []
        _FakeStdin.made.append(self)

    def connect(self) -> None:
        pass

    def send(self, payload: Any, binary: bool = False) -> None:
        self.sent.append((payload, binary))


class _FakeCommand(_CommandWebsocketClient):
    """Plays scripted messages instead of reading a socket."""

    script: dict[str, list[bytes]] = {}

    def __init__(self, manager: Any, url: str, **kwargs: Any) -> None:
        super().__init__(manager, "ws+unix:///nonexistent", **kwargs)

    def connect(self) -> None:
        pass

    def run(self) -> None:
        secret = self.resource.split("secret=")[1]
        for data in self.script.get(secret, []):
            self.received_message(BinaryMessage(data))
        self.received_message(TextMessage(b""))
        self.closed(1000)


@pytest.fixture
def seams(monkeypatch: pytest.MonkeyPatch, fake: FakeLXD) -> Iterator[None]:
    import pylxd.models.instance as instance_module

    _FakeStdin.made = []
    monkeypatch.setattr(instance_module, "_StdinWebsocket", _FakeStdin, raising=False)
    monkeypatch.setattr(
        instance_module, "_CommandWebsocketClient", _FakeCommand, raising=False
    )
    yield


def _scripted(fake: FakeLXD, stdout: list[bytes], stderr: list[bytes]) -> None:
    """Make the next exec finish at once, with fds whose secrets name the script."""
    op = fake.operation(
        "Executing command",
        metadata={
            "fds": {"0": "in", "1": "out", "2": "err", "control": "ctl"},
            "return": 7,
        },
        op_class="websocket",
    )
    _FakeCommand.script = {"out": stdout, "err": stderr}
    fake.reply_next(fake.async_reply(op), method="POST", path=EXEC)


def test_execute_uses_the_classes_named_in_instance_py(
    instance: Any, fake: FakeLXD, seams: None
) -> None:
    _scripted(fake, [b"a", b"b"], [b"e"])
    assert instance.execute(["x"], stdin_payload="in") == (7, "ab", "e")
    (stdin,) = _FakeStdin.made
    assert stdin.resource.endswith("/websocket?secret=in")
    assert stdin.sent == [(b"in", True), ("", False)]  # payload, then end of input


def test_execute_with_mocked_websockets_like_pylxds_tests(
    instance: Any, fake: FakeLXD, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pylxd.models.instance as instance_module

    fake_websocket = mock.Mock()
    fake_websocket.data = "test\n"
    monkeypatch.setattr(
        instance_module,
        "_StdinWebsocket",
        mock.Mock(return_value=fake_websocket),
        raising=False,
    )
    monkeypatch.setattr(
        instance_module,
        "_CommandWebsocketClient",
        mock.Mock(return_value=fake_websocket),
        raising=False,
    )
    _scripted(fake, [], [])
    result = instance.execute(["echo", "test"])
    assert result == (7, "test\n", "test\n")


# -- streaming -----------------------------------------------------------------------
def test_execute_stream_yields_chunks_then_exit_code(
    instance: Any, fake: FakeLXD
) -> None:
    fake.on_exec(["x"], lambda call: (5, b"o" * 100_000, b"e"))
    got: dict[str, bytes] = {"stdout": b"", "stderr": b""}
    with instance.execute_stream(["x"]) as run:
        for fd, chunk in run:
            got[fd] += chunk
        assert run.exit_code == 5
    assert got == {"stdout": b"o" * 100_000, "stderr": b"e"}


def test_execute_stream_exit_code_drops_unread_output(
    instance: Any, fake: FakeLXD
) -> None:
    fake.on_exec(["x"], lambda call: (0, b"o" * 1_000_000, b""))
    run = instance.execute_stream(["x"], decode=True)
    assert run.exit_code == 0 and list(run) == []
    run.close()


# -- interactive -------------------------------------------------------------------
def test_raw_interactive_execute(instance: Any, fake: FakeLXD) -> None:
    urls = instance.raw_interactive_execute(["/bin/sh"], environment={"TERM": "xterm"})
    body = fake.last_body("POST", EXEC)
    assert body == {
        "command": ["/bin/sh"],
        "environment": {"TERM": "xterm"},
        "wait-for-websocket": True,
        "interactive": True,
    }
    op = fake.calls("POST", EXEC)
    assert op and set(urls) == {"name", "ws", "control"} and urls["name"] == "c1"
    assert (
        urls["ws"].startswith("/1.0/operations/") and "/websocket?secret=" in urls["ws"]
    )
    assert urls["control"].split("?")[0] == urls["ws"].split("?")[0]


def _held(result: Any) -> tuple[threading.Event, Any]:
    """An exec handler that answers once released (the fake runs an
    interactive command as soon as its data websocket is connected)."""
    release = threading.Event()
    return release, lambda call: result if release.wait(10) else None


def test_interactive_session_reads_output_and_exit_code(
    instance: Any, fake: FakeLXD
) -> None:
    release, handler = _held((3, "hello\n", ""))
    fake.on_exec(["sh"], handler)
    with instance.interactive_execute(["sh"], width=100, height=30) as session:
        release.set()
        assert session.read_until("hello", timeout=10) == b"hello"
        assert session.read(timeout=10) == b"\n"
        assert session.read(timeout=10) == b""
        assert session.exit_code == 3
    assert fake.last_body("POST", EXEC) == {
        "command": ["sh"],
        "environment": {},
        "wait-for-websocket": True,
        "interactive": True,
        "width": 100,
        "height": 30,
    }


def test_interactive_session_control_messages(instance: Any, fake: FakeLXD) -> None:
    sent: list[str] = []
    release, handler = _held(0)
    fake.on_exec(["sh"], handler)
    session = instance.interactive_execute(["sh"])
    release.set()
    session.control.send = lambda payload, binary=False: sent.append(payload)
    session.resize(120, 40)
    session.signal(15)
    assert [json.loads(s) for s in sent] == [
        {"command": "window-resize", "args": {"width": "120", "height": "40"}},
        {"command": "signal", "signal": 15},
    ]
    session.close()
    with pytest.raises(ValueError, match="closed"):
        session.write("x")


def test_read_until_end_of_output(instance: Any, fake: FakeLXD) -> None:
    release, handler = _held((0, "abc", ""))
    fake.on_exec(["sh"], handler)
    session = instance.interactive_execute(["sh"])
    release.set()
    with pytest.raises(EOFError, match="'zzz'"):
        session.read_until("zzz", timeout=10)
    session.close()


# -- console -------------------------------------------------------------------------
def test_console_log_and_clear(instance: Any, fake: FakeLXD) -> None:
    fake.reply_next(fake.raw(b"boot log\r\n", "text/plain"), method="GET")
    assert instance.console_log() == "boot log\r\n"
    assert fake.calls("GET")[-1].path == "/1.0/instances/c1/console"
    fake.reply_next(fake.sync(None), method="DELETE")
    instance.clear_console_log()
    assert fake.calls("DELETE")[-1].path == "/1.0/instances/c1/console"
    fake.fail_next(500, "open : no such file or directory", method="GET")
    assert instance.console_log() == ""
    fake.fail_next(500, "other failure", method="GET")
    with pytest.raises(exceptions.LXDAPIException, match="other failure"):
        instance.console_log()


def test_interactive_console_request(instance: Any, fake: FakeLXD) -> None:
    op = fake.operation(
        "Showing console",
        metadata={"fds": {"0": "nope", "control": "nope2"}},
        status="Running",
        op_class="websocket",
    )
    fake.reply_next(
        fake.async_reply(op), method="POST", path="/1.0/instances/c1/console"
    )
    with pytest.raises(
        exceptions.ClientConnectionFailed, match="Cannot open websocket"
    ):
        instance.interactive_console(width=90, height=20)
    assert fake.last_body("POST", "/1.0/instances/c1/console") == {
        "type": "console",
        "width": 90,
        "height": 20,
    }


def test_console_wait_treats_lxds_detach_error_as_the_end(client: Any) -> None:
    from pylxd.models.exec_streams import InteractiveSession

    response = mock.Mock(status_code=500)
    response.json.return_value = {
        "type": "sync",
        "metadata": {"err": "write /dev/pts/ptmx: file already closed"},
    }
    failing = mock.Mock(side_effect=exceptions.LXDAPIException(response))
    with mock.patch.object(client.operations, "wait_for_operation", failing):
        console = InteractiveSession(client, "op1", {}, console=True)
        assert console.wait(timeout=3) is None
        failing.assert_called_once_with("op1", timeout=3.0)
        command = InteractiveSession(client, "op2", {})
        with pytest.raises(exceptions.LXDAPIException, match="already closed"):
            command.wait()


def test_execute_stream_close_unblocks_a_full_queue(
    instance: Any, fake: FakeLXD
) -> None:
    fake.on_exec(["x"], lambda call: (0, b"o" * 2_000_000, b""))
    run = instance.execute_stream(["x"])
    fd, chunk = next(run)  # the readers are blocked on the bounded queue now
    run.close()
    assert list(run) == []

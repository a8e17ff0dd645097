"""Exec against the real LXD, over the Unix socket and over HTTPS.

Every behaviour runs on both transports (the ``instance`` fixture is
parametrised): exit codes, separate streams, binary and 50 MB output, each
stdin payload type, environment/user/cwd, handlers, timeout, streaming,
record-output, interactive sessions (resize, signal) and the refusal of a
websocket to a server whose certificate is not the expected one.
"""

from __future__ import annotations

import io
import logging
import signal
import threading
import time
from typing import Any, Iterator

import pytest
from ws4py.messaging import BinaryMessage, TextMessage

from integration.conftest import WAIT, busybox_container, https_client_for
from pylxd import Client, exceptions
from pylxd._websocket_exec import _ExecSession
from pylxd.models.exec_streams import InteractiveSession

BIG = 50 * 1000 * 1000


@pytest.fixture(scope="module")
def exec_container(client: Client, image_alias: str) -> Iterator[str]:
    """One running busybox container shared by the exec tests (deleted after)."""
    with busybox_container(client, image_alias, "pylxd-it-exec", start=True) as name:
        yield name


@pytest.fixture(params=["unix", "https"])
def instance(
    request: pytest.FixtureRequest,
    exec_container: str,
    client: Client,
    https_client: Client,
) -> Any:
    """The shared container, reached over the Unix socket or over HTTPS."""
    chosen = client if request.param == "unix" else https_client
    return chosen.instances.get(exec_container)


def test_exit_codes(instance: Any) -> None:
    for code in (0, 1, 3, 255):
        assert instance.execute(["sh", "-c", f"exit {code}"]).exit_code == code
    assert instance.execute(["false"]).exit_code == 1


def test_stdout_and_stderr_are_separate(instance: Any) -> None:
    result = instance.execute(["sh", "-c", "echo out; echo err >&2; echo out2; exit 3"])
    assert result == (3, "out\nout2\n", "err\n")
    assert (result.exit_code, result.stdout, result.stderr) == (
        3,
        "out\nout2\n",
        "err\n",
    )


def test_binary_output_with_decode_false(instance: Any) -> None:
    payload = bytes(range(256)) * 4096
    result = instance.execute(["cat"], stdin_payload=payload, decode=False)
    assert result.exit_code == 0
    assert isinstance(result.stdout, bytes) and result.stdout == payload
    assert result.stderr == b""


def test_50mb_of_output_is_complete(instance: Any) -> None:
    result = instance.execute(["head", "-c", str(BIG), "/dev/zero"], decode=False)
    assert result.exit_code == 0
    assert len(result.stdout) == BIG and result.stdout.count(0) == BIG


def test_large_ordered_text_output_is_complete(instance: Any) -> None:
    lines = 1_000_000
    result = instance.execute(["seq", "1", str(lines)])
    assert result.exit_code == 0
    expected = "".join(f"{i}\n" for i in range(1, lines + 1))
    assert result.stdout == expected


@pytest.mark.parametrize(
    "make_payload, expected",
    [
        (lambda: "text ünïcode\n", "text ünïcode\n"),
        (lambda: b"raw bytes\n", "raw bytes\n"),
        (lambda: io.BytesIO(b"binary file\n" * 10000), "binary file\n" * 10000),
        (lambda: io.StringIO("from a text file\n"), "from a text file\n"),
        (
            lambda: (f"line {i}\n" for i in range(1000)),
            "".join(f"line {i}\n" for i in range(1000)),
        ),
        (lambda: (c for c in [b"mixed ", "chunks\n"]), "mixed chunks\n"),
        (
            lambda: BinaryMessage(b"a ws4py binary message\n"),
            "a ws4py binary message\n",
        ),
        (lambda: TextMessage("a ws4py text message\n"), "a ws4py text message\n"),
    ],
    ids=[
        "str",
        "bytes",
        "binary-file",
        "text-file",
        "generator",
        "mixed",
        "binmsg",
        "textmsg",
    ],
)
def test_stdin_payload_types(instance: Any, make_payload: Any, expected: str) -> None:
    assert instance.execute(["cat"], stdin_payload=make_payload()) == (0, expected, "")


def test_stdin_from_a_real_file(instance: Any, tmp_path: Any) -> None:
    path = tmp_path / "input.bin"
    path.write_bytes(b"x" * 3_000_000)
    with open(path, "rb") as handle:
        result = instance.execute(["wc", "-c"], stdin_payload=handle)
    assert result.exit_code == 0 and result.stdout.strip() == "3000000"


def test_stdin_encoding(instance: Any) -> None:
    result = instance.execute(
        ["od", "-An", "-tx1"], stdin_payload="é", stdin_encoding="latin-1"
    )
    assert result.stdout.split() == ["e9"]


def test_no_stdin_means_end_of_input(instance: Any) -> None:
    assert instance.execute(["cat"]) == (0, "", "")


def test_environment_user_group_and_cwd(instance: Any) -> None:
    result = instance.execute(
        ["sh", "-c", 'echo "$FOO|$(id -u)|$(id -g)|$(pwd)"'],
        environment={"FOO": "bar baz"},
        user=1234,
        group=4321,
        cwd="/tmp",
    )
    assert result == (0, "bar baz|1234|4321|/tmp\n", "")
    assert instance.execute(["pwd"]).stdout == "/root\n"


def test_handlers_receive_chunks_as_they_arrive(instance: Any) -> None:
    out: list[str] = []
    err: list[str] = []
    result = instance.execute(
        ["sh", "-c", "seq 1 20000; echo oops >&2"],
        stdout_handler=out.append,
        stderr_handler=err.append,
    )
    assert result.exit_code == 0
    assert "".join(out) == "".join(f"{i}\n" for i in range(1, 20001))
    assert "".join(err) == "oops\n"
    assert result.stdout == "" and result.stderr == ""


def test_handler_gets_whole_characters_even_when_split(instance: Any) -> None:
    chunks: list[str] = []
    # 3-byte characters: some websocket messages end in the middle of one.
    result = instance.execute(
        [
            "sh",
            "-c",
            "for i in $(seq 1 3000); do printf '€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€'; done",
        ],
        stdout_handler=chunks.append,
    )
    assert result.exit_code == 0
    assert "".join(chunks) == "€" * 33 * 3000


def test_handler_error_is_raised_after_the_command(instance: Any) -> None:
    def broken(chunk: str) -> None:
        raise RuntimeError("handler broke")

    with pytest.raises(RuntimeError, match="handler broke"):
        instance.execute(["seq", "1", "100000"], stdout_handler=broken)


def test_timeout_kills_the_command_and_keeps_partial_output(instance: Any) -> None:
    started = time.monotonic()
    with pytest.raises(exceptions.ExecTimeout) as info:
        instance.execute(["sh", "-c", "echo started; exec sleep 60"], timeout=1)
    assert time.monotonic() - started < 15
    err = info.value
    assert isinstance(err, TimeoutError)
    assert isinstance(err, exceptions.ClientConnectionFailed)
    assert err.timeout == 1 and err.stdout == "started\n"
    operation = instance.client.operations.wait_for_operation(
        err.operation_id, timeout=30
    )
    assert operation.metadata["return"] == 128 + signal.SIGKILL
    assert "sleep 60" not in instance.execute(["ps"]).stdout


def test_timeout_not_reached(instance: Any) -> None:
    assert instance.execute(["echo", "quick"], timeout=30) == (0, "quick\n", "")


def test_execute_stream(instance: Any) -> None:
    seen: dict[str, str] = {"stdout": "", "stderr": ""}
    with instance.execute_stream(
        ["sh", "-c", "echo a; echo b >&2; seq 1 1000; exit 4"], decode=True
    ) as run:
        for fd, chunk in run:
            seen[fd] += chunk
        assert run.exit_code == 4
    assert seen["stdout"] == "a\n" + "".join(f"{i}\n" for i in range(1, 1001))
    assert seen["stderr"] == "b\n"


def test_execute_stream_signal(instance: Any) -> None:
    with instance.execute_stream(
        [
            "sh",
            "-c",
            "trap 'echo bye; exit 9' TERM; echo ready; while :; do sleep 0.1; done",
        ]
    ) as run:
        fd, chunk = next(run)
        assert (fd, chunk) == ("stdout", b"ready\n")
        run.signal(signal.SIGTERM)
        assert b"".join(c for _, c in run) == b"bye\n"
        assert run.exit_code == 9


def test_record_output(instance: Any) -> None:
    result = instance.execute(
        ["sh", "-c", "echo out; echo err >&2; exit 2"], record_output=True
    )
    assert result == (2, "out\n", "err\n")
    binary = instance.execute(
        ["head", "-c", "100000", "/dev/zero"], record_output=True, decode=False
    )
    assert binary == (0, bytes(100000), b"")


def test_command_not_found(instance: Any) -> None:
    try:
        result = instance.execute(["/does/not/exist"])
    except exceptions.LXDAPIException as err:  # LXD may fail the operation instead
        assert "not found" in str(err) or "no such file" in str(err).lower()
    else:
        assert result.exit_code in (126, 127)


def test_interactive_session_resize_and_signal(instance: Any) -> None:
    script = (
        'stty size; read line; echo "got:$line"; '
        'trap "stty size" WINCH; trap "echo TERM-caught; sleep 1; exit 5" TERM; '
        "echo ready; while :; do sleep 0.1; done"
    )
    with instance.interactive_execute(
        ["sh", "-c", script], width=100, height=30
    ) as session:
        assert session.read_until("30 100", timeout=10).endswith(b"30 100")
        session.write("hello\n")
        assert b"got:hello" in session.read_until("ready", timeout=10)
        session.resize(120, 40)
        session.read_until("40 120", timeout=10)
        session.signal(signal.SIGTERM)
        session.read_until("TERM-caught", timeout=10)
        assert session.wait(timeout=30) == 5
        assert session.exit_code == 5


def test_interactive_close_kills_the_command(instance: Any) -> None:
    session = instance.interactive_execute(["sleep", "60"])
    session.close()
    # LXD closes the pty (the command gets SIGHUP) and kills what is left
    # (SIGKILL): which one ends it first is a race inside LXD.
    assert session.wait(timeout=30) in (128 + signal.SIGHUP, 128 + signal.SIGKILL)


def test_raw_interactive_execute_returns_usable_urls(instance: Any) -> None:
    # LXD 5.0 may drop what a pty command prints just before it exits: linger.
    urls = instance.raw_interactive_execute(
        ["sh", "-c", "echo raw-ok; sleep 1; exit 6"]
    )
    assert set(urls) == {"name", "ws", "control"} and urls["name"] == instance.name
    path, _, secret = urls["ws"].partition("?secret=")
    assert path.startswith("/1.0/operations/") and path.endswith("/websocket")
    control_path, _, control_secret = urls["control"].partition("?secret=")
    assert (
        control_path == path and secret and control_secret and secret != control_secret
    )
    operation_id = path.split("/")[3]
    session = InteractiveSession(
        instance.client, operation_id, {"0": secret, "control": control_secret}
    ).open()
    assert b"raw-ok" in session.read_until("raw-ok", timeout=10)
    assert session.wait(timeout=30) == 6


def test_bad_arguments_are_refused_before_any_request(instance: Any) -> None:
    with pytest.raises(TypeError, match="list of strings"):
        instance.execute("echo hi")
    with pytest.raises(TypeError, match="environment"):
        instance.execute(["true"], environment={"A": 1})
    with pytest.raises(ValueError, match="cwd"):
        instance.execute(["true"], cwd="relative")
    with pytest.raises(TypeError, match="stdin_payload"):
        instance.execute(["cat"], stdin_payload=12)


# -- TLS: the websocket must verify the server like the HTTP session ----------
def test_exec_websocket_to_a_server_with_the_wrong_certificate_is_refused(
    lxd_env: dict[str, Any], https_client: Client, exec_container: str
) -> None:
    instance = https_client.instances.get(exec_container)
    wrong = https_client_for(lxd_env, "main")
    wrong.api.session.verify = lxd_env["second"]["server_cert"]
    operation_id, fds = instance._start_exec(["echo", "hi"], interactive=False)
    with pytest.raises(
        exceptions.ClientConnectionFailed, match="certificate verify failed"
    ):
        _ExecSession(wrong, operation_id, fds).open()
    # The right certificate is accepted, and the operation completes.
    session = _ExecSession(https_client, operation_id, fds).open()
    operation = https_client.operations.wait_for_operation(operation_id, timeout=WAIT)
    assert session.drain(30) == ("hi\n", "") and operation.metadata["return"] == 0


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_exec_websocket_verify_false_still_works(
    lxd_env: dict[str, Any], exec_container: str
) -> None:
    cert = (lxd_env["client_cert"], lxd_env["client_key"])
    insecure = Client(endpoint=lxd_env["main"]["https"], cert=cert, verify=False)
    assert insecure.instances.get(exec_container).execute(["echo", "x"]).stdout == "x\n"


# -- the stress test -------------------------------------------------------------
def test_200_consecutive_execs_over_https_lose_nothing(
    https_client: Client,
    exec_container: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    instance = https_client.instances.get(exec_container)
    thread_errors: list[Any] = []
    previous_hook = threading.excepthook
    threading.excepthook = thread_errors.append
    caplog.set_level(logging.WARNING)
    try:
        lost = []
        for i in range(200):
            result = instance.execute(
                ["sh", "-c", f"echo out-{i}; echo err-{i} >&2; exit {i % 7}"]
            )
            if result != (i % 7, f"out-{i}\n", f"err-{i}\n"):
                lost.append((i, result))
    finally:
        threading.excepthook = previous_hook
    captured = capfd.readouterr()
    assert lost == []
    assert thread_errors == []
    assert "Traceback" not in captured.err and captured.err == ""
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []

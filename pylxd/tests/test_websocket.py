"""The ws4py clients of ``pylxd._websocket``, fed messages and frames directly.

No daemon and no network: frames go through socket pairs, TLS settings are
checked on the ``SSLContext`` built for a client, and the exec session is
driven with fake stream classes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import socket
import ssl
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from ws4py.framing import OPCODE_BINARY, OPCODE_CLOSE, OPCODE_TEXT, Frame
from ws4py.messaging import BinaryMessage, TextMessage

from pylxd import _websocket
from pylxd._transport import get_session_for_url
from pylxd._websocket import _WebsocketClient, _ws_exclude_origin, tls_for
from pylxd._websocket_exec import (
    _CommandWebsocketClient,
    _ExecSession,
    _PtyWebsocket,
    _StdinWebsocket,
)
from pylxd.tests._certs import write_cert

URL = "ws+unix:///nonexistent.socket"


def _frame(opcode: int, body: bytes) -> bytes:
    return Frame(opcode=opcode, body=body, fin=1).build()  # type: ignore[no-any-return]


def _serve(sock: socket.socket, data: bytes, close: bool = True) -> threading.Thread:
    """Write ``data`` in small pieces from a thread, then close (abruptly)."""

    def write() -> None:
        for start in range(0, len(data), 1000):
            sock.sendall(data[start : start + 1000])
        if close:
            sock.close()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def pair() -> Any:
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def _attached(stream: Any, sock: socket.socket) -> Any:
    stream.sock.close()
    stream.sock = sock
    return stream


# -- output streams ----------------------------------------------------------
def test_command_client_buffers_until_the_empty_message() -> None:
    stream = _CommandWebsocketClient(None, URL)
    stream.received_message(BinaryMessage(b"ab"))
    stream.received_message(BinaryMessage(b"c\xc3\xa9"))
    assert not stream.finished
    stream.received_message(TextMessage(b""))
    assert stream.finished and stream.data == "abcé"
    raw = _CommandWebsocketClient(None, URL, decode=False)
    raw.received_message(BinaryMessage(b"\xff"))
    assert raw.data == b"\xff"
    latin = _CommandWebsocketClient(None, URL, encoding="latin-1")
    latin.received_message(BinaryMessage(b"\xe9"))
    assert latin.data == "é"


def test_command_client_handler_decodes_split_characters() -> None:
    chunks: list[str] = []
    stream = _CommandWebsocketClient(None, URL, handler=chunks.append)
    stream.received_message(BinaryMessage(b"x\xe2\x82"))
    stream.received_message(BinaryMessage(b"\xac"))
    stream.closed(1000)
    assert chunks == ["x", "€"] and stream.data == ""


def test_command_client_handler_errors_are_kept_not_raised() -> None:
    calls: list[str] = []

    def broken(chunk: str) -> None:
        calls.append(chunk)
        raise ValueError("bad handler")

    stream = _CommandWebsocketClient(None, URL, handler=broken)
    stream.received_message(BinaryMessage(b"a"))
    stream.received_message(BinaryMessage(b"b"))  # drained, not handled
    assert calls == ["a"] and isinstance(stream.error, ValueError)
    incomplete = _CommandWebsocketClient(None, URL, handler=calls.append)
    incomplete.received_message(BinaryMessage(b"\xe2"))
    incomplete.closed(1006)
    assert isinstance(incomplete.error, UnicodeDecodeError)


def test_run_reads_frames_split_across_writes(pair: Any) -> None:
    ours, theirs = pair
    payload = bytes(range(256)) * 2000  # a 512 kB frame, in 1 kB writes
    data = _frame(OPCODE_BINARY, b"first") + _frame(OPCODE_BINARY, payload)
    data += _frame(OPCODE_TEXT, b"")
    writer = _serve(theirs, data, close=False)
    stream = _attached(_CommandWebsocketClient(None, URL, decode=False), ours)
    stream.run()
    writer.join(5)
    assert stream.finished and stream.data == b"first" + payload


def test_abrupt_close_is_the_end_of_the_stream(
    pair: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    ours, theirs = pair
    caplog.set_level(logging.DEBUG)
    _serve(theirs, _frame(OPCODE_BINARY, b"all of it"))  # then closed, no frame
    stream = _attached(_CommandWebsocketClient(None, URL, decode=False), ours)
    stream.run()
    assert stream.data == b"all of it" and stream.finished
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    "error",
    [
        ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
        ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed"),
        BrokenPipeError(32, "Broken pipe"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=["SSLEOFError", "SSLZeroReturnError", "BrokenPipe", "ConnectionReset"],
)
def test_tls_and_socket_errors_at_the_end_are_the_end(
    error: Exception,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    first = _frame(OPCODE_BINARY, b"data before the close")

    class EndingSocket:
        def __init__(self) -> None:
            self.sent = False

        def recv_into(self, buffer: bytearray) -> int:
            if self.sent:
                raise error
            self.sent = True
            buffer[: len(first)] = first
            return len(first)

        def __getattr__(self, name: str) -> Any:
            return lambda *args: None

    caplog.set_level(logging.DEBUG)
    stream = _CommandWebsocketClient(None, URL, decode=False)
    stream.sock.close()
    stream.sock = EndingSocket()
    stream.run()
    assert stream.data == b"data before the close" and stream.finished
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert capfd.readouterr().err == ""


def test_closing_frame_ends_the_stream_and_is_answered(pair: Any) -> None:
    ours, theirs = pair
    _serve(
        theirs,
        _frame(OPCODE_BINARY, b"x") + _frame(OPCODE_CLOSE, b"\x03\xe8"),
        close=False,
    )
    stream = _attached(_CommandWebsocketClient(None, URL, decode=False), ours)
    stream.run()
    assert stream.data == b"x"
    answer = theirs.recv(100)
    assert answer[0] & 0x0F == OPCODE_CLOSE  # ws4py answered the closing frame


# -- stdin ---------------------------------------------------------------------
class _Recording(_StdinWebsocket):
    def __init__(self, payload: Any, **kwargs: Any) -> None:
        super().__init__(URL, payload=payload, **kwargs)
        self.sent: list[tuple[Any, bool]] = []

    def send(self, payload: Any, binary: bool = False) -> None:
        self.sent.append((payload, binary))


@pytest.mark.parametrize(
    "payload, messages",
    [
        (None, []),
        ("é", [b"\xc3\xa9"]),
        (b"bytes", [b"bytes"]),
        (io.BytesIO(b"x" * 70000), [b"x" * 65536, b"x" * 4464]),
        ((c for c in ["a", b"", b"b"]), [b"a", b"b"]),
        (TextMessage("text message"), [b"text message"]),
        (BinaryMessage(b"binary message"), [b"binary message"]),
    ],
    ids=["none", "str", "bytes", "file", "generator", "textmsg", "binmsg"],
)
def test_stdin_sends_binary_messages_then_an_empty_text(
    payload: Any, messages: list[bytes]
) -> None:
    stdin = _Recording(payload)
    stdin.send_payload()
    assert stdin.sent == [(m, True) for m in messages] + [("", False)]


def test_stdin_encoding_and_bad_payloads() -> None:
    stdin = _Recording("é", encoding="latin-1")
    stdin.send_payload()
    assert stdin.sent[0] == (b"\xe9", True)
    with pytest.raises(TypeError, match="stdin_payload must be"):
        _Recording(42)
    bad_chunk = _Recording([1])
    with pytest.raises(TypeError, match="chunks must be str or bytes"):
        bad_chunk.send_payload()


def test_stdin_payload_error_still_ends_the_input() -> None:
    def failing() -> Any:
        yield b"first"
        raise OSError("disk gone")

    stdin = _Recording(failing())
    with pytest.raises(OSError, match="disk gone"):
        stdin.send_payload()
    assert stdin.sent == [(b"first", True), ("", False)]


def test_stdin_closed_by_the_command_ends_quietly() -> None:
    stdin = _Recording((b"x" for _ in range(3)))

    def refuse(payload: Any, binary: bool = False) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    stdin.send = refuse  # type: ignore[method-assign]
    stdin.send_payload()  # no exception: the command stopped reading


# -- events and pty ------------------------------------------------------------------
def test_events_client_collects_json_messages() -> None:
    ws = _WebsocketClient(URL)
    ws.handshake_ok()
    ws.received_message(TextMessage(b'{"type": "lifecycle", "metadata": {}}'))
    assert ws.messages == [{"type": "lifecycle", "metadata": {}}]


def test_pty_reads_chunks_and_times_out(pair: Any) -> None:
    ours, theirs = pair
    pty = _attached(_PtyWebsocket(URL), ours)
    theirs.sendall(_frame(OPCODE_BINARY, b"prompt$ "))
    assert pty.read_chunk(5) == b"prompt$ "
    with pytest.raises(TimeoutError):
        pty.read_chunk(0.01)
    theirs.sendall(_frame(OPCODE_BINARY, b"bye") + _frame(OPCODE_TEXT, b""))
    assert pty.read_chunk(5) == b"bye"
    assert pty.read_chunk(5) == b"" and pty.ended


def test_ws_exclude_origin() -> None:
    class Old:
        def __init__(self, url: str, ssl_options: Any = None) -> None:
            pass

    assert _ws_exclude_origin(_WebsocketClient) == {"exclude_headers": ["Origin"]}
    assert _ws_exclude_origin(Old) == {}
    assert "Origin" not in dict(_WebsocketClient(URL).handshake_headers)


# -- TLS --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return write_cert(tmp_path_factory.mktemp("certs"), "client")


def _https_client(verify: Any, cert: Any) -> Any:
    url = "https://127.0.0.1:8443/1.0"
    session = get_session_for_url(url, verify=verify, cert=cert)
    api = SimpleNamespace(scheme="https", session=session, _api_endpoint=url)
    return SimpleNamespace(api=api, cert=cert, websocket_url="wss://127.0.0.1:8443")


def test_no_tls_on_the_unix_socket() -> None:
    api = SimpleNamespace(scheme="http+unix")
    assert tls_for(SimpleNamespace(api=api)) == (None, None)  # type: ignore[arg-type]


def test_pinned_server_cert_is_verified_and_client_cert_presented(
    cert_files: tuple[str, str],
) -> None:
    context, options = tls_for(_https_client(cert_files[0], cert_files))
    assert context is not None and options is not None
    # Pinned: the fingerprint is checked after the handshake, not the host name.
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname
    with open(cert_files[0]) as handle:
        der = ssl.PEM_cert_to_DER_cert(handle.read())
    assert getattr(context, "pin") == hashlib.sha256(der).hexdigest()
    assert options == {
        "certfile": cert_files[0],
        "keyfile": cert_files[1],
        "cert_reqs": ssl.CERT_REQUIRED,
        "ca_certs": cert_files[0],
    }


def test_verify_false_turns_verification_off(cert_files: tuple[str, str]) -> None:
    context, options = tls_for(_https_client(False, cert_files))
    assert context is not None and context.verify_mode == ssl.CERT_NONE
    assert options is not None and "cert_reqs" not in options


def test_verify_true_uses_the_ca_bundle_requests_would_use(
    cert_files: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    bundle = tmp_path / "bundle.pem"  # two certificates: a CA bundle, not a pin
    bundle.write_text(open(cert_files[0]).read() * 2)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    context, options = tls_for(_https_client(True, cert_files))
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert options is not None and options["ca_certs"] == str(bundle)


def test_unreadable_ca_is_a_clear_error(
    cert_files: tuple[str, str], tmp_path: Any
) -> None:
    from pylxd import exceptions

    with pytest.raises(exceptions.ClientConnectionFailed, match="Cannot set up TLS"):
        tls_for(_https_client(str(tmp_path / "missing.crt"), cert_files))


# -- the exec session ------------------------------------------------------------------
class _Stdin(_StdinWebsocket):
    def connect(self) -> None:
        self.sent: list[Any] = []

    def send(self, payload: Any, binary: bool = False) -> None:
        self.sent.append(payload)


class _Output(_CommandWebsocketClient):
    chunks: dict[str, list[bytes]] = {"1": [b"out"], "2": [b"err"]}

    def connect(self) -> None:
        pass

    def run(self) -> None:
        for chunk in self.chunks[self.resource.rsplit("=", 1)[1]]:
            self.received_message(BinaryMessage(chunk))
        self.received_message(TextMessage(b""))


def _session(**kwargs: Any) -> _ExecSession:
    from pylxd.testing import FakeLXD

    client = FakeLXD().client()
    fds = {"0": "0", "1": "1", "2": "2", "control": "control"}
    return _ExecSession(
        client, "op1", fds, stdin_class=_Stdin, command_class=_Output, **kwargs
    )


def test_exec_session_drains_both_outputs() -> None:
    ended: list[str] = []
    session = _session(stdin_payload=b"in", on_end=ended.append).open()
    assert session.drain(5) == ("out", "err")
    assert sorted(ended) == ["stderr", "stdout"]
    assert session.stdin.sent == [b"in", ""]
    assert session.stdout.resource == "/1.0/operations/op1/websocket?secret=1"


def test_exec_session_raises_handler_errors_and_refuses_signals_without_control() -> (
    None
):
    def broken(chunk: Any) -> None:
        raise KeyError("handler")

    session = _session(stdout_handler=broken).open()
    with pytest.raises(KeyError, match="handler"):
        session.drain(5)
    with pytest.raises(ValueError, match="no control websocket"):
        session.signal(9)


def test_exec_session_drain_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Output, "run", lambda self: threading.Event().wait(0.5))
    session = _session().open()
    with pytest.raises(TimeoutError, match="output still open"):
        session.drain(0.01)
    session.close()


def test_exec_session_closes_what_it_opened_when_a_connect_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pylxd._transport import ConnectionLost

    closed: list[str] = []

    def refuse(self: Any) -> None:
        raise ConnectionLost("refused")

    monkeypatch.setattr(_Stdin, "connect", refuse)
    monkeypatch.setattr(
        _Output, "close_connection", lambda self: closed.append(self.resource)
    )
    with pytest.raises(ConnectionLost):
        _session().open()
    assert len(closed) == 2


def test_import_pylxd_does_not_import_ws4py() -> None:
    import subprocess
    import sys

    code = "import sys, pylxd; pylxd.Client; print('ws4py' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
    assert _websocket.RECV_SIZE >= 65536

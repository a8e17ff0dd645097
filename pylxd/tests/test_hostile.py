"""A hostile LXD on a Unix socket: every misbehaviour is a pylxd exception in time.

Each case scripts the server (:mod:`pylxd.tests.hostile`) and asserts the
pylxd exception, that its message names the socket and path, and that the
call ended within a generous bound of what the client allows (its
``timeout``); where a call had to be refused, that no request was sent.
"""

from __future__ import annotations

import contextlib
import gc
import os
import resource
import socket
import threading
import time
from typing import Any, Iterator

import pytest

from pylxd import Client, exceptions
from pylxd.models import Instance
from pylxd.tests import hostile
from pylxd.tests.hostile import HostileLXD

#: Seconds on top of the client's timeout a failing call may take (the
#: machine is shared: generous, but far below what the bugs held a call).
SLACK = 4.0


@pytest.fixture
def server(tmp_path: Any) -> Iterator[HostileLXD]:
    with HostileLXD(tmp_path / "lxd.sock") as srv:
        yield srv


def _fails(call: Any, exc: type[BaseException], bound: float) -> BaseException:
    started = time.monotonic()
    with pytest.raises(exc) as info:
        call()
    took = time.monotonic() - started
    assert took < bound, f"{type(info.value).__name__} after {took:.1f} s"
    return info.value


# -- item 4: reading errors ----------------------------------------------------
def test_a_body_shorter_than_announced_is_connection_lost(server: HostileLXD) -> None:
    server.on("GET", "/1.0/instances", hostile.short_body(1000))
    client = server.client(timeout=5)
    err = _fails(client.instances.all, exceptions.ConnectionLost, SLACK)
    assert server.path in str(err) and "/1.0/instances" in str(err)
    assert "broke while reading" in str(err)
    assert isinstance(err, exceptions.ClientConnectionFailed)


def test_a_connection_closed_before_the_answer_is_connection_lost(
    server: HostileLXD,
) -> None:
    server.on("GET", "/1.0/profiles", hostile.raw(b""))
    client = server.client(timeout=5)
    err = _fails(client.profiles.all, exceptions.ConnectionLost, SLACK)
    assert server.path in str(err)


def test_garbage_instead_of_http_is_connection_lost(server: HostileLXD) -> None:
    server.on("GET", "/1.0/profiles", hostile.raw(b"SSH-2.0-OpenSSH\r\n\r\n"))
    client = server.client(timeout=5)
    err = _fails(client.profiles.all, exceptions.ConnectionLost, SLACK)
    assert "/1.0/profiles" in str(err)


def test_a_streamed_body_cut_short_is_connection_lost_when_read(
    server: HostileLXD,
) -> None:
    cut = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n100\r\nshort"
    )
    server.on("GET", "/1.0/instances/c1/files", hostile.raw(cut))
    client = server.client(timeout=5)
    response = client.api.instances.c1.files.get(params={"path": "/f"}, stream=True)
    with pytest.raises(exceptions.ConnectionLost) as info:
        b"".join(response.iter_content(4096))
    assert server.path in str(info.value) and "broke while reading" in str(info.value)


def test_a_streamed_read_that_times_out_is_request_timeout(server: HostileLXD) -> None:
    server.on(
        "GET",
        "/1.0/instances/c1/files",
        hostile.drip(b"x" * 100, 5, "application/octet-stream"),
    )
    client = server.client(timeout=1)
    response = client.api.instances.c1.files.get(params={"path": "/f"}, stream=True)
    err = _fails(lambda: response.raw.read(), exceptions.RequestTimeout, 1 + SLACK)
    assert "/1.0/instances/c1/files" in str(err)


def test_no_answer_at_all_is_request_timeout(server: HostileLXD) -> None:
    server.on("GET", "/1.0/profiles", hostile.silence())
    client = server.client(timeout=1)
    err = _fails(client.profiles.all, exceptions.RequestTimeout, 1 + SLACK)
    assert "within 1 s" in str(err)


# -- item 9: whole-answer deadline and size cap --------------------------------
def test_a_slow_drip_cannot_hold_a_call_past_its_timeout(server: HostileLXD) -> None:
    server.on("GET", "/1.0/instances", hostile.drip(interval=0.3))
    client = server.client(timeout=2)
    err = _fails(client.instances.all, exceptions.RequestTimeout, 2 + SLACK)
    assert server.path in str(err)


def test_endless_100_continue_cannot_hold_a_call(server: HostileLXD) -> None:
    server.on("GET", "/1.0/instances", hostile.endless_continue(0.1))
    client = server.client(timeout=2)
    _fails(client.instances.all, exceptions.RequestTimeout, 2 + SLACK)


def test_endless_chunked_json_ends_at_the_size_cap(server: HostileLXD) -> None:
    server.on("GET", "/1.0/instances", hostile.endless_chunked())
    client = server.client(timeout=30, max_response_size=8 * 1024 * 1024)
    err = _fails(client.instances.all, exceptions.ResponseTooLarge, 20)
    assert "8388608-byte limit" in str(err) and server.path in str(err)
    assert isinstance(err, exceptions.MalformedResponse)


def test_a_huge_content_length_is_refused_without_reading(server: HostileLXD) -> None:
    server.on("GET", "/1.0/instances", hostile.endless_length(2**40))
    client = server.client(timeout=30)
    err = _fails(client.instances.all, exceptions.ResponseTooLarge, SLACK)
    assert str(2**40) in str(err)


def test_the_size_cap_can_be_lifted_and_the_client_still_works(
    server: HostileLXD,
) -> None:
    body = {"type": "sync", "metadata": [], "pad": "x" * 100_000}
    server.on("GET", "/1.0/profiles", hostile.answer(body))
    small = server.client(max_response_size=65536)
    with pytest.raises(exceptions.ResponseTooLarge):
        small.profiles.all()
    assert server.client(max_response_size=None).profiles.all() == []
    assert server.client().profiles.all() == []


def test_a_streamed_download_is_not_capped(server: HostileLXD) -> None:
    data = b"x" * 300_000
    server.on(
        "GET",
        "/1.0/instances/c1/files",
        hostile.answer(data, content_type="application/octet-stream"),
    )
    client = server.client(timeout=5, max_response_size=65536)
    response = client.api.instances.c1.files.get(params={"path": "/f"}, stream=True)
    assert b"".join(response.iter_content(65536)) == data


# -- item 8: malformed answers ---------------------------------------------------
MALFORMED = [
    ("no metadata", hostile.envelope(type="sync", status_code=200), "without metadata"),
    (
        "metadata a string",
        hostile.envelope(type="sync", metadata="x"),
        "metadata of type str",
    ),
    ("metadata a dict", hostile.sync({"a": 1}), "not a list"),
    ("items strings", hostile.sync(["/1.0/instances/c1"]), "holding a str"),
    ("a JSON list", hostile.answer([1, 2]), "not an object"),
    ("not JSON", hostile.answer(b"{nope"), "not JSON"),
    ("deeply nested", hostile.nested_json(), "nested too deeply"),
]


@pytest.mark.parametrize(
    "behaviour, words", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_listing_is_malformed_response(
    server: HostileLXD, behaviour: Any, words: str
) -> None:
    server.on("GET", "/1.0/instances", behaviour)
    client = server.client(timeout=5)
    err = _fails(client.instances.all, exceptions.MalformedResponse, SLACK)
    assert words in str(err)
    assert f"GET {server.path} (/1.0/instances)" in str(err)


@pytest.mark.parametrize(
    "behaviour, words",
    [
        (hostile.sync([1]), "not an object"),
        (hostile.envelope(type="sync"), "without metadata"),
        (hostile.sync(None), "NoneType"),
    ],
)
def test_a_malformed_object_is_malformed_response(
    server: HostileLXD, behaviour: Any, words: str
) -> None:
    server.on("GET", "/1.0/profiles/default", behaviour)
    client = server.client(timeout=5)
    err = _fails(
        lambda: client.profiles.get("default"), exceptions.MalformedResponse, SLACK
    )
    assert words in str(err) and "/1.0/profiles/default" in str(err)


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"type": "async", "metadata": {}}, "operation is None"),
        ({"type": "async", "operation": 7, "metadata": {}}, "operation is 7"),
        ({"type": "async", "operation": "", "metadata": {}}, "operation is ''"),
        (
            {"type": "async", "operation": "/1.0/operations/x", "metadata": []},
            "metadata is not an object",
        ),
    ],
)
def test_a_malformed_async_answer_is_malformed_response(
    server: HostileLXD, fields: dict[str, Any], words: str
) -> None:
    server.on("POST", "/1.0/instances/c1/exec", hostile.envelope(**fields))
    client = server.client(timeout=5)
    box = Instance(client, name="c1")
    err = _fails(lambda: box.execute(["true"]), exceptions.MalformedResponse, SLACK)
    assert words in str(err) and "/1.0/instances/c1/exec" in str(err)


# -- item 10: websocket frame and message caps -----------------------------------
def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_events_iter_refuses_a_huge_frame(server: HostileLXD) -> None:
    server.on("GET", "/1.0/events", hostile.huge_frame(2**40))
    client = server.client(timeout=5)
    before = _peak_rss_mib()
    streams = []

    def read() -> None:  # the frame may come with the handshake, or after it
        streams.append(client.events_iter(timeout=5))
        next(streams[0])

    err = _fails(read, exceptions.WebSocketError, SLACK)
    assert str(2**40) in str(err) and "/1.0/events" in str(err)
    assert _peak_rss_mib() - before < 100
    assert all("closed" in repr(stream) for stream in streams)


def test_events_client_refuses_a_huge_frame(server: HostileLXD) -> None:
    server.on("GET", "/1.0/events", hostile.huge_frame(2**40))
    ws = server.client(timeout=5).events()

    def run() -> None:  # the frame may come with the handshake, or after it
        ws.connect()
        ws.run()

    _fails(run, exceptions.WebSocketError, SLACK)


def test_a_message_growing_past_the_cap_is_refused(server: HostileLXD) -> None:
    from pylxd import _websocket

    # A text message in frames without FIN: it never completes.
    first = bytes([0x01]) + hostile.ws_frame_header(65536)[1:] + b"x" * 65536
    more = bytes([0x00]) + hostile.ws_frame_header(65536)[1:] + b"x" * 65536
    server.on("GET", "/1.0/events", hostile.websocket(first, *[more] * 20))
    client = server.client(timeout=5)
    events = client.events_iter(timeout=5)
    assert events._ws is not None
    events._ws.max_message_size = 512 * 1024
    assert _websocket.MAX_MESSAGE_SIZE > 512 * 1024
    err = _fails(lambda: next(events), exceptions.WebSocketError, SLACK)
    assert "524288-byte limit" in str(err)


def _exec_server(server: HostileLXD, websocket: Any) -> None:
    fds = {"0": "s0", "1": "s1", "2": "s2", "control": "sc"}
    operation = {"id": "op1", "class": "websocket", "status": "Running"}
    started = hostile.envelope(
        type="async",
        operation="/1.0/operations/op1",
        metadata={**operation, "metadata": {"fds": fds}},
    )
    for what in ("exec", "console"):
        server.on("POST", f"/1.0/instances/c1/{what}", started)
    server.on("GET", "/1.0/operations/op1/websocket", websocket)
    done = {**operation, "status": "Success", "metadata": {"return": 0}}
    server.on("GET", "/1.0/operations/op1/wait", hostile.sync(done))
    server.on("GET", "/1.0/operations/op1", hostile.sync(done), exact=True)


def test_exec_output_refuses_a_huge_frame(server: HostileLXD) -> None:
    _exec_server(server, hostile.huge_frame(2**40))
    box = Instance(server.client(timeout=5), name="c1")
    err = _fails(lambda: box.execute(["cat"]), exceptions.WebSocketError, 10)
    assert str(2**40) in str(err)


def test_console_refuses_a_huge_frame(server: HostileLXD) -> None:
    _exec_server(server, hostile.huge_frame(2**40))
    box = Instance(server.client(timeout=5), name="c1")
    sessions = []

    def attach() -> None:  # the frame may come with the handshake, or after it
        sessions.append(box.interactive_console())
        sessions[0].read(timeout=5)

    _fails(attach, exceptions.WebSocketError, SLACK)
    for session in sessions:
        session.close()


# -- item 11: an ExecStream dropped without close --------------------------------
def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_exec_streams_dropped_without_close_release_threads_and_sockets(
    server: HostileLXD,
) -> None:
    # Endless output: each stream's reader fills its queue and then blocks.
    _exec_server(
        server, hostile.websocket(payload_drip=b"\x82\x7e\x10\x00" + b"y" * 4096)
    )
    box = Instance(server.client(timeout=5), name="c1")
    gc.collect()
    threads, fds = threading.active_count(), _open_fds()
    for _ in range(20):
        stream = box.execute_stream(["yes"])
        next(stream)
        del stream
    gc.collect()
    assert hostile.wait_until(lambda: threading.active_count() <= threads, 20), (
        threading.active_count(),
        threads,
    )
    assert hostile.wait_until(lambda: _open_fds() <= fds, 10), (_open_fds(), fds)


def test_an_exec_stream_closes_with_with(server: HostileLXD) -> None:
    _exec_server(
        server, hostile.websocket(payload_drip=b"\x82\x7e\x10\x00" + b"y" * 4096)
    )
    box = Instance(server.client(timeout=5), name="c1")
    threads = threading.active_count()
    with box.execute_stream(["yes"]) as stream:
        assert next(stream)[0] in ("stdout", "stderr")
    assert hostile.wait_until(lambda: threading.active_count() <= threads, 20)
    assert "closed" in repr(stream)


# -- refusals send nothing -------------------------------------------------------
def test_bad_exec_arguments_send_no_request(server: HostileLXD) -> None:
    box = Instance(server.client(timeout=5), name="c1")
    for kwargs in ({"timeout": "5"}, {"encoding": "nope"}, {"timeout": -1}):
        with pytest.raises(exceptions.LXDAPIException):
            box.execute(["true"], **kwargs)
    with pytest.raises(exceptions.InvalidArgument):
        server.client().events_iter(timeout=-1)
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/1.0")] * 2


def test_exec_stream_wait_is_bounded_when_the_output_stays_open(
    server: HostileLXD,
) -> None:
    _exec_server(server, hostile.websocket())  # open, silent websockets
    box = Instance(server.client(timeout=5), name="c1")
    with box.execute_stream(["sleep", "1000"]) as stream:
        err = _fails(lambda: stream.wait(timeout=1), exceptions.ExecTimeout, 1 + SLACK)
    assert isinstance(err, exceptions.ExecTimeout) and err.operation_id == "op1"
    assert "still open after 1 s" in str(err)


def test_a_malformed_instance_state_is_malformed_response(server: HostileLXD) -> None:
    server.on("GET", "/1.0/instances/c1/state", hostile.sync(["Running"]))
    box = Instance(server.client(timeout=5), name="c1")
    err = _fails(box.state, exceptions.MalformedResponse, SLACK)
    assert "/1.0/instances/c1/state" in str(err) and "not an object" in str(err)


# -- issue 19: one deadline and one size cap, over Unix and HTTPS alike ---------
@pytest.fixture(params=["unix", "https"])
def either(request: Any, tmp_path: Any) -> Iterator[HostileLXD]:
    """The hostile server on its Unix socket, then over TLS on loopback."""
    with HostileLXD(tmp_path / "lxd.sock", tls=request.param == "https") as srv:
        yield srv


#: (behaviour, the client's timeout, what the call must raise)
BOUNDED = {
    "header drip": (hostile.drip_head(0.3), 2, exceptions.RequestTimeout),
    "body drip": (hostile.drip(interval=0.3), 2, exceptions.RequestTimeout),
    "endless 100 Continue": (
        hostile.endless_continue(0.1),
        2,
        exceptions.RequestTimeout,
    ),
    "no answer": (hostile.silence(), 1, exceptions.RequestTimeout),
    "endless slow body": (
        hostile.endless_chunked(b" " * 1024, interval=0.05),
        2,
        exceptions.RequestTimeout,
    ),
    "endless body": (hostile.endless_chunked(), 30, exceptions.ResponseTooLarge),
    "short body": (hostile.short_body(1000), 5, exceptions.ConnectionLost),
    "malformed JSON": (hostile.answer(b"{nope"), 5, exceptions.MalformedResponse),
    "huge headers": (hostile.huge_headers(), 5, exceptions.ConnectionLost),
}


@pytest.mark.parametrize("case", list(BOUNDED))
def test_every_answer_is_bounded_over_unix_and_https(
    either: HostileLXD, case: str
) -> None:
    behaviour, timeout, exc = BOUNDED[case]
    either.on("GET", "/1.0/instances", behaviour)
    client = either.client(timeout=timeout, max_response_size=8 * 1024 * 1024)
    err = _fails(client.instances.all, exc, timeout + SLACK)
    assert either.address in str(err) and "/1.0/instances" in str(err)
    # The same client still works: the bad connection was not reused.
    either.on("GET", "/1.0/profiles", hostile.sync([]))
    assert client.profiles.all() == []


def test_the_deadline_covers_connect_and_headers_of_a_stream(
    either: HostileLXD,
) -> None:
    """A streamed download's headers are bounded by ``timeout`` as a whole;
    its body only per read (a download may take as long as it needs)."""
    either.on("GET", "/1.0/instances/c1/files", hostile.drip_head(0.3))
    client = either.client(timeout=2)
    files = client.api.instances.c1.files
    err = _fails(
        lambda: files.get(params={"path": "/f"}, stream=True),
        exceptions.RequestTimeout,
        2 + SLACK,
    )
    assert either.address in str(err)
    data = b"x" * 20
    either.on(
        "GET",
        "/1.0/instances/c1/files",
        hostile.drip(data, 0.15, "application/octet-stream"),
    )
    response = files.get(params={"path": "/f"}, stream=True)
    assert response.raw.read() == data  # 3 s in all, each read well within 2 s


def test_a_tls_answer_is_size_capped_before_reading(either: HostileLXD) -> None:
    either.on("GET", "/1.0/instances", hostile.endless_length(2**40))
    client = either.client(timeout=30)
    err = _fails(client.instances.all, exceptions.ResponseTooLarge, SLACK)
    assert str(2**40) in str(err) and either.address in str(err)


def test_a_long_upload_is_not_counted_in_the_answer_deadline(
    either: HostileLXD,
) -> None:
    """The whole-answer deadline restarts once a streamed body is sent."""
    either.on("POST", "/1.0/instances/c1/files", hostile.sync({}))
    client = either.client(timeout=1)

    def slow_upload() -> Iterator[bytes]:
        for _ in range(4):
            time.sleep(0.5)  # 2 s in all, twice the client's timeout
            yield b"x" * 1024

    files = client.api.instances.c1.files
    response = files.post(params={"path": "/f"}, data=slow_upload())
    assert response.status_code == 200
    (request,) = either.requests_to("POST", "/1.0/instances/c1/files")
    assert request.body == b"x" * 4096


@contextlib.contextmanager
def _tcp_drip(first: bytes, drop: bytes, interval: float) -> Iterator[int]:
    """A TCP server that reads what a client sends first, answers ``first``,
    then ``drop`` every ``interval`` seconds without end (each read quick,
    the answer never whole); yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(first)
                while not stop.wait(interval):
                    try:
                        conn.sendall(drop)
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_a_dripped_tls_handshake_cannot_hold_a_call() -> None:
    """The TLS handshake counts in the whole-answer deadline (``ssl`` reads it
    in C, each read only within the socket's timeout): a TLS record announced
    at 16 KiB after the ClientHello, then dripped a byte at a time."""
    with _tcp_drip(b"\x16\x03\x03\x40\x00", b"\x00", 0.2) as port:
        err = _fails(
            lambda: Client(
                endpoint=f"https://127.0.0.1:{port}", verify=False, timeout=1
            ),
            exceptions.RequestTimeout,
            1 + SLACK,
        )
    assert "127.0.0.1" in str(err)


def test_a_proxy_from_the_environment_answers_within_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Requests through ``HTTP_PROXY`` use the bounded pools too: a proxy
    that starts an answer, then drips a header line every 0.3 s."""
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with _tcp_drip(b"HTTP/1.1 200 OK\r\n", b"X-Drip: 1\r\n", 0.3) as port:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        err = _fails(
            lambda: Client(endpoint="http://lxd.example:8443", timeout=1),
            exceptions.RequestTimeout,
            1 + SLACK,
        )
    assert "lxd.example" in str(err)

"""The socket client's own head reader and writer read and write what
``http.client`` does (pylxd._unix: ``parse_head``, ``_UnixResponse``,
``plain_request``), and hand anything unusual to ``http.client`` itself."""

from __future__ import annotations

import http.client
import io
import socket
import threading
from typing import Any, Iterator

import pytest

from pylxd import exceptions
from pylxd._transport import _APINode, get_session_for_url, unix_socket_url
from pylxd._unix import (
    _MAXHEADERS,
    _MAXLINE,
    _UnixResponse,
    parse_head,
    plain_request,
    read_head,
)
from pylxd.tests import hostile
from pylxd.tests.hostile import HostileLXD


def _reader(data: bytes) -> io.BufferedReader:
    return io.BufferedReader(io.BytesIO(data))


#: Heads (up to and with their blank line), plain and not.
HEADS = {
    "lxd": b"Content-Type: application/json\r\nDate: x\r\nContent-Length: 3\r\n\r\n",
    "none": b"\r\n",
    "LF only": b"A: 1\nB:2\n\n",
    "repeated": b"A: 1\r\na: 2\r\nA: 3\r\n\r\n",
    "spaces kept at the end": b"A:  \t v a l \r\nB:\r\nC:   \r\n\r\n",
    "latin-1 value": b"X-Name: caf\xe9\r\n\r\n",
    "empty name": b": nameless\r\nA: 1\r\n\r\n",
    "folded": b"A: one\r\n two\r\n\tthree\r\nB: 2\r\n\r\n",
    "folded first": b" A: 1\r\nB: 2\r\n\r\n",
    "bare CR": b"A: 1\rB: 2\r\nC: 3\r\n\r\n",
    "no colon": b"A: 1\r\nnot a header\r\nB: 2\r\n\r\n",
    "space in name": b"A B: 1\r\nC: 2\r\n\r\n",
    "unix from": b"From someone\r\nA: 1\r\n\r\n",
    "NUL and DEL": b"A\x00: 1\r\nB: \x00\x7f\r\n\r\n",
    "unterminated": b"A: 1\r\nB: 2",
}


@pytest.mark.parametrize("name", list(HEADS))
def test_a_head_is_read_as_http_client_reads_it(name: str) -> None:
    data = HEADS[name] + b"rest"
    expected_reader = _reader(data)
    expected = http.client.parse_headers(expected_reader)
    reader = _reader(data)
    message, pairs = parse_head(read_head(reader))
    assert list(pairs) == expected.items() == message.items()
    for field in ("a", "b", "c", "content-length", "x-name", ""):
        assert message.get(field) == expected.get(field)
        assert message.get_all(field) == expected.get_all(field)
    assert reader.read() == expected_reader.read()  # the body is left unread


def test_the_head_limits_are_http_client_s() -> None:
    many = b"".join(b"H%d: v\r\n" % i for i in range(_MAXHEADERS - 1)) + b"\r\n"
    assert len(parse_head(read_head(_reader(many)))[1]) == _MAXHEADERS - 1
    too_many = b"H: v\r\n" * _MAXHEADERS + b"\r\n"
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        read_head(_reader(too_many))
    with pytest.raises(http.client.LineTooLong, match="header line"):
        read_head(_reader(b"A: " + b"x" * _MAXLINE + b"\r\n\r\n"))


class _Sock:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return _reader(self.data)


def _outcome(cls: type[http.client.HTTPResponse], data: bytes, method: str) -> Any:
    response = cls(_Sock(data), method=method)  # type: ignore[arg-type]
    try:
        response.begin()
    except Exception as err:  # the same error, with the same message
        return type(err), str(err)
    seen = {
        name: getattr(response, name)
        for name in ("status", "reason", "version", "chunked", "length", "will_close")
    }
    seen["headers"] = response.getheaders()
    try:
        seen["body"] = response.read()
    except http.client.IncompleteRead as err:
        seen["body"] = ("IncompleteRead", err.partial)
    seen["closed"] = response.isclosed()
    return seen


ANSWERS = {
    "content length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\n\r\n",
    "chunked beats length": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
    b"Transfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "no length: read to the end": b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\nto the end",
    "bad length": b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nabc",
    "negative length": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc",
    "two lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\ncontent-length: 3\r\n\r\nabc",
    "short body": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    "close": b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 1\r\n\r\na",
    "1.0 keep-alive": b"HTTP/1.0 200 OK\r\nKeep-Alive: 5\r\nContent-Length: 1\r\n\r\na",
    "1.0": b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\na",
    "204": b"HTTP/1.1 204 No Content\r\n\r\n",
    "continue first": b"HTTP/1.1 100 Continue\r\nX: 1\r\n\r\n"
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}",
    "no reason": b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    "folded header": b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 1\r\n\r\na",
    "garbage": b"SSH-2.0-OpenSSH\r\n\r\n",
    "nothing": b"",
    "HTTP/2": b"HTTP/2 200 OK\r\n\r\n",
    "status out of range": b"HTTP/1.1 99 Low\r\n\r\n",
    "status not a number": b"HTTP/1.1 2xx OK\r\n\r\n",
    "version only": b"HTTP/1.1\r\n\r\n",
    "status line too long": b"HTTP/1.1 200 " + b"x" * _MAXLINE + b"\r\n\r\n",
}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("name", list(ANSWERS))
def test_an_answer_is_framed_as_http_client_frames_it(name: str, method: str) -> None:
    data = ANSWERS[name]
    assert _outcome(_UnixResponse, data, method) == _outcome(
        http.client.HTTPResponse, data, method
    )


class _Capture(http.client.HTTPConnection):
    def __init__(self) -> None:
        super().__init__("localhost")
        self.sent: list[bytes] = []

    def send(self, data: Any) -> None:
        self.sent.append(bytes(data))


UA = {"User-Agent": "python-requests/2", "Accept-Encoding": "gzip", "Accept": "*/*"}


@pytest.mark.parametrize(
    "method, url, headers, body",
    [
        ("GET", "/1.0/instances/c1", UA, None),
        ("GET", "/1.0/instances?recursion=1&project=p%201", {}, None),
        ("HEAD", "/1.0", {"Host": "lxd"}, None),
        ("DELETE", "/1.0/instances/c1", UA, None),
        ("POST", "/1.0/instances", UA, None),
        ("PUT", "/1.0/profiles/p", {**UA, "Content-Length": "7"}, b'{"a":1}'),
        ("PATCH", "/1.0/profiles/p", {**UA, "If-Match": "e"}, b'{"a":1}'),
        ("POST", "/1.0/x", {"Transfer-Encoding": "chunked"}, b"0\r\n\r\n"),
        ("POST", "/1.0/big", UA, b"x" * (70 * 1024)),
        ("GET", "/1.0/x", {"X-LXD-name": "caf\xe9"}, None),
    ],
)
def test_a_plain_request_is_written_as_http_client_writes_it(
    method: str, url: str, headers: dict[str, str], body: bytes | None
) -> None:
    head = plain_request(method, url, headers, body)
    assert head is not None
    expected = _Capture()
    expected.request(method, url, body=body, headers=headers)
    assert head + (body or b"") == b"".join(expected.sent)


def _chunks() -> Iterator[bytes]:
    yield b"x"


@pytest.mark.parametrize(
    "method, url, headers, body",
    [
        ("GET", "/1.0", {"A": "1\r\nInjected: yes"}, None),  # header injection
        ("GET", "/1.0", {"A": "1\nB: 2"}, None),
        ("GET", "/1.0", {"A B": "1"}, None),
        ("GET", "/1.0", {"A:B": "1"}, None),
        ("GET", "/1.0", {"": "1"}, None),
        ("GET", "/1.0", {"A": b"bytes"}, None),
        ("GET", "/1.0", {"A": "\u20ac"}, None),  # not Latin-1
        ("GET", "/1.0 HTTP/1.1\r\nX: y", {}, None),
        ("GET", "/caf\xe9", {}, None),
        ("GET", "", {}, None),
        ("GET", "/\x7f", {}, None),
        ("get", "/1.0", {}, None),
        ("BREW", "/1.0", {}, None),
        ("POST", "/1.0", {}, "text"),
        ("POST", "/1.0", {}, _chunks()),
        ("POST", "/1.0", {}, io.BytesIO(b"file")),
    ],
)
def test_other_requests_are_left_to_http_client(
    method: str, url: str, headers: dict[str, Any], body: Any
) -> None:
    assert plain_request(method, url, headers, body) is None


@pytest.fixture
def server(tmp_path: Any) -> Iterator[HostileLXD]:
    with HostileLXD(tmp_path / "lxd.sock") as srv:
        yield srv


SYNC = b'{"type":"sync","status":"Success","status_code":200,"metadata":[]}'


@pytest.mark.parametrize(
    "head, reused",
    [
        (b"Content-Length: %d\r\n" % len(SYNC), True),
        (b"Transfer-Encoding: chunked\r\n", True),
        (b"X-Folded: a\r\n b\r\nContent-Length: %d\r\n" % len(SYNC), True),
        (b"", False),  # no Content-Length: the body ends with the connection
    ],
)
def test_bodies_and_keep_alive_over_the_socket(
    server: HostileLXD, head: bytes, reused: bool
) -> None:
    body = SYNC
    if b"chunked" in head:
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SYNC), SYNC)
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + head
    server.on("GET", "/1.0/profiles", hostile.raw(answer + b"\r\n" + body, not reused))
    client = server.client(timeout=5)
    for _ in range(2):
        assert client.profiles.all() == []
    # One connection for the client's GET /1.0 and both reads; else the
    # first read ends the first connection and the second opens another.
    assert len(server._socks) == (1 if reused else 2)


def test_a_plain_write_keeps_the_connection(server: HostileLXD) -> None:
    server.on("PUT", "/1.0/profiles/p", hostile.sync({}))
    client = server.client(timeout=5)
    for value in ("1", "2"):
        response = client.api.profiles.p.put(json={"config": {"k": value}})
        assert response.status_code == 200
    bodies = [r.body for r in server.requests_to("PUT", "/1.0/profiles/p")]
    assert bodies == [b'{"config": {"k": "1"}}', b'{"config": {"k": "2"}}']
    assert len(server._socks) == 1


def test_a_malformed_status_line_is_connection_lost(server: HostileLXD) -> None:
    server.on("GET", "/1.0/profiles", hostile.raw(b"HTTP/1.1 2xx OK\r\n\r\n"))
    client = server.client(timeout=5)
    with pytest.raises(exceptions.ConnectionLost, match="/1.0/profiles"):
        client.profiles.all()
    server.on("GET", "/1.0/profiles", hostile.sync([]))
    assert client.profiles.all() == []  # on a new connection


def _peer_closed(sock: socket.socket) -> bool:
    """True when the client closed its end (EOF within 5 s)."""
    sock.settimeout(5)
    try:
        while sock.recv(65536):
            pass
    except socket.timeout:
        return False
    return True


@pytest.mark.parametrize("case", ["streamed body closed early", "answer too large"])
def test_a_dropped_answer_closes_its_socket(tmp_path: Any, case: str) -> None:
    """The socket outlives ``close()`` of its connection while an answer still
    reads it; an answer given up on closes both at once."""
    path = str(tmp_path / "s.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen()
    session = get_session_for_url(unix_socket_url(path))
    session.adapters["http+unix://"].max_response_size = 10  # type: ignore
    url = unix_socket_url(path) + "/1.0/x"
    answered = threading.Event()

    def serve() -> None:
        peer, _ = listener.accept()
        peer.recv(65536)
        peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
        answered.set()
        closed.append(_peer_closed(peer))
        peer.close()

    closed: list[bool] = []
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    kept: Any  # kept alive, it does not hold the socket open
    if case == "answer too large":
        with pytest.raises(exceptions.ResponseTooLarge) as info:
            _APINode(url, session=session, timeout=5).get()
        kept = info.value
    else:
        kept = session.get(url, stream=True, timeout=5)
        assert kept.raw.read(10) == b"x" * 10
        kept.close()
    thread.join(10)
    assert closed == [True] and kept is not None
    listener.close()
    session.close()

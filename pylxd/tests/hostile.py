"""A hostile LXD for unit tests: a recording server on a Unix socket or TLS.

It answers ``GET /1.0`` like LXD 5.0.2 (so a :class:`pylxd.Client` connects)
and every other request with a scripted behaviour: a correct answer, raw
bytes, a body shorter than its ``Content-Length``, a slow drip, an endless
chunked body, endless ``100 Continue`` lines, a malformed envelope or a
websocket upgrade followed by a frame header announcing a huge payload. It
records every request it received, so a test can assert that nothing was
sent when a call had to be refused first. ``HostileLXD(path, tls=True)``
serves the same over HTTPS on loopback instead (a fresh self-signed
certificate, which its :meth:`~HostileLXD.client` pins).

Standard library only; one thread accepts, one thread serves each
connection. Behaviours that never end stop when the client goes away or the
server is closed::

    with HostileLXD(tmp_path / "lxd.sock") as server:
        server.on("GET", "/1.0/instances", drip(b"{}", interval=0.5))
        client = server.client(timeout=2)
        ...
        assert server.requests_to("POST", "/1.0/instances/c1/exec") == []
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib import parse

from pylxd.client import Client
from pylxd.testing import FakeLXD
from pylxd.testing._fake_core import host_info
from pylxd.tests._certs import write_cert

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass
class Request:
    """A request the hostile server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""


class Stop(Exception):
    """The client went away or the server is closing: end the behaviour."""


@dataclass
class Peer:
    """The connection a behaviour answers on."""

    sock: socket.socket
    stopping: threading.Event
    #: False once a behaviour decided the connection cannot carry another request.
    keep_alive: bool = True
    sent: int = field(default=0)

    def send(self, data: bytes) -> None:
        if self.stopping.is_set():
            raise Stop()
        try:
            self.sock.sendall(data)
        except OSError as err:
            raise Stop() from err
        self.sent += len(data)

    def sleep(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise Stop()


#: A behaviour answers one request on its peer.
Behaviour = Callable[[Peer, Request], None]


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {'OK' if status < 400 else 'Error'}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(
    body: Any, status: int = 200, content_type: str = "application/json"
) -> Behaviour:
    """A correct answer: ``body`` (bytes, or JSON-encoded) with its length."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    def behave(peer: Peer, request: Request) -> None:
        head = {"Content-Type": content_type, "Content-Length": str(len(data))}
        peer.send(_head(status, head) + data)

    return behave


def sync(metadata: Any, status: int = 200) -> Behaviour:
    """A well-formed LXD ``sync`` answer holding ``metadata`` (the fake's)."""
    return answer(FakeLXD.sync(metadata).body, status)


def envelope(**fields: Any) -> Behaviour:
    """An answer whose envelope is exactly ``fields`` (for malformed ones)."""
    status = 202 if fields.get("type") == "async" else 200
    return answer(fields, status)


def nested_json(depth: int = 100_000) -> Behaviour:
    """A sync answer whose metadata nests ``depth`` lists (RecursionError bait)."""
    data = b'{"type": "sync", "metadata": ' + b"[" * depth + b"]" * depth + b"}"
    return answer(data)


def raw(data: bytes, close: bool = True) -> Behaviour:
    """Send ``data`` as it is; then close the connection unless ``close=False``."""

    def behave(peer: Peer, request: Request) -> None:
        peer.send(data)
        peer.keep_alive = not close

    return behave


def short_body(
    announced: int = 1000, sent: bytes = b'{"type": "sync", "meta'
) -> Behaviour:
    """Announce ``announced`` bytes, send ``sent`` (fewer), then close."""

    def behave(peer: Peer, request: Request) -> None:
        head = {"Content-Type": "application/json", "Content-Length": str(announced)}
        peer.send(_head(200, head) + sent)
        peer.keep_alive = False

    return behave


def drip(
    data: bytes = b'{"type": "sync", "metadata": {}}',
    interval: float = 0.5,
    content_type: str = "application/json",
) -> Behaviour:
    """A correct answer sent one byte every ``interval`` seconds."""

    def behave(peer: Peer, request: Request) -> None:
        head = {"Content-Type": content_type, "Content-Length": str(len(data))}
        peer.send(_head(200, head))
        for i in range(len(data)):
            peer.sleep(interval)
            peer.send(data[i : i + 1])

    return behave


def drip_head(interval: float = 0.3) -> Behaviour:
    """A correct answer whose status line and headers come a byte every ``interval`` s."""
    data = b'{"type": "sync", "metadata": {}}'
    head = _head(200, {"Content-Type": "application/json", "X-Pad": "x" * 64})
    head = head.replace(
        b"\r\n\r\n", f"\r\nContent-Length: {len(data)}\r\n\r\n".encode()
    )

    def behave(peer: Peer, request: Request) -> None:
        for i in range(len(head)):
            peer.send(head[i : i + 1])
            peer.sleep(interval)
        peer.send(data)

    return behave


def huge_headers(count: int = 100_000) -> Behaviour:
    """A status line and then ``count`` header lines (far over any client's limit)."""

    def behave(peer: Peer, request: Request) -> None:
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        line = b"X-Filler: " + b"x" * 100 + b"\r\n"
        for _ in range(count // 100):
            peer.send(line * 100)
        peer.send(b"Content-Length: 2\r\n\r\n{}")

    return behave


def endless_chunked(chunk: bytes = b" " * 65536, interval: float = 0.0) -> Behaviour:
    """A JSON answer whose chunked body never ends (until the client leaves)."""

    def behave(peer: Peer, request: Request) -> None:
        head = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        peer.send(_head(200, head) + b'9\r\n{"type": \r\n')
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while True:
            peer.send(frame)
            if interval:
                peer.sleep(interval)

    return behave


def endless_length(size: int = 2**40, chunk: bytes = b" " * 65536) -> Behaviour:
    """Announce ``size`` bytes of JSON and send spaces until the client leaves."""

    def behave(peer: Peer, request: Request) -> None:
        head = {"Content-Type": "application/json", "Content-Length": str(size)}
        peer.send(_head(200, head) + b'{"type": "sync", "metadata": ')
        while True:
            peer.send(chunk)

    return behave


def endless_continue(interval: float = 0.2) -> Behaviour:
    """``HTTP/1.1 100 Continue`` interim answers, forever."""

    def behave(peer: Peer, request: Request) -> None:
        while True:
            peer.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            peer.sleep(interval)

    return behave


def silence() -> Behaviour:
    """Never answer (the connection stays open until the client leaves)."""

    def behave(peer: Peer, request: Request) -> None:
        while True:
            peer.sleep(0.1)

    return behave


def ws_frame_header(length: int, opcode: int = 0x1) -> bytes:
    """The header of an unmasked final server frame announcing ``length`` bytes."""
    first = bytes([0x80 | opcode])
    if length < 126:
        return first + bytes([length])
    if length < 2**16:
        return first + bytes([126]) + length.to_bytes(2, "big")
    return first + bytes([127]) + length.to_bytes(8, "big")


def websocket(
    *frames: bytes, then: str = "hold", payload_drip: bytes = b""
) -> Behaviour:
    """Accept a websocket upgrade, send ``frames`` (raw bytes), then ``then``:

    ``"hold"`` keeps the socket open (sending ``payload_drip`` bytes every
    0.05 s when given), ``"close"`` closes it.
    """

    def behave(peer: Peer, request: Request) -> None:
        key = request.headers.get("sec-websocket-key", "").encode()
        accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest()).decode()
        head = {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Accept": accept,
        }
        lines = ["HTTP/1.1 101 Switching Protocols"]
        lines += [f"{k}: {v}" for k, v in head.items()]
        peer.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        for frame in frames:
            peer.send(frame)
        peer.keep_alive = False
        while then == "hold":
            if payload_drip:
                peer.send(payload_drip)
            peer.sleep(0.05)

    return behave


def huge_frame(length: int = 2**40) -> Behaviour:
    """A websocket upgrade, then a text frame header announcing ``length`` bytes."""
    return websocket(ws_frame_header(length), payload_drip=b"x" * 4096)


class HostileLXD:
    """A recording LXD impostor on a Unix socket (see the module docstring).

    :param path: where to create the socket (with ``tls``: the directory of
        ``path`` gets the server's certificate).
    :param info: the metadata of ``GET /1.0`` (LXD 5.0.2's by default).
    :param tls: serve HTTPS on ``127.0.0.1`` (a free port) instead.
    """

    def __init__(
        self, path: Any, info: dict[str, Any] | None = None, *, tls: bool = False
    ) -> None:
        self.path = str(path)
        self.requests: list[Request] = []
        self._routes: list[tuple[str, str, bool, Behaviour]] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self.on("GET", "/1.0", sync(info or host_info(FakeLXD())), exact=True)
        self._tls: ssl.SSLContext | None = None
        if tls:
            #: The server certificate (a client pins it with ``verify=``).
            self.server_cert, key = write_cert(Path(self.path).parent, "hostile-lxd")
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(self.server_cert, key)
            self._listener = socket.create_server(("127.0.0.1", 0))
            #: What the client's messages name: the socket path or the URL.
            self.address = f"https://127.0.0.1:{self._listener.getsockname()[1]}"
        else:
            if os.path.exists(self.path):
                os.unlink(self.path)
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(self.path)
            self.address = self.path
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self._start(self._accept)

    # -- scripting ---------------------------------------------------------
    def on(
        self, method: str, path: str, behaviour: Behaviour, *, exact: bool = False
    ) -> None:
        """Answer ``method path`` (a prefix unless ``exact``) with ``behaviour``.

        Later rules win over earlier ones.
        """
        self._routes.insert(0, (method.upper(), path, exact, behaviour))

    def requests_to(self, method: str, path: str) -> list[Request]:
        """The recorded requests of ``method`` whose path starts with ``path``."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == method and r.path.startswith(path)
            ]

    def client(self, **kwargs: Any) -> Client:
        """A :class:`pylxd.Client` of this server (over TLS: pinning its certificate)."""
        if self._tls is not None:
            kwargs.setdefault("verify", self.server_cert)
        return Client(endpoint=self.address, **kwargs)

    # -- lifecycle ---------------------------------------------------------
    def close(self) -> None:
        """Stop every behaviour, close every connection and the socket."""
        self._stopping.set()
        for sock in list(self._socks):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()
        for sock in list(self._socks):
            sock.close()
        if self._tls is None and os.path.exists(self.path):
            os.unlink(self.path)

    def __enter__(self) -> HostileLXD:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- serving -----------------------------------------------------------
    def _start(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(None)
            self._socks.append(sock)
            self._start(self._serve, sock)

    def _handshake(self, sock: socket.socket) -> socket.socket | None:
        """The TLS side of ``sock`` (None when the handshake failed)."""
        assert self._tls is not None
        sock.settimeout(10)
        try:
            tls = self._tls.wrap_socket(sock, server_side=True)
        except (OSError, ValueError):
            sock.close()
            return None
        tls.settimeout(None)
        self._socks.append(tls)  # the plain socket is detached now
        return tls

    def _serve(self, sock: socket.socket) -> None:
        if self._tls is not None:
            tls = self._handshake(sock)
            if tls is None:
                return
            sock = tls
        peer = Peer(sock, self._stopping)
        reader = sock.makefile("rb")
        try:
            while peer.keep_alive and not self._stopping.is_set():
                request = self._read_request(reader)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                self._behaviour(request)(peer, request)
        except (Stop, OSError, ValueError):
            pass
        finally:
            reader.close()
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _behaviour(self, request: Request) -> Behaviour:
        for method, path, exact, behaviour in self._routes:
            if method != request.method:
                continue
            if request.path == path or (
                not exact and request.path.startswith(path.rstrip("/") + "/")
            ):
                return behaviour
        return _not_found

    @staticmethod
    def _read_request(reader: Any) -> Request | None:
        line = reader.readline(65537)
        if not line:
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            line = reader.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if "content-length" in headers:
            body = reader.read(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = _read_chunked(reader)
        parts = parse.urlsplit(target)
        return Request(
            method.upper(), parts.path, parse.parse_qs(parts.query), headers, body
        )


def _not_found(peer: Peer, request: Request) -> None:
    body = {"type": "error", "error": "not found", "error_code": 404, "metadata": None}
    answer(body, 404)(peer, request)


def _read_chunked(reader: Any) -> bytes:
    body = b""
    while True:
        size = int(reader.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            reader.readline()
            return body
        body += reader.read(size)
        reader.readline()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()

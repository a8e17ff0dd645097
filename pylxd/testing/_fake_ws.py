"""Fake LXD: the server side of websockets (exec streams and events).

pylxd's websocket clients (``pylxd._websocket._LXDWebSocket`` and its
subclasses) open their connection with the connector of the adapter serving
the client's session (``pylxd._websocket.connector_for``), when it has one.
A fake's, :func:`open_websocket`, hands them one end of
a socket pair; a thread serves the other end: it reads the HTTP upgrade
request, checks the path and secret like LXD does, answers ``101 Switching
Protocols`` and gives a :class:`ServerWebSocket` to the fake's handler.
Everything after the handshake is real RFC 6455 framing by ws4py.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Callable
from urllib import parse

from ws4py.messaging import Message
from ws4py.websocket import WebSocket

from pylxd._websocket import close_quietly

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.testing._fake import FakeLXD

logger = logging.getLogger(__name__)

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: Seconds a handshake may take before the fake gives up on a client.
HANDSHAKE_TIMEOUT = 30.0

#: A handler gets the fake, the request path, its query and the connected
#: server websocket; it owns the websocket from then on.
Handler = Callable[["FakeLXD", str, dict[str, str], "ServerWebSocket"], None]


class _ConnectedSocket(socket.socket):
    """The client end of a socket pair: ws4py's ``connect`` has nothing to do."""

    def connect(self, address: Any) -> None:
        """Already connected to the fake."""


class ServerWebSocket(WebSocket):
    """The fake's end of one websocket: send messages, read them one by one."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.received: deque[Message] = deque()

    def received_message(self, message: Message) -> None:
        # ws4py reuses nothing after this call, but clears ``data``: copy it.
        self.received.append(type(message)(bytes(message.data or b"")))

    def next_message(self) -> Message | None:
        """The next message from the client, or None once it has gone."""
        while not self.received:
            if not self.once():
                return None
        return self.received.popleft()

    def send(self, payload: Any, binary: bool = False) -> None:
        """Send a message; a client that has closed is an OSError, as for a
        socket (ws4py says RuntimeError, which races with the close)."""
        try:
            super().send(payload, binary)
        except RuntimeError as err:
            raise BrokenPipeError("the client has closed this websocket") from err

    def unhandled_error(self, error: BaseException) -> None:
        logger.debug("fake websocket: %r", error)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send the closing frame once; a client already gone is no error
        (ws4py would log one)."""
        err = close_quietly(self, code, reason)
        if err is not None:
            logger.debug("fake websocket close: %r", err)

    def end(self) -> None:
        """Close like LXD does: a closing frame, then the connection."""
        self.close()
        self.close_connection()


def open_websocket(fake: FakeLXD, resource: str) -> socket.socket:
    """Return a connected socket whose other end the fake serves.

    :param resource: the path and query the client will ask for.
    """
    ours, theirs = socket.socketpair()
    client = _ConnectedSocket(
        theirs.family, theirs.type, theirs.proto, fileno=theirs.detach()
    )
    threading.Thread(
        target=_serve, args=(fake, ours), name="fake-lxd-websocket", daemon=True
    ).start()
    return client


def _read_request(sock: socket.socket) -> tuple[str, dict[str, str]]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("client went away during the handshake")
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    target = head[0].split(" ")[1]
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return target, headers


def _refuse(sock: socket.socket, status: str) -> None:
    sock.sendall(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode())
    sock.close()


def _serve(fake: FakeLXD, sock: socket.socket) -> None:
    try:
        sock.settimeout(HANDSHAKE_TIMEOUT)
        target, headers = _read_request(sock)
        parts = parse.urlsplit(target)
        query = {k: v[-1] for k, v in parse.parse_qs(parts.query).items()}
        handler = fake._websocket_handler(parts.path, query)
        if handler is None:
            _refuse(sock, "403 Forbidden")
            return
        accept = base64.b64encode(
            hashlib.sha1((headers["sec-websocket-key"] + _GUID).encode()).digest()
        ).decode()
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        sock.settimeout(None)
    except (OSError, KeyError, IndexError) as err:
        logger.debug("fake websocket handshake failed: %r", err)
        sock.close()
        return
    handler(fake, parts.path, query, ServerWebSocket(sock))

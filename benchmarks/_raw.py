"""The raw baseline: the least a client can do to talk to LXD.

stdlib ``http.client`` over one keep-alive AF_UNIX connection, and a minimal
RFC 6455 websocket reader. Benchmarks compare pylxd with this.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import struct
from typing import Any, Iterator

DEFAULT_SOCKET = os.environ.get("LXD_DIR", "/var/lib/lxd") + "/unix.socket"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("lxd")
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self._path)
        self.sock = sock


class RawLXD:
    """One keep-alive connection; JSON in, JSON out."""

    def __init__(self, path: str = DEFAULT_SOCKET) -> None:
        self.path = path
        self.conn = _UnixConnection(path)
        self.requests = 0

    def request(self, method: str, url: str, body: Any = None) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload else {}
        self.conn.request(method, url, body=payload, headers=headers)
        self.requests += 1
        response = self.conn.getresponse()
        data = response.read()
        return json.loads(data) if data else None

    def get(self, url: str) -> Any:
        return self.request("GET", url)

    def wait(self, operation: str) -> Any:
        return self.get(operation + "/wait")

    def stream_get(self, url: str, sink: Any, chunk: int = 1 << 20) -> int:
        """GET ``url`` into ``sink`` chunk by chunk; return the byte count."""
        self.conn.request("GET", url)
        self.requests += 1
        response = self.conn.getresponse()
        total = 0
        while True:
            data = response.read(chunk)
            if not data:
                return total
            sink.write(data)
            total += len(data)

    def put_stream(
        self, url: str, source: Any, length: int, headers: dict[str, str]
    ) -> Any:
        """POST ``length`` bytes read from ``source``."""
        self.conn.putrequest("POST", url)
        for key, value in {**headers, "Content-Length": str(length)}.items():
            self.conn.putheader(key, value)
        self.conn.endheaders()
        while True:
            data = source.read(1 << 20)
            if not data:
                break
            self.conn.send(data)
        self.requests += 1
        response = self.conn.getresponse()
        return json.loads(response.read() or b"null")

    def close(self) -> None:
        self.conn.close()


class RawWebsocket:
    """A minimal websocket client over AF_UNIX: connect, read binary frames, close."""

    def __init__(self, socket_path: str, url: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(socket_path)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {url} HTTP/1.1\r\nHost: lxd\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self._buffer = b""
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake failed")
            self._buffer += chunk
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head.decode(errors="replace"))

    def _read(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def frames(self) -> Iterator[bytes]:
        """Yield data frames until a close frame, an empty message or EOF."""
        try:
            while True:
                b1, b2 = self._read(2)
                length = b2 & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", self._read(2))
                elif length == 127:
                    (length,) = struct.unpack("!Q", self._read(8))
                payload = self._read(length)
                opcode = b1 & 0x0F
                if opcode == 0x8 or (opcode in (0x1, 0x2) and not payload):
                    return
                if opcode in (0x0, 0x1, 0x2):
                    yield payload
        except (EOFError, ConnectionError, OSError):
            return

    def send_close(self) -> None:
        mask = os.urandom(4)
        self.sock.sendall(bytes([0x88, 0x80]) + mask)

    def close(self) -> None:
        self.sock.close()

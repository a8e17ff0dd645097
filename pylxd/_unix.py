"""The Unix socket's own HTTP/1.1 client: keep-alive connections per socket path.

LXD's local socket is where a client spends most of its calls, and small
reads there are dominated by the client's CPU: urllib3's pool costs about
1.6x a raw ``http.client`` exchange on its own, before requests and pylxd add
anything (``benchmarks/RESULTS.md``, "Transport on urllib3"). So
``http+unix://`` URLs go through this small adapter on ``http.client``
instead; TCP (HTTP and HTTPS) goes through urllib3 (:mod:`pylxd._http`).
Both keep the same rules: one whole-answer deadline (status line, headers and
body within ``timeout``), the same size cap (:func:`pylxd._http.read_capped`)
and the same errors (requests' exceptions, mapped by
:func:`pylxd._http.transport_error`).
"""

from __future__ import annotations

import functools
import http.client
import io
import select
import socket
import threading
import time
from typing import Any
from urllib import parse

import requests
import requests.adapters

from pylxd._http import (
    _SOCKET_PATHS,
    MAX_RESPONSE_SIZE,
    POOL_MAXSIZE,
    _Clock,
    _DeadlineIO,
    _Response,
    header_store,
    read_capped,
)


class _UnixSocket(socket.socket):
    """A Unix socket whose reads (through :meth:`makefile`) obey its clock's deadline.

    The reader is :mod:`pylxd._http`'s :class:`~pylxd._http._DeadlineIO`, the
    one TCP connections use: status line, headers and body are all read
    before the deadline.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = _Clock()

    def makefile(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode != "rb":
            return super().makefile(mode, *args, **kwargs)  # type: ignore
        return io.BufferedReader(_DeadlineIO(self, self.clock))

    def bound(self, per_read: float | None, deadline: float | None) -> None:
        """Give each read ``per_read`` seconds, all of them until ``deadline``."""
        clock = self.clock
        clock.per_read, clock.deadline = per_read, deadline
        if self.gettimeout() != per_read:  # a syscall saved on reused sockets
            self.settimeout(per_read)


class _UnixConnection(http.client.HTTPConnection):
    """An HTTP/1.1 keep-alive connection to a Unix socket."""

    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = _UnixSocket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock

    def bound(self, per_read: float | None, deadline: float | None) -> None:
        """Bound the reads of the connected socket (see :meth:`_UnixSocket.bound`)."""
        sock = self.sock
        assert isinstance(sock, _UnixSocket)  # connect() made it
        sock.bound(per_read, deadline)

    def is_dropped(self) -> bool:
        """True when the server closed the idle connection (e.g. it restarted)."""
        if self.sock is None:
            return False
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)


class _StreamedBody:
    """A streamed response body that gives its connection back when consumed.

    A body closed before its end takes its connection down with it, so that
    unread bytes are never mistaken for the next response.
    """

    def __init__(self, response: http.client.HTTPResponse, release: Any) -> None:
        self._response = response
        self._release = release

    def read(self, amt: int | None = None, **_: Any) -> bytes:
        data = self._response.read(amt)
        if self._response.isclosed():
            self._finish(reusable=True)
        return data

    def close(self) -> None:
        self._finish(reusable=self._response.isclosed())

    def release_conn(self) -> None:
        self.close()

    def _finish(self, reusable: bool) -> None:
        release, self._release = self._release, None
        if release is not None:
            release(reusable)

    @property
    def closed(self) -> bool:
        return self._release is None


class _UnixAdapter(requests.adapters.BaseAdapter):
    """An adapter for ``http+unix://`` URLs: keep-alive connections per socket.

    Idle connections are kept per socket path and reused by any thread, one
    request at a time each; this avoids the connection churn of
    requests-unixsocket (pools keyed by full URL) and most of urllib3's
    per-request work, which costs more CPU than LXD's answer itself.
    """

    def __init__(
        self,
        pool_maxsize: int = POOL_MAXSIZE,
        *,
        max_response_size: int | None = MAX_RESPONSE_SIZE,
    ) -> None:
        super().__init__()
        self._idle: dict[str, list[_UnixConnection]] = {}
        self._lock = threading.Lock()
        self._maxsize = pool_maxsize
        self.max_response_size = max_response_size

    def _checkout(self, path: str, timeout: float | None) -> _UnixConnection:
        with self._lock:
            idle = self._idle.get(path)
            while idle:
                conn = idle.pop()
                if not conn.is_dropped():
                    # Its socket's timeouts are set by bound() before each use.
                    conn.timeout = timeout
                    return conn
                conn.close()
        return self._new_conn(path, timeout)

    def _new_conn(self, path: str, timeout: float | None) -> _UnixConnection:
        return _UnixConnection(path, timeout)

    def _checkin(self, path: str, conn: _UnixConnection, reusable: bool) -> None:
        with self._lock:
            idle = self._idle.setdefault(path, [])
            if reusable and len(idle) < self._maxsize:
                idle.append(conn)
                return
        conn.close()

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        parts = parse.urlsplit(request.url or "")
        path = _SOCKET_PATHS.get(parts.netloc) or parse.unquote(parts.netloc)
        connect_timeout, read_timeout = (
            timeout if isinstance(timeout, tuple) else (timeout, timeout)
        )
        deadline = None if read_timeout is None else time.monotonic() + read_timeout
        conn = self._checkout(path, connect_timeout)
        try:
            raw = self._exchange(conn, request, parts, read_timeout, deadline)
        except BaseException:
            conn.close()
            raise
        response = self._build(request, raw)
        release = functools.partial(self._checkin, path, conn)
        if stream:  # each read of a download keeps its timeout, with no deadline
            conn.bound(read_timeout, None)
            response.raw = _StreamedBody(raw, release)
            return response
        try:
            response._content = read_capped(
                response, raw.read, raw.length, self.max_response_size
            )
        except socket.timeout as err:
            conn.close()
            raise requests.exceptions.ReadTimeout(err, request=request) from err
        except BaseException:
            conn.close()
            raise
        release(not raw.will_close)
        return response

    @staticmethod
    def _exchange(
        conn: _UnixConnection,
        request: requests.PreparedRequest,
        parts: parse.SplitResult,
        read_timeout: float | None,
        deadline: float | None,
    ) -> http.client.HTTPResponse:
        url = parts.path + (f"?{parts.query}" if parts.query else "")
        body = request.body
        # http.client compares header names case-insensitively itself, and
        # reads a plain dict (original names) faster than a CaseInsensitiveDict.
        headers = dict(header_store(request.headers).values())
        chunked = (
            body is not None
            and not isinstance(body, (bytes, str))
            and not hasattr(body, "read")
            and "Content-Length" not in request.headers
        )
        # A streamed upload takes as long as its source: the answer's deadline
        # starts once the body is sent (each write still has its timeout).
        streamed = body is not None and not isinstance(body, (bytes, str))
        try:
            if conn.sock is None:
                conn.connect()
            conn.bound(read_timeout, None if streamed else deadline)
            conn.request(
                request.method or "GET",
                url,
                body=body,
                headers=headers,
                encode_chunked=chunked,
            )
            if streamed and read_timeout is not None:
                conn.bound(read_timeout, time.monotonic() + read_timeout)
            return conn.getresponse()
        except socket.timeout as err:
            raise requests.exceptions.ReadTimeout(err, request=request) from err
        except (OSError, http.client.HTTPException) as err:
            raise requests.exceptions.ConnectionError(err, request=request) from err

    @staticmethod
    def _build(
        request: requests.PreparedRequest, raw: http.client.HTTPResponse
    ) -> requests.Response:
        return _Response._answer(request, raw)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

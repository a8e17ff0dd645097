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

``http.client`` still frames every answer's body, but a plain request's head
is written here (:func:`plain_request`) and a plain answer's head read here
(:func:`parse_head`): its ``putheader`` checks and its email parser cost as
much CPU as the rest of a small read. Anything unusual goes through
``http.client`` as before, with its own checks and errors.
"""

from __future__ import annotations

import email.parser
import functools
import http.client
import io
import re
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

#: ``http.client``'s own limits on an answer's head (its ``_MAXLINE`` and
#: ``_MAXHEADERS``), kept with the same errors: a longer line, or more
#: lines, is refused before it is parsed.
_MAXLINE = 65536
_MAXHEADERS = 100
_HEAD_END = (b"\r\n", b"\n", b"")

#: A head of plain ``Name: value`` lines only (names of printable characters
#: but ``:``, no folded line, no bare CR): the email parser, which
#: ``http.client`` runs on every head, would read it as the same pairs, for
#: about half the CPU of a small answer. Any other head still goes through it.
_PLAIN_HEAD = re.compile(r"(?:[!-9;-~]+:[^\r\n]*\r?\n)*").fullmatch
_HEADER_LINES = re.compile(r"([!-9;-~]+):[ \t]*([^\r\n]*)\r?\n").findall


def read_head(fp: Any) -> list[bytes]:
    """The header lines of an answer, its blank line included, read as
    ``http.client`` reads them (same limits, same errors)."""
    lines = []
    while True:
        line = fp.readline(_MAXLINE + 1)
        if len(line) > _MAXLINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > _MAXHEADERS:
            raise http.client.HTTPException(f"got more than {_MAXHEADERS} headers")
        if line in _HEAD_END:
            return lines


def parse_head(lines: list[bytes]) -> tuple[http.client.HTTPMessage, list[Any]]:
    """The message ``http.client.parse_headers`` makes of ``lines``, and its
    ``(name, value)`` pairs in order.

    A plain head (:data:`_PLAIN_HEAD`) is split by one regular expression
    into what the email parser would have stored; any other is handed to
    the email parser itself, so that folded lines, bare CRs or lines that
    are no header are read exactly as before.
    """
    text = b"".join(lines).decode("iso-8859-1")
    fields = text[: len(text) - len(lines[-1])]  # without the blank line
    if _PLAIN_HEAD(fields):
        pairs = _HEADER_LINES(fields)
        message = http.client.HTTPMessage()
        for name, value in pairs:
            message.set_raw(name, value)  # stored as the parser stores them
        return message, pairs
    parser = email.parser.Parser(_class=http.client.HTTPMessage)
    message = parser.parsestr(text)
    return message, message.items()


class _UnixResponse(http.client.HTTPResponse):
    """``http.client``'s answer, its head read without the email parser.

    :meth:`begin` is ``http.client``'s, step for step (the same checks of
    the status line, the same errors, ``100 Continue`` skipped, the same
    body framing and keep-alive rules), with the headers read by
    :func:`parse_head`. The body is read by ``http.client`` itself.
    """

    _method: str | None
    #: The head's ``(name, value)`` pairs, in order (what ``getheaders`` gives).
    _pairs: list[tuple[str, str]] | None = None

    def begin(self) -> None:
        if self.headers is not None:  # already read
            return
        while True:
            version, status, reason = self._status_line()
            if status != http.client.CONTINUE:
                break
            read_head(self.fp)  # a 100's headers say nothing
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers, pairs = parse_head(read_head(self.fp))
        self.msg = self.headers
        self._pairs = pairs
        first: dict[str, str] = {}  # Message.get(): the first of a repeated name
        for name, value in pairs:
            first.setdefault(name.lower(), value)
        encoding = first.get("transfer-encoding")
        self.chunked = bool(encoding) and encoding.lower() == "chunked"
        if self.chunked:
            self.chunk_left = None
        connection = (first.get("connection") or "").lower()
        if self.version == 11:
            self.will_close = "close" in connection
        else:  # HTTP/1.0 closes unless it asks to be kept alive (http.client's rule)
            self.will_close = not (
                first.get("keep-alive")
                or "keep-alive" in connection
                or "keep-alive" in (first.get("proxy-connection") or "").lower()
            )
        self.length = None
        length = first.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:  # ignore nonsensical negative lengths
                    self.length = None
        if status in (204, 304) or 100 <= status < 200 or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # the body ends when the connection does

    def _status_line(self) -> tuple[str, int, str]:
        """``http.client``'s ``_read_status``: the same checks and errors."""
        line = str(self.fp.readline(_MAXLINE + 1), "iso-8859-1")
        if len(line) > _MAXLINE:
            raise http.client.LineTooLong("status line")
        if not line:
            raise http.client.RemoteDisconnected(
                "Remote end closed connection without response"
            )
        try:
            version, status, reason = line.split(None, 2)
        except ValueError:
            try:
                version, status = line.split(None, 1)
                reason = ""
            except ValueError:
                version = ""
        if not version.startswith("HTTP/"):
            self.close()
            raise http.client.BadStatusLine(line)
        try:
            code = int(status)
        except ValueError:
            raise http.client.BadStatusLine(line) from None
        if code < 100 or code > 999:
            raise http.client.BadStatusLine(line)
        return version, code, reason

    def getheaders(self) -> list[tuple[str, str]]:
        # The pairs as read: ``HTTPMessage.items()`` would run each value
        # through the email policy, which gives it back unchanged.
        if self._pairs is None:
            return super().getheaders()
        return list(self._pairs)


#: Request header names already seen to be plain (a client sends the same
#: few names again and again); at most :data:`_NAMES_KEPT` of them.
_PLAIN_NAMES: set[str] = set()
_NAMES_KEPT = 512
_TOKEN = re.compile(r"[!-9;-~]+").fullmatch
_PLAIN_PATH = re.compile(r"/[!-~]*").fullmatch
_PLAIN_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"))
#: ``http.client``'s ``_METHODS_EXPECTING_BODY``: sent without one, they
#: say ``Content-Length: 0``.
_BODY_METHODS = frozenset(("PATCH", "POST", "PUT"))
#: A body up to this size goes out with its head in one send (one syscall,
#: and no wait on a delayed ACK between them); a larger one is not copied.
_ONE_SEND = 64 * 1024


def plain_request(
    method: str, url: str, headers: dict[str, Any], body: Any
) -> bytes | None:
    """The head ``http.client`` would send for this request when its parts are
    plain, else None.

    Plain: one of :data:`_PLAIN_METHODS`, a path of printable ASCII, header
    names of printable characters but ``:``, ``str`` values with no CR or LF
    that Latin-1 can encode, and no body or a ``bytes`` one. Other requests
    go through ``http.client``'s ``request()``, with its checks and errors:
    its ``putrequest``/``putheader`` cost as much CPU as the rest of a small
    read's transport.
    """
    if method not in _PLAIN_METHODS or not _PLAIN_PATH(url):
        return None
    if body is not None and type(body) is not bytes:
        return None
    if not _PLAIN_NAMES.issuperset(headers):
        if not all(type(name) is str and _TOKEN(name) for name in headers):
            return None
        if len(_PLAIN_NAMES) < _NAMES_KEPT:
            _PLAIN_NAMES.update(headers)
    try:
        values = "".join(headers.values())
    except TypeError:  # bytes or numbers: http.client converts them
        return None
    if "\r" in values or "\n" in values:
        return None
    names = {name.lower() for name in headers}
    # The headers http.client adds, in its order, unless the caller set them.
    lines = [f"{method} {url} HTTP/1.1"]
    if "host" not in names:
        lines.append("Host: localhost")
    if "accept-encoding" not in names:
        lines.append("Accept-Encoding: identity")
    if "content-length" not in names and "transfer-encoding" not in names:
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        elif method in _BODY_METHODS:
            lines.append("Content-Length: 0")
    lines.extend([f"{name}: {value}" for name, value in headers.items()])
    lines.append("\r\n")
    try:
        return "\r\n".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        return None


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
        if mode != "rb":  # http.client reads its answers as "rb" only
            raise ValueError(f"pylxd's Unix socket is read as 'rb', not {mode!r}")
        reader = io.BufferedReader(_DeadlineIO(self, self.clock))
        # Counted as socket.makefile() counts its files (the reader's close
        # gives it back): an answer whose body ends with the connection (no
        # Content-Length) is still read after http.client closes the
        # connection, as the socket is closed only with its last file.
        self._io_refs += 1  # type: ignore[attr-defined]
        return reader

    def bound(self, per_read: float | None, deadline: float | None) -> None:
        """Give each read ``per_read`` seconds, all of them until ``deadline``."""
        clock = self.clock
        clock.per_read, clock.deadline = per_read, deadline
        if self.gettimeout() != per_read:  # a syscall saved on reused sockets
            self.settimeout(per_read)


class _UnixConnection(http.client.HTTPConnection):
    """An HTTP/1.1 keep-alive connection to a Unix socket."""

    response_class = _UnixResponse

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

    def plain_exchange(
        self, head: bytes, body: bytes | None, method: str
    ) -> _UnixResponse:
        """Send ``head`` (from :func:`plain_request`) and ``body``, and read the
        answer's head, as ``request()`` and ``getresponse()`` would.

        Their state machine is left out: the adapter lends a connection to
        one request at a time, and takes it back only once its answer is
        read (or closes it), so it is idle whenever it is lent.
        """
        sock = self.sock
        assert sock is not None  # connected by the caller
        if body and len(body) <= _ONE_SEND:
            sock.sendall(head + body)
        else:
            sock.sendall(head)
            if body:
                sock.sendall(body)
        response = _UnixResponse(sock, method=method)
        try:
            try:
                response.begin()
            except ConnectionError:
                self.close()
                raise
            if response.will_close:
                self.close()  # the answer keeps reading its own file
            return response
        except BaseException:
            response.close()
            raise

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
        consumed = self._response.isclosed()
        if not consumed:  # its file holds the socket open (see _UnixSocket.makefile)
            self._response.close()
        self._finish(reusable=consumed)

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
            self._drop(conn, raw)
            raise requests.exceptions.ReadTimeout(err, request=request) from err
        except BaseException:
            self._drop(conn, raw)
            raise
        release(not raw.will_close)
        return response

    @staticmethod
    def _drop(conn: _UnixConnection, raw: http.client.HTTPResponse) -> None:
        """Close a connection whose answer was not read to its end, and the
        answer's file, which holds its socket open (see ``_UnixSocket.makefile``)."""
        raw.close()
        conn.close()

    @staticmethod
    def _exchange(
        conn: _UnixConnection,
        request: requests.PreparedRequest,
        parts: parse.SplitResult,
        read_timeout: float | None,
        deadline: float | None,
    ) -> http.client.HTTPResponse:
        url = parts.path + (f"?{parts.query}" if parts.query else "")
        method = request.method or "GET"
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
            head = None if streamed else plain_request(method, url, headers, body)
            if head is not None:
                # (plain_request took only None or bytes)
                sent = body if isinstance(body, bytes) else None
                return conn.plain_exchange(head, sent, method)
            conn.request(
                method,
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

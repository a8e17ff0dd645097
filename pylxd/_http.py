"""HTTP on urllib3's pools: the one adapter, its whole-answer deadline and size cap.

Plain HTTP and HTTPS go through :class:`_HTTPAdapter` (requests' adapter on
urllib3's pools; Unix sockets through :mod:`pylxd._unix`, with the same
rules). Every answer is read through :class:`_DeadlineIO`, so ``timeout`` bounds connecting,
status line, headers and body as a whole; an answer that is not streamed is
refused past ``max_response_size``. Failures of this stack become pylxd
exceptions in one place, :func:`transport_error`.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import functools
import http.client
import io
import socket
import threading
import time
from typing import Any, Iterator, cast
from urllib import parse

import requests
import requests.adapters
import urllib3
import urllib3.connection
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from pylxd import exceptions
from pylxd._json_body import not_json

#: Connections kept per pool: one per thread for up to this many threads.
POOL_MAXSIZE = 32

#: Bytes of an answer that is not streamed accepted at most, by default
#: (``Client(max_response_size=)``): far above any LXD listing, far below
#: what an endless body would fill memory with. Streamed downloads are not
#: capped.
MAX_RESPONSE_SIZE = 128 * 1024 * 1024

#: Bytes read at a time from a body of unknown length (chunked).
_BODY_BLOCK = 1024 * 1024

#: Socket paths by the URL host :func:`unix_socket_url` made of them, so that
#: requests find their socket without unquoting it again.
_SOCKET_PATHS: dict[str, str] = {}


def unix_socket_url(path: str) -> str:
    """``/var/lib/lxd/unix.socket`` -> ``http+unix://%2Fvar%2Flib%2Flxd%2Funix.socket``."""
    host = parse.quote(path, safe="")
    _SOCKET_PATHS[host] = path
    return "http+unix://" + host


class _Clock:
    """The deadline of a connection's current answer, shared with its reader.

    A separate object, so that the connection and the readers of its answers
    hold no reference cycle (sockets are freed as soon as they are dropped).
    """

    __slots__ = ("deadline", "per_read", "sock", "after_upload")

    def __init__(self) -> None:
        #: ``time.monotonic()`` by which the current answer must be read (or None).
        self.deadline: float | None = None
        #: The whole-answer timeout to restart once a streamed request body
        #: (an upload, of any size) is sent; None when the request had none.
        self.after_upload: float | None = None
        #: The timeout of each read, given back when the deadline is lifted.
        self.per_read: float | None = None
        self.sock: Any = None

    def lift(self) -> None:
        """Stop bounding the answer as a whole (a streamed body: each read keeps
        its own timeout)."""
        self.deadline = None
        if self.sock is not None:
            self.sock.settimeout(self.per_read)


class _DeadlineIO(socket.SocketIO):
    """The reads of a socket, each within its timeout and all before the deadline.

    ``http.client`` reads status line, headers and body through this (plain
    TCP, TLS and Unix sockets alike): a server dripping a byte at a time, or
    sending ``100 Continue`` forever, cannot hold an answer past its deadline.
    """

    def __init__(self, sock: socket.socket, clock: _Clock) -> None:
        super().__init__(sock, "rb")
        self._socket = sock
        self._clock = clock

    def readinto(self, buffer: Any) -> int | None:
        clock = self._clock
        if clock.deadline is not None:
            left = clock.deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no whole answer before the deadline")
            if clock.per_read is None or left < clock.per_read:
                self._socket.settimeout(left)
        return super().readinto(buffer)


class _Handing:
    """Hands ``http.client.HTTPResponse`` our reader when it asks its socket for one."""

    __slots__ = ("_reader",)

    def __init__(self, reader: io.BufferedReader[Any]) -> None:
        self._reader = reader

    def makefile(self, mode: str) -> io.BufferedReader[Any]:
        return self._reader


class _BoundedResponse(http.client.HTTPResponse):
    """An ``http.client`` response read through :class:`_DeadlineIO`."""

    def __init__(self, sock: socket.socket, *args: Any, clock: _Clock, **kwargs: Any):
        clock.per_read, clock.sock = sock.gettimeout(), sock
        if clock.after_upload is not None:  # the upload was sent: now the answer
            clock.deadline = time.monotonic() + clock.after_upload
        reader = io.BufferedReader(_DeadlineIO(sock, clock))
        super().__init__(cast(socket.socket, _Handing(reader)), *args, **kwargs)


class _BoundedConnection(urllib3.connection.HTTPConnection):
    """urllib3's connection, whose answers are read before ``clock.deadline``."""

    #: ``http.client`` builds each answer with ``response_class(sock, ...)``.
    response_class: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = _Clock()
        self.response_class = functools.partial(_BoundedResponse, clock=self.clock)


class _BoundedHTTPSConnection(urllib3.connection.HTTPSConnection, _BoundedConnection):
    """urllib3's TLS connection, bounded as :class:`_BoundedConnection`.

    The TLS handshake is bounded by the deadline too: ``ssl`` reads it in C,
    each read within the socket's timeout only, so a server dripping its
    handshake a byte at a time could hold a call without end. A timer shuts
    the socket down when the deadline passes during the handshake.
    """

    def connect(self) -> None:
        deadline = self.clock.deadline
        if deadline is None:
            return super().connect()
        expired = threading.Event()
        timer = threading.Timer(
            max(0.0, deadline - time.monotonic()), self._expire, (expired,)
        )
        timer.daemon = True
        timer.start()
        try:
            super().connect()
        except BaseException as err:
            if expired.is_set():
                raise socket.timeout("no TLS connection before the deadline") from err
            raise
        finally:
            timer.cancel()

    def _expire(self, expired: threading.Event) -> None:
        expired.set()
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _BoundedPool(urllib3.HTTPConnectionPool):
    """A pool whose requests must be answered whole within their read timeout.

    The deadline starts before the connection is opened: connect, status
    line, headers and (unless streamed, see :meth:`_HTTPAdapter.send`) body
    all fit in it. A streamed request body (an upload from a file or an
    iterator) is not counted: the deadline restarts once it is sent, since
    a large upload legitimately takes long (each send keeps its timeout).
    """

    ConnectionCls = _BoundedConnection

    def _make_request(  # type: ignore[override]
        self, conn: Any, method: str, url: str, *args: Any, **kwargs: Any
    ) -> Any:
        total = kwargs["timeout"].read_timeout
        clock = conn.clock
        clock.deadline = None if total is None else time.monotonic() + total
        body = kwargs.get("body")
        streamed = body is not None and not isinstance(body, (bytes, str))
        clock.after_upload = total if streamed else None
        return super()._make_request(conn, method, url, *args, **kwargs)


class _BoundedHTTPSPool(urllib3.HTTPSConnectionPool, _BoundedPool):
    ConnectionCls = _BoundedHTTPSConnection


class _Response(requests.Response):
    """A response that parses its JSON body once for LXD's envelope check.

    While :meth:`_APINode._send` checks the envelope, the parse is kept and
    handed to the first caller of :meth:`json` afterwards (the check only
    reads it); any later call parses the body afresh, as requests does.
    """

    _keep_parse = False

    #: True when the headers already carry LXD's names of Incus's
    #: (:func:`answer_headers`), so the send path need not look again.
    _incus_aliased = False

    @classmethod
    def _answer(
        cls, request: requests.PreparedRequest, raw: http.client.HTTPResponse
    ) -> _Response:
        """The response to ``request`` read by ``http.client``, set up as
        requests' adapters do but without ``requests.Response.__init__``: its
        cookie jar (a lock and a policy object) is made only if someone reads
        :attr:`cookies`."""
        response = cls.__new__(cls)
        headers = answer_headers(raw.getheaders())
        content_type = headers.get("Content-Type")
        vars(response).update(
            _content=False,
            _content_consumed=False,
            _next=None,
            status_code=raw.status,
            headers=headers,
            raw=raw,
            url=request.url or "",
            encoding=(
                "utf-8"  # what requests derives from it, without parsing it
                if content_type == "application/json"
                else requests.utils.get_encoding_from_headers(headers)
            ),
            history=[],
            reason=raw.reason,
            elapsed=datetime.timedelta(0),
            request=request,
            _incus_aliased=True,
        )
        return response

    @property
    def cookies(self) -> requests.cookies.RequestsCookieJar:
        """The cookies the server sent (LXD sends none): made when first read."""
        jar = vars(self).get("cookies")
        if jar is None:
            jar = vars(self)["cookies"] = requests.cookies.cookiejar_from_dict({})
        return jar

    @cookies.setter
    def cookies(self, jar: requests.cookies.RequestsCookieJar) -> None:
        vars(self)["cookies"] = jar

    def json(self, **kwargs: Any) -> Any:
        parsed = self.__dict__.pop("_parsed", None)
        if parsed is not None and not kwargs:
            return parsed
        value = super().json(**kwargs)
        if self._keep_parse and not kwargs:
            self._parsed = value
        return value


def lxd_header_name(name: str) -> str | None:
    """``X-Incus-<name>`` (in any case) -> ``X-LXD-<name>``; None for another name.

    Incus answers with its own names only; pylxd's models read LXD's.
    """
    if name[:8].lower() != "x-incus-":
        return None
    return f"X-LXD-{name[8:]}"


def header_store(headers: CaseInsensitiveDict[Any]) -> dict[str, tuple[str, Any]]:
    """The mapping behind a ``CaseInsensitiveDict``: lower-cased name ->
    ``(name, value)``. Read and filled directly on the socket's hot path:
    the class's own methods cost several Python calls per header, more than
    the rest of a small answer's set-up."""
    store: dict[str, tuple[str, Any]] = cast(Any, headers)._store
    return store


@functools.lru_cache(maxsize=1024)
def requote(url: str) -> str:
    """``requests.utils.requote_uri``, remembered: a client asks for the same
    few URLs again and again, and requoting one costs more than a lookup."""
    return requests.utils.requote_uri(url)


def _empty_headers() -> CaseInsensitiveDict[Any]:
    """A new empty ``CaseInsensitiveDict``, made without its ``__init__`` (an
    ``update`` of nothing through ``MutableMapping``, twice per request)."""
    headers: CaseInsensitiveDict[Any] = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
    vars(headers)["_store"] = collections.OrderedDict()
    return headers


def copy_headers(headers: CaseInsensitiveDict[Any]) -> CaseInsensitiveDict[Any]:
    """A copy of ``headers`` (each request has its own, as with requests),
    made in one step rather than re-adding each header."""
    copied = _empty_headers()
    header_store(copied).update(header_store(headers))
    return copied


def answer_headers(pairs: list[tuple[str, str]]) -> CaseInsensitiveDict[str]:
    """An answer's ``(name, value)`` header pairs as requests keeps them (the
    last of a repeated name wins), with each of Incus's names also under LXD's
    (:func:`lxd_header_name`)."""
    headers: CaseInsensitiveDict[str] = _empty_headers()
    store = header_store(headers)
    aliases = []
    for name, value in pairs:
        lowered = name.lower()
        store[lowered] = (name, value)
        if lowered.startswith("x-incus-"):
            aliases.append(lowered)
    for lowered in aliases:
        name, value = store[lowered]
        alias = f"X-LXD-{name[8:]}"
        store.setdefault(alias.lower(), (alias, value))
    return headers


def read_capped(
    response: requests.Response,
    read: Any,
    length: int | None,
    cap: int | None,
) -> bytes:
    """Read a whole body with ``read(amt)``, refusing one larger than ``cap``.

    A ``Content-Length`` over the cap is refused before reading; a body of
    unknown length is read block by block and refused once over it.

    :raises ResponseTooLarge: for a body over ``cap`` bytes.
    """
    if cap is None:
        return bytes(read())
    if length is not None:
        if length > cap:
            raise _too_large(response, cap, f"announced {length} bytes")
        return bytes(read())
    parts: list[bytes] = []
    total = 0
    while True:
        block = read(_BODY_BLOCK)
        if not block:
            return b"".join(parts)
        total += len(block)
        if total > cap:
            raise _too_large(response, cap, f"sent more than {cap} bytes")
        parts.append(block)


def _too_large(
    response: requests.Response, cap: int, what: str
) -> exceptions.ResponseTooLarge:
    return exceptions.ResponseTooLarge(
        response,
        f"LXD at {describe_url(response.url)} {what}, over the "
        f"{cap}-byte limit of an answer (Client(max_response_size=))",
    )


class _HTTPAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter on urllib3's pools, for HTTP and HTTPS.

    Every answer must come whole within the read timeout (see
    :class:`_BoundedPool`), and an answer that is not streamed is refused
    past ``max_response_size`` bytes. (Unix sockets have their own, leaner
    client with the same rules: :mod:`pylxd._unix`.)
    """

    def __init__(
        self,
        pool_maxsize: int = POOL_MAXSIZE,
        *,
        max_response_size: int | None = MAX_RESPONSE_SIZE,
    ) -> None:
        self.max_response_size = max_response_size
        super().__init__(pool_maxsize=pool_maxsize)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _BoundedPool,
            "https": _BoundedHTTPSPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """requests' proxy manager, on the bounded pools too (a proxy from
        ``HTTPS_PROXY``/``HTTP_PROXY`` answers within the deadline as well)."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):  # SOCKS managers differ
            manager.pool_classes_by_scheme = {
                "http": _BoundedPool,
                "https": _BoundedHTTPSPool,
            }
        return manager

    def build_response(
        self, req: requests.PreparedRequest, resp: Any
    ) -> requests.Response:
        """requests' response, as a :class:`_Response`."""
        response = super().build_response(req, resp)
        response.__class__ = _Response
        return response

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        **kwargs: Any,
    ) -> requests.Response:
        response = super().send(request, stream=True, timeout=timeout, **kwargs)
        raw = response.raw
        if stream:  # each read of a download keeps its timeout, with no deadline
            connection: Any = raw.connection
            connection.clock.lift()
            return response
        try:
            response._content = read_capped(
                response,
                functools.partial(_read_decoded, raw),
                raw.length_remaining,
                self.max_response_size,
            )
        except BaseException:
            response.close()
            raise
        response._content_consumed = True  # type: ignore[attr-defined]
        raw.release_conn()
        return response


def _read_decoded(raw: Any, amt: int | None = None) -> bytes:
    """Read (up to ``amt`` bytes of) a urllib3 body, as requests would decode it."""
    return bytes(raw.read(amt, decode_content=True))


def transport_error(
    err: BaseException,
    url: str,
    doing: str,
    timeout: Any,
    reading: bool = False,
    json_body: Any = None,
) -> BaseException:
    """The pylxd exception for a failure of the HTTP stack (``err`` itself
    when it is already a pylxd exception or none of the stack's).

    A ``json=`` body that JSON cannot carry (a ``date``, a ``set``, NaN) is
    :class:`InvalidArgumentType` naming the value: nothing was sent.

    This is the one place (like httpx's ``map_httpcore_exceptions``) where
    errors of ``requests``, urllib3, ``http.client``, ``ssl`` and sockets,
    raised while sending a request or reading its answer (also a streamed
    body read later), become :class:`RequestTimeout` or
    :class:`ConnectionLost` naming the socket or URL.

    :param url: the URL asked (named as :func:`describe_url` does).
    :param doing: what was being done, e.g. ``"GET"``.
    :param reading: the request was sent and its (streamed) body was being read.
    :param json_body: the ``json=`` of the request.
    """
    if isinstance(err, (exceptions.ClientConnectionFailed, exceptions.LXDAPIException)):
        return err
    unsendable = None if json_body is None else not_json(json_body)
    if unsendable is not None:
        return exceptions.InvalidArgumentType(
            f"{doing} {describe_url(url)} was not sent: {unsendable}"
        )
    if isinstance(err, _TIMEOUTS):
        return exceptions.RequestTimeout(
            f"LXD at {describe_url(url)} did not answer {doing} within {timeout} s"
        )
    if not isinstance(err, _FAILURES):
        return err
    if reading or isinstance(err, _BROKEN_BODY):
        message = (
            f"The connection to LXD at {describe_url(url)} broke while reading "
            f"the answer to {doing}"
        )
    else:
        message = f"Cannot reach LXD at {describe_url(url)} ({doing})"
    lost = exceptions.ConnectionLost(f"{message}: {_cause(err)}")
    # What a cut body delivered, so that a download can say how much it got:
    # the bytes (http.client's IncompleteRead) or their count (urllib3's).
    seen: BaseException | None = err
    while seen is not None:  # urllib3 wraps it: ProtocolError from IncompleteRead
        partial = getattr(seen, "partial", None)
        if isinstance(partial, (bytes, int)):
            lost.partial = partial  # type: ignore[attr-defined]
            break
        seen = seen.__cause__ or seen.__context__
    return lost


@contextlib.contextmanager
def mapped_errors(
    url: str, doing: str, timeout: Any, reading: bool = False
) -> Iterator[None]:
    """Raise what :func:`transport_error` makes of a failure inside."""
    try:
        yield
    except Exception as err:
        mapped = transport_error(err, url, doing, timeout, reading)
        if mapped is err:
            raise
        raise mapped from err


_TIMEOUTS = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
_FAILURES = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)
#: Errors of a body cut short (after the request was answered).
_BROKEN_BODY = (
    http.client.IncompleteRead,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
)


class _GuardedBody:
    """A streamed body whose read errors are pylxd exceptions (see
    :func:`transport_error`); everything else is the wrapped body's."""

    def __init__(self, raw: Any, url: str, doing: str, timeout: Any) -> None:
        self._raw = raw
        self._guard = functools.partial(mapped_errors, url, doing, timeout, True)
        if hasattr(raw, "stream"):  # without it, requests reads with read()
            self.stream = self._stream

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        with self._guard():
            return self._raw.read(*args, **kwargs)  # type: ignore[no-any-return]

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        with self._guard():
            yield from self._raw.stream(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def __iter__(self) -> Iterator[bytes]:
        with self._guard():
            yield from self._raw


def describe_url(url: str | None) -> str:
    """``/var/lib/lxd/unix.socket (/1.0/instances)`` for a socket URL, else the URL."""
    parts = parse.urlsplit(url or "")
    if parts.scheme == "http+unix":
        return f"{parse.unquote(parts.netloc)} ({parts.path})"
    return url or "?"


def _cause(err: BaseException) -> str:
    """Dig out the innermost, most readable reason of a requests error."""
    seen = err
    while seen.__context__ is not None and seen.__context__ is not seen:
        seen = seen.__context__
    for candidate in (seen, err):
        text = str(candidate)
        if text:
            return text
    return type(err).__name__

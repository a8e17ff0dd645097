"""The HTTP side of pylxd: the ``_APINode`` URL tree and the sessions under it.

Everything that touches ``requests`` lives here: endpoint and certificate
discovery, the Unix-socket adapter (one keep-alive pool per socket), and the
single send path that all verbs go through.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import http.client
import io
import logging
import os
import select
import socket
import ssl
import threading
import time
import weakref
from collections import namedtuple
from typing import Any, Iterator, Mapping, TypeVar
from urllib import parse

import requests
import requests.adapters
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from pylxd import exceptions

logger = logging.getLogger("pylxd")


#: Connections kept per pool: one per thread for up to this many threads.
POOL_MAXSIZE = 32

#: Bytes of an answer that is not streamed accepted at most, by default
#: (``Client(max_response_size=)``): far above any LXD listing, far below
#: what an endless body would fill memory with. Streamed downloads are not
#: capped.
MAX_RESPONSE_SIZE = 128 * 1024 * 1024

#: Bytes read at a time from a body of unknown length (chunked).
_BODY_BLOCK = 1024 * 1024

SNAP_SOCKET = "/var/snap/lxd/common/lxd/unix.socket"
DEB_SOCKET = "/var/lib/lxd/unix.socket"
#: Incus's default socket (``$INCUS_DIR`` unset), tried after LXD's.
INCUS_SOCKET = "/var/lib/incus/unix.socket"

Cert = namedtuple("Cert", ["cert", "key"])

_SNAP_CONFIG = os.path.expanduser("~/snap/lxd/common/config")
_APT_CONFIG = os.path.expanduser("~/.config/lxc")
CERTS_PATH = _SNAP_CONFIG if os.path.isdir(_SNAP_CONFIG) else _APT_CONFIG
#: pylxd 2.4.2's names for the pieces of :data:`DEFAULT_CERTS` (with their
#: trailing slash, as pylxd spells them).
SNAP_ROOT = os.path.join(_SNAP_CONFIG, "")
APT_ROOT = os.path.join(_APT_CONFIG, "")
CERT_FILE_NAME = "client.crt"
KEY_FILE_NAME = "client.key"
DEFAULT_CERTS = Cert(
    cert=os.path.join(CERTS_PATH, CERT_FILE_NAME),
    key=os.path.join(CERTS_PATH, KEY_FILE_NAME),
)
#: The ``incus`` client's config dir: certificates from here are used when
#: LXD's (:data:`CERTS_PATH`) has none.
INCUS_CERTS_PATH = os.path.expanduser("~/.config/incus")

_SECRET_PARAMS = ("secret", "password", "trust_token", "token")


# Defined in pylxd.exceptions; importable from here as before.
ConnectionLost = exceptions.ConnectionLost
RequestTimeout = exceptions.RequestTimeout


def default_socket_path() -> str:
    """Return the local daemon's socket, the first of these that applies.

    ``$LXD_DIR/unix.socket``, ``$INCUS_DIR/unix.socket`` (when set), then
    the first that exists of LXD's snap socket, LXD's deb socket and Incus's
    default socket (:data:`INCUS_SOCKET`); the deb socket when none does.
    """
    for variable in ("LXD_DIR", "INCUS_DIR"):
        if variable in os.environ:
            return os.path.join(os.environ[variable], "unix.socket")
    for path in (SNAP_SOCKET, DEB_SOCKET, INCUS_SOCKET):
        if os.path.exists(path):
            return path
    return DEB_SOCKET


def client_config_dirs() -> tuple[str, str]:
    """The client config dirs, in the order they are searched.

    LXD's (:data:`CERTS_PATH`: ``~/snap/lxd/common/config`` or
    ``~/.config/lxc``), then Incus's (:data:`INCUS_CERTS_PATH`,
    ``~/.config/incus``). Each may hold ``client.crt``/``client.key`` and
    ``servercerts/<remote>.crt``.
    """
    return CERTS_PATH, INCUS_CERTS_PATH


def default_client_cert(lxd_default: Cert | None = None) -> Cert | None:
    """The client certificate to use when none is given, or None.

    ``lxd_default`` (by default LXD's ``client.{crt,key}``) when both files
    exist, else the ``incus`` client's pair in :data:`INCUS_CERTS_PATH`.
    """
    incus = Cert(
        cert=os.path.join(INCUS_CERTS_PATH, "client.crt"),
        key=os.path.join(INCUS_CERTS_PATH, "client.key"),
    )
    for pair in (lxd_default or DEFAULT_CERTS, incus):
        if all(os.path.exists(path) for path in pair):
            return pair
    return None


#: Socket paths by the URL host :func:`unix_socket_url` made of them, so that
#: requests find their socket without unquoting it again.
_SOCKET_PATHS: dict[str, str] = {}


def unix_socket_url(path: str) -> str:
    """``/var/lib/lxd/unix.socket`` -> ``http+unix://%2Fvar%2Flib%2Flxd%2Funix.socket``."""
    host = parse.quote(path, safe="")
    _SOCKET_PATHS[host] = path
    return "http+unix://" + host


def endpoint_url(endpoint: str | None) -> str:
    """Normalise a Client endpoint into a base URL (no trailing slash).

    :raises ClientConnectionFailed: for an endpoint that is neither an
        existing socket path nor an http(s) URL.
    """
    if endpoint is None:
        return unix_socket_url(default_socket_path())
    if not isinstance(endpoint, str) or not endpoint:
        raise exceptions.ClientConnectionFailed(
            f"Invalid LXD endpoint {endpoint!r}: expected a socket path or an https:// URL"
        )
    if os.path.exists(endpoint):
        return unix_socket_url(endpoint)
    scheme = parse.urlsplit(endpoint).scheme
    if scheme not in ("http", "https", "http+unix"):
        hint = (
            "no such socket" if endpoint.startswith("/") else "expected an https:// URL"
        )
        raise exceptions.ClientConnectionFailed(
            f"Invalid LXD endpoint {endpoint!r}: {hint}"
        )
    if scheme in ("http", "https") and not parse.urlsplit(endpoint).hostname:
        raise exceptions.ClientConnectionFailed(
            f"Invalid LXD endpoint {endpoint!r}: no host"
        )
    # Extra trailing slashes make LXD answer with a redirect.
    return endpoint.rstrip("/")


def server_cert_for(url: str) -> str | None:
    """Return ``<config>/servercerts/<host>.crt`` for ``url`` when it exists.

    LXD's config dir is searched first, then Incus's (:func:`client_config_dirs`).
    """
    host = parse.urlsplit(url).hostname
    if not host:
        return None
    for config in client_config_dirs():
        path = os.path.join(config, "servercerts", f"{host}.crt")
        if os.path.exists(path):
            return path
    return None


def check_cert_files(cert: Any) -> None:
    """Fail early, and clearly, on client certificate files that cannot be used.

    :raises ClientConnectionFailed: when a file is missing or not PEM.
    """
    files = [cert] if isinstance(cert, str) else list(cert)
    for path in files:
        try:
            with open(path, "rb") as handle:
                head = handle.read(4096)
        except OSError as err:
            raise exceptions.ClientConnectionFailed(
                f"Cannot read client certificate file {path!r}: {err.strerror}"
            ) from err
        if b"-----BEGIN" not in head:
            raise exceptions.ClientConnectionFailed(
                f"Client certificate file {path!r} is not in PEM format"
            )


class _DeadlineReader(io.RawIOBase):
    """The reads of a socket, each within its timeout and all before its deadline.

    ``http.client`` reads status lines, headers and body through this: a
    server dripping a byte at a time, or sending ``100 Continue`` forever,
    cannot hold an answer past the deadline of its socket.
    """

    def __init__(self, sock: _UnixSocket) -> None:
        super().__init__()
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        sock = self._sock
        if sock.deadline is not None:
            left = sock.deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no whole answer before the deadline")
            if sock.per_read is None or left < sock.per_read:
                sock.settimeout(left)
        return sock.recv_into(buffer)


class _UnixSocket(socket.socket):
    """A Unix socket whose reads (through :meth:`makefile`) obey ``deadline``."""

    #: ``time.monotonic()`` by which the current answer must be read (or None).
    deadline: float | None = None
    #: The timeout of each read, restored when the deadline is lifted.
    per_read: float | None = None

    def makefile(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode != "rb":
            return super().makefile(mode, *args, **kwargs)  # type: ignore
        return io.BufferedReader(_DeadlineReader(self))

    def bound(self, per_read: float | None, deadline: float | None) -> None:
        """Give each read ``per_read`` seconds, all of them until ``deadline``."""
        self.per_read, self.deadline = per_read, deadline
        self.settimeout(per_read)


class _UnixConnection(http.client.HTTPConnection):
    """An HTTP/1.1 keep-alive connection to a Unix socket."""

    sock: _UnixSocket | None  # type: ignore[assignment]

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


class _Response(requests.Response):
    """A response that parses its JSON body once for LXD's envelope check.

    While :meth:`_APINode._send` checks the envelope, the parse is kept and
    handed to the first caller of :meth:`json` afterwards (the check only
    reads it); any later call parses the body afresh, as requests does.
    """

    _keep_parse = False

    def json(self, **kwargs: Any) -> Any:
        parsed = self.__dict__.pop("_parsed", None)
        if parsed is not None and not kwargs:
            return parsed
        value = super().json(**kwargs)
        if self._keep_parse and not kwargs:
            self._parsed = value
        return value


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
                    conn.timeout = timeout
                    if conn.sock is not None:
                        conn.sock.settimeout(timeout)
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
            conn.sock.bound(read_timeout, None)  # type: ignore[union-attr]
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
        headers = request.headers  # case-insensitive, as http.client reads it
        chunked = (
            body is not None
            and not isinstance(body, (bytes, str))
            and not hasattr(body, "read")
            and "Content-Length" not in headers
        )
        try:
            if conn.sock is None:
                conn.connect()
            conn.sock.bound(read_timeout, deadline)  # type: ignore[union-attr]
            conn.request(
                request.method or "GET",
                url,
                body=body,
                headers=headers,
                encode_chunked=chunked,
            )
            return conn.getresponse()
        except socket.timeout as err:
            raise requests.exceptions.ReadTimeout(err, request=request) from err
        except (OSError, http.client.HTTPException) as err:
            raise requests.exceptions.ConnectionError(err, request=request) from err

    @staticmethod
    def _build(
        request: requests.PreparedRequest, raw: http.client.HTTPResponse
    ) -> requests.Response:
        response = _Response()
        response.status_code = raw.status
        response.headers = CaseInsensitiveDict(raw.getheaders())
        response.reason = raw.reason
        response.url = request.url or ""
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.raw = raw
        return response

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()


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
    """requests' adapter, with answers that are not streamed bounded in size
    and (while the body is read) in time, as on the Unix socket."""

    def __init__(
        self,
        *args: Any,
        max_response_size: int | None = MAX_RESPONSE_SIZE,
        **kwargs: Any,
    ) -> None:
        self.max_response_size = max_response_size
        super().__init__(*args, **kwargs)

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        **kwargs: Any,
    ) -> requests.Response:
        started = time.monotonic()
        response = super().send(request, stream=True, timeout=timeout, **kwargs)
        if stream:
            return response
        total = timeout[1] if isinstance(timeout, tuple) else timeout
        deadline = None if total is None else started + total
        length = response.headers.get("Content-Length")
        raw = response.raw
        try:
            response._content = read_capped(
                response,
                functools.partial(_read_before, raw, deadline),
                int(length) if length and length.isdigit() else None,
                self.max_response_size,
            )
        except BaseException:
            response.close()
            raise
        response._content_consumed = True  # type: ignore[attr-defined]
        raw.release_conn()
        return response


def _read_before(raw: Any, deadline: float | None, amt: int | None = None) -> bytes:
    """Read (up to ``amt`` bytes of) a urllib3 body, giving up at ``deadline``."""
    if deadline is None:
        return bytes(raw.read(amt, decode_content=True))
    parts = []
    while amt is None or amt > 0:
        if time.monotonic() >= deadline:
            raise requests.exceptions.ReadTimeout("no whole answer before the deadline")
        block = raw.read1(min(amt or _BODY_BLOCK, _BODY_BLOCK), decode_content=True)
        if not block:
            break
        parts.append(block)
        if amt is not None:
            amt -= len(block)
    return b"".join(parts)


def transport_error(
    err: BaseException, url: str, doing: str, timeout: Any, reading: bool = False
) -> BaseException:
    """The pylxd exception for a failure of the HTTP stack (``err`` itself
    when it is already a pylxd exception or none of the stack's).

    This is the one place (like httpx's ``map_httpcore_exceptions``) where
    errors of ``requests``, urllib3, ``http.client``, ``ssl`` and sockets,
    raised while sending a request or reading its answer (also a streamed
    body read later), become :class:`RequestTimeout` or
    :class:`ConnectionLost` naming the socket or URL.

    :param url: the URL asked (named as :func:`describe_url` does).
    :param doing: what was being done, e.g. ``"GET"``.
    :param reading: the request was sent and its (streamed) body was being read.
    """
    if isinstance(err, (exceptions.ClientConnectionFailed, exceptions.LXDAPIException)):
        return err
    if isinstance(err, _TIMEOUTS):
        return RequestTimeout(
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
    lost = ConnectionLost(f"{message}: {_cause(err)}")
    # What a cut body delivered (http.client's IncompleteRead.partial), so
    # that a download can say how much it got.
    partial = getattr(err, "partial", None)
    if isinstance(partial, bytes):
        lost.partial = partial  # type: ignore[attr-defined]
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


# -- TLS: one decision for HTTP, websockets and upgrades ----------------------
_PEM_CERT = b"-----BEGIN CERTIFICATE-----"


@functools.lru_cache(maxsize=32)
def _pin_of_file(path: str, mtime_ns: int) -> str | None:
    with open(path, "rb") as handle:
        data = handle.read()
    if data.count(_PEM_CERT) != 1:
        return None  # none, or several: a CA bundle
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError:
        return None  # let the TLS library report what is wrong with it
    try:
        is_ca = certificate.extensions.get_extension_for_class(
            x509.BasicConstraints
        ).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    return None if is_ca else certificate.fingerprint(hashes.SHA256()).hex()


def pinned_fingerprint(verify: Any) -> str | None:
    """The SHA-256 fingerprint ``verify`` pins, or None when it is not a pin.

    A ``verify`` path holding exactly one certificate that is not a CA (such
    as LXD's ``server.crt`` or a ``servercerts/<remote>.crt``) pins that
    certificate, as pylxd 2.4.2's ``LXDSSLAdapter`` does: the server must
    present it, whatever address it is reached by, and the host name is not
    checked. Any other file (several certificates, or a CA certificate) or a
    directory is a CA bundle, verified with the host name as usual.
    """
    if isinstance(verify, bool) or not isinstance(verify, (str, os.PathLike)):
        return None
    path = os.fspath(verify)
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if not os.path.isfile(path):
        return None
    return _pin_of_file(path, stat.st_mtime_ns)


class _PinnedSocket(ssl.SSLSocket):
    """A TLS socket that checks its context's pinned fingerprint after the handshake."""

    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        pin: str = self.context.pin  # type: ignore[attr-defined]
        der = self.getpeercert(binary_form=True) or b""
        seen = hashlib.sha256(der).hexdigest()
        if seen != pin:
            raise ssl.SSLCertVerificationError(
                1,
                f"certificate verify failed: the server certificate (SHA-256 {seen}) "
                f"is not the pinned one ({pin})",
            )


class _PinnedContext(ssl.SSLContext):
    """An ``SSLContext`` accepting only the certificate with fingerprint ``pin``."""

    sslsocket_class = _PinnedSocket
    pin: str


def tls_context(verify: Any, cert: Any) -> ssl.SSLContext:
    """The ``SSLContext`` for a TLS connection with this ``verify`` and client ``cert``.

    The one place that decides how the server is checked, for websockets and
    protocol upgrades alike (HTTP requests get the same through
    :class:`LXDSSLAdapter`): False does not check; a pinned certificate
    (:func:`pinned_fingerprint`) must be the server's; True or a CA bundle
    verifies the chain and the host name.

    :raises OSError: or :class:`ssl.SSLError` for files that cannot be loaded.
    """
    pin = pinned_fingerprint(verify)
    context: ssl.SSLContext
    if pin is not None:
        context = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        context.pin = pin  # type: ignore[attr-defined]
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if verify is False or pin is not None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        location = _ca_location(verify)
        if os.path.isdir(location):
            context.load_verify_locations(capath=location)
        else:
            context.load_verify_locations(cafile=location)
    if isinstance(cert, (str, os.PathLike)):
        context.load_cert_chain(cert)
    elif cert:
        context.load_cert_chain(cert[0], cert[1])
    return context


def _ca_location(verify: Any) -> str:
    if verify is True:
        from requests.utils import DEFAULT_CA_BUNDLE_PATH

        return str(DEFAULT_CA_BUNDLE_PATH)
    return os.fspath(verify)


class LXDSSLAdapter(_HTTPAdapter):
    """An HTTPS adapter that pins the server certificate named by ``verify``.

    When ``verify`` is a pinned certificate (:func:`pinned_fingerprint`), the
    connection is accepted only if the server presents exactly it, and the
    host name is not checked, so an LXD server is reachable by any address
    (IP, NAT, DNS alias). Any other ``verify`` is handled as by requests.
    Answers that are not streamed are bounded as by :class:`_HTTPAdapter`.
    """

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        pin = pinned_fingerprint(verify)
        if pin is None:
            super().cert_verify(conn, url, verify, cert)
            return
        super().cert_verify(conn, url, False, cert)
        conn.assert_fingerprint = pin

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        try:
            return super().send(request, **kwargs)
        except requests.exceptions.SSLError as err:
            # urllib3's words for a pin mismatch, said as for websockets.
            if "Fingerprints did not match" not in str(err):
                raise
            message = (
                "certificate verify failed: the server certificate is not the "
                f"pinned one ({_cause(err)})"
            )
        # Raised outside the handler: _cause() reports the innermost error.
        raise requests.exceptions.SSLError(message, request=request)


def _merge_keeping_verify(
    session: requests.Session,
    url: str,
    proxies: Any,
    stream: Any,
    verify: Any,
    cert: Any,
) -> dict[str, Any]:
    """Merge environment settings but never let a CA bundle variable replace
    the ``verify`` the caller gave the session (False or a path)."""
    settings: dict[str, Any] = dict(
        requests.Session.merge_environment_settings(
            session, url, proxies, stream, verify, cert
        )
    )
    if verify is None and session.verify is not True:
        settings["verify"] = session.verify
    return settings


#: The attribute by which an endpoint carries the ``requests`` adapter that
#: serves it in-process, as :attr:`pylxd.testing.FakeLXD.endpoint` does. No
#: host name is looked up anywhere: the adapter travels with the endpoint to
#: the client's session, and websockets ask that session for it
#: (``pylxd._websocket.connector_for``).
IN_PROCESS_ADAPTER = "pylxd_adapter"


def in_process_endpoint(endpoint: Any) -> tuple[Any, requests.Session | None]:
    """Split an endpoint carrying an in-process adapter (:data:`IN_PROCESS_ADAPTER`)
    into its plain URL and a session with the adapter mounted on it; any
    other endpoint comes back as it is, with None."""
    adapter = getattr(endpoint, IN_PROCESS_ADAPTER, None)
    if adapter is None:
        return endpoint, None
    # A plain copy: urlsplit's cache would keep the carrier (and the adapter) alive.
    url = str(endpoint)
    session = requests.Session()
    parts = parse.urlsplit(url)
    session.mount(f"{parts.scheme}://{parts.netloc}", adapter)
    session.trust_env = False
    # Held weakly, as in get_session_for_url.
    session.request = functools.partial(  # type: ignore
        _unix_request, weakref.proxy(session)
    )
    return url, session


#: ``allow_redirects`` is accepted and ignored: LXD does not redirect socket
#: requests, and ``Session.get`` always passes it.
_FAST_KWARGS = frozenset(
    ("params", "data", "headers", "json", "timeout", "stream", "allow_redirects")
)


def _prepare(
    method: str,
    url: str,
    headers: Any,
    params: Any,
    data: Any,
    json: Any,
    own_headers: bool = False,
) -> requests.PreparedRequest:
    """``PreparedRequest.prepare`` without cookies, auth and hooks (a socket
    session has none) and without re-parsing our own URL, which ``_APINode``
    built: only the query is added, and unsafe characters quoted as requests
    does."""
    prepared = requests.PreparedRequest()
    prepared.prepare_method(method)
    if "#" in url or isinstance(params, (str, bytes)):
        prepared.prepare_url(url, params)
    else:
        query = prepared._encode_params(params) if params else ""  # type: ignore
        if query:
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        prepared.url = requests.utils.requote_uri(url)
    if own_headers:  # already checked when they were set
        prepared.headers = CaseInsensitiveDict(headers)
    else:
        prepared.prepare_headers(headers)
    if data is not None or json is not None or prepared.method not in ("GET", "HEAD"):
        prepared.prepare_body(data, None, json)
    return prepared


def _unix_request(
    session: requests.Session, method: str, url: str, **kwargs: Any
) -> requests.Response:
    """``Session.request`` for our own Unix-socket sessions, minus what a socket
    never needs (cookies, auth, proxies, redirects), which costs more CPU than
    LXD's answer. Anything unusual goes through requests' full path."""
    if (
        not _FAST_KWARGS.issuperset(kwargs)
        or session.cookies
        or session.auth
        or any(session.hooks.values())
    ):
        return requests.Session.request(session, method, url, **kwargs)
    headers = kwargs.get("headers")
    prepared = _prepare(
        method,
        url,
        {**session.headers, **headers} if headers else session.headers,
        kwargs.get("params"),
        kwargs.get("data"),
        kwargs.get("json"),
        own_headers=not headers,
    )
    adapter = session.get_adapter(url)
    return adapter.send(
        prepared, stream=kwargs.get("stream", False), timeout=kwargs.get("timeout")
    )


def set_max_response_size(session: Any, size: int | None) -> None:
    """Cap the answers (not streamed) of ``session``'s pylxd adapters at ``size``
    bytes (None: no cap); adapters of other kinds are left alone."""
    for adapter in getattr(session, "adapters", {}).values():
        if isinstance(adapter, (_UnixAdapter, _HTTPAdapter)):
            adapter.max_response_size = size


def get_session_for_url(
    url: str, verify: Any = None, cert: Any = None
) -> requests.Session:
    """Return a ``requests.Session`` suited to ``url`` (Unix socket or HTTPS).

    ``verify`` (True, False, or a CA/server-cert path) always wins over
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` in the environment.
    """
    session = requests.Session()
    # The session's own methods hold it weakly: a reference cycle would keep
    # its sockets open until the cyclic garbage collector runs.
    itself = weakref.proxy(session)
    _close_with(session)
    if url.startswith("http+unix://"):
        session.mount("http+unix://", _UnixAdapter())
        # The socket adapter hands bodies over as they come: ask for them plain.
        session.headers = CaseInsensitiveDict(
            {"User-Agent": session.headers["User-Agent"], "Accept-Encoding": "identity"}
        )
        # Proxies, .netrc and CA bundles from the environment mean nothing on a
        # Unix socket, and reading them costs more CPU than the request itself.
        session.trust_env = False
        session.request = functools.partial(_unix_request, itself)  # type: ignore
        return session
    session.mount("https://", LXDSSLAdapter(pool_maxsize=POOL_MAXSIZE))
    session.mount("http://", _HTTPAdapter(pool_maxsize=POOL_MAXSIZE))
    session.cert = cert
    session.verify = True if verify is None else verify
    session.merge_environment_settings = functools.partial(  # type: ignore
        _merge_keeping_verify, itself
    )
    return session


def mark_incus(session: Any, incus: bool) -> None:
    """Tell ``session``'s requests whether they go to Incus (see :func:`_incus_headers`)."""
    session._pylxd_incus = incus


def _incus_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """LXD's ``X-LXD-<name>`` request headers as Incus names them, ``X-Incus-<name>``.

    Incus renamed them (it still reads some old names, e.g. for files, but not
    all: a backup's ``X-LXD-name`` is ignored).
    """
    return {
        (f"X-Incus-{key[6:]}" if key.lower().startswith("x-lxd-") else key): value
        for key, value in headers.items()
    }


def _alias_incus_headers(response: Any) -> None:
    """Give each ``X-Incus-<name>`` answer header its LXD name ``X-LXD-<name>`` too.

    The models read LXD's names; Incus answers with its own only.
    """
    headers = getattr(response, "headers", None)
    if not headers:
        return
    for key in [k for k in headers if k.lower().startswith("x-incus-")]:
        headers.setdefault(f"X-LXD-{key[8:]}", headers[key])


def _close_with(session: requests.Session) -> None:
    """Close the adapters mounted so far when ``session`` is garbage.

    The finalizer holds the adapters, not the session, so it does not keep
    the session alive; their pooled sockets are closed cleanly (no
    ``ResourceWarning``) rather than left to the interpreter.
    """
    adapters = session.adapters  # the mapping, so later mounts are closed too
    weakref.finalize(session, _close_adapters, adapters)


def _close_adapters(adapters: Mapping[str, requests.adapters.BaseAdapter]) -> None:
    for adapter in list(adapters.values()):
        adapter.close()


def _redact(params: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not params:
        return params
    return {k: ("<redacted>" if k in _SECRET_PARAMS else v) for k, v in params.items()}


#: An ``_APINode`` or a subclass (:meth:`_APINode.sibling` keeps the class).
_Node = TypeVar("_Node", bound="_APINode")


class _APINode:
    """An endpoint of the LXD API: attribute or item access appends a URL part.

    >>> node = _APINode("http+unix://%2Ftmp%2Fs", session=object())
    >>> node.instances["c1"].state._api_endpoint
    'http+unix://%2Ftmp%2Fs/instances/c1/state'
    >>> node.storage_pools._api_endpoint
    'http+unix://%2Ftmp%2Fs/storage-pools'
    """

    _HYPHENATED = {
        "storage_pools": "storage-pools",
        "virtual_machines": "virtual-machines",
    }

    def __init__(
        self,
        api_endpoint: str,
        session: Any = None,
        timeout: Any = None,
        project: str | None = None,
        *,
        cert: Any = None,
        verify: Any = True,
        retry: Any = None,
    ) -> None:
        self._api_endpoint = api_endpoint
        self._timeout = timeout
        self._project = project
        #: The client-wide :class:`pylxd.Retry` for reads (None: no retries).
        self._retry = retry
        self.session = (
            session
            if session is not None
            else get_session_for_url(api_endpoint, verify, cert)
        )

    def __getattr__(self, name: str) -> _APINode:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[self._HYPHENATED.get(name, name)]

    def __getitem__(self, item: Any) -> _APINode:
        return _APINode(
            f"{self._api_endpoint}/{item}",
            timeout=self._timeout,
            project=self._project,
            session=self.session,
            retry=self._retry,
        )

    def __repr__(self) -> str:
        return f"<_APINode {self._api_endpoint}>"

    def sibling(self: _Node, api_endpoint: str | None = None, **options: Any) -> _Node:
        """This node (same class and session) at ``api_endpoint``, with ``options``.

        ``options`` replace ``project``, ``timeout`` or ``retry``: models that
        need the root without its project, or a project-scoped copy, ask
        here instead of rebuilding a node from its private fields.

        :raises InvalidArgumentType: for another option.
        """
        from pylxd import exceptions

        unknown = set(options) - {"project", "timeout", "retry"}
        if unknown:
            raise exceptions.InvalidArgumentType(
                f"_APINode.sibling: unknown options {sorted(unknown)}"
            )
        node = copy.copy(self)
        if api_endpoint is not None:
            node._api_endpoint = api_endpoint
        for name, value in options.items():
            setattr(node, f"_{name}", value)
        return node

    @property
    def scheme(self) -> str:
        return parse.urlparse(self._api_endpoint).scheme

    @property
    def netloc(self) -> str:
        return parse.urlparse(self._api_endpoint).netloc

    def get(self, *args: Any, **kwargs: Any) -> requests.Response:
        """Perform an HTTP GET against the API endpoint."""
        return self._send("get", args, kwargs, ok=(200,))

    def post(
        self, *args: Any, target: str | None = None, **kwargs: Any
    ) -> requests.Response:
        """Perform an HTTP POST (``target=`` picks a cluster member)."""
        return self._send("post", args, kwargs, ok=(200, 201, 202), target=target)

    def put(self, *args: Any, **kwargs: Any) -> requests.Response:
        """Perform an HTTP PUT against the API endpoint."""
        return self._send("put", args, kwargs, ok=(200, 202))

    def patch(self, *args: Any, **kwargs: Any) -> requests.Response:
        """Perform an HTTP PATCH against the API endpoint."""
        return self._send("patch", args, kwargs, ok=(200, 202))

    def delete(self, *args: Any, **kwargs: Any) -> requests.Response:
        """Perform an HTTP DELETE against the API endpoint."""
        return self._send("delete", args, kwargs, ok=(200, 202))

    def _send(
        self,
        verb: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        ok: tuple[int, ...],
        check_sync: bool = True,
        target: str | None = None,
    ) -> requests.Response:
        """Send once, or under a retry policy: ``retry=`` of this call (any
        verb, as asked), else the client's for reads (``GET``/``HEAD``)."""
        from pylxd import _retry

        # pylxd's ``is_api=False``: the body is not an LXD envelope to check.
        check_sync = kwargs.pop("is_api", True) is not False and check_sync
        asked = "retry" in kwargs
        policy = _retry.check_policy(kwargs.pop("retry", None), verb.upper())
        if not asked and verb in _retry.SAFE_VERBS:
            policy = self._retry
        if policy is None:
            return self._send_once(verb, args, kwargs, ok, check_sync, target)
        return _retry.send_with_retry(
            policy,
            f"{verb.upper()} {self._describe()}",
            functools.partial(
                self._send_once, verb, args, dict(kwargs), ok, check_sync, target
            ),
        )

    def _send_once(
        self,
        verb: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        ok: tuple[int, ...],
        check_sync: bool,
        target: str | None,
    ) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        extra = {
            k: v
            for k, v in (("project", self._project), ("target", target))
            if v is not None
        }
        if extra:  # the caller's own params (e.g. another project) win
            kwargs["params"] = {**extra, **(kwargs.get("params") or {})}
        if kwargs.get("headers") and getattr(self.session, "_pylxd_incus", False):
            kwargs["headers"] = _incus_headers(kwargs["headers"])
        started = time.perf_counter()
        url = self._api_endpoint
        try:
            response = getattr(self.session, verb)(url, *args, **kwargs)
        except Exception as err:  # try/except: free on the hot path
            mapped = transport_error(err, url, verb.upper(), kwargs["timeout"])
            if mapped is err:
                raise
            raise mapped from err
        if kwargs.get("stream"):  # its body is read later, by the caller
            response.raw = _GuardedBody(
                response.raw, url, verb.upper(), kwargs["timeout"]
            )
        if logger.isEnabledFor(logging.DEBUG):
            self._log(
                verb, kwargs.get("params"), response, time.perf_counter() - started
            )
        _alias_incus_headers(response)
        if type(response) is not _Response:
            exceptions._check_response(response, ok=ok, check_sync=check_sync)
            return response
        response._keep_parse = True  # the caller gets the check's parse
        try:
            exceptions._check_response(response, ok=ok, check_sync=check_sync)
        finally:
            response._keep_parse = False
        return response

    def _describe(self) -> str:
        return describe_url(self._api_endpoint)

    def _log(self, verb: str, params: Any, response: Any, seconds: float) -> None:
        operation = None
        if response.headers.get("Content-Type", "").startswith("application/json"):
            body = exceptions._json_body(response)
            if isinstance(body, dict) and body.get("type") == "async":
                operation = body.get("operation")
        logger.debug(
            "%s %s params=%s -> %s in %.1f ms%s",
            verb.upper(),
            parse.urlsplit(self._api_endpoint).path,
            _redact(params),
            response.status_code,
            seconds * 1000,
            f" operation={operation}" if operation else "",
        )


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

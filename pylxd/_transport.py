"""The HTTP side of pylxd: the ``_APINode`` URL tree and the sessions under it.

Everything that touches ``requests`` lives here: endpoint and certificate
discovery, the Unix-socket adapter (one keep-alive pool per socket), and the
single send path that all verbs go through.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections import namedtuple
from typing import Any, Mapping
from urllib import parse

import requests
import requests.adapters
from urllib3.connectionpool import HTTPConnectionPool

from pylxd import exceptions

logger = logging.getLogger("pylxd")

JSONDict = dict[str, Any]

#: Connections kept per pool: one per thread for up to this many threads.
POOL_MAXSIZE = 32

SNAP_SOCKET = "/var/snap/lxd/common/lxd/unix.socket"
DEB_SOCKET = "/var/lib/lxd/unix.socket"

Cert = namedtuple("Cert", ["cert", "key"])

_SNAP_CONFIG = os.path.expanduser("~/snap/lxd/common/config")
_APT_CONFIG = os.path.expanduser("~/.config/lxc")
CERTS_PATH = _SNAP_CONFIG if os.path.isdir(_SNAP_CONFIG) else _APT_CONFIG
DEFAULT_CERTS = Cert(
    cert=os.path.join(CERTS_PATH, "client.crt"),
    key=os.path.join(CERTS_PATH, "client.key"),
)

_SECRET_PARAMS = ("secret", "password", "trust_token", "token")


class ConnectionLost(
    exceptions.ClientConnectionFailed, requests.exceptions.ConnectionError
):
    """LXD could not be reached for a request (daemon gone, socket missing, TLS refused)."""


class RequestTimeout(exceptions.ClientConnectionFailed, requests.exceptions.Timeout):
    """LXD did not answer a request within the client's ``timeout``."""


def default_socket_path() -> str:
    """Return the LXD socket: ``$LXD_DIR/unix.socket``, the snap's, or the deb's."""
    if "LXD_DIR" in os.environ:
        return os.path.join(os.environ["LXD_DIR"], "unix.socket")
    if os.path.exists(SNAP_SOCKET):
        return SNAP_SOCKET
    return DEB_SOCKET


def unix_socket_url(path: str) -> str:
    """``/var/lib/lxd/unix.socket`` -> ``http+unix://%2Fvar%2Flib%2Flxd%2Funix.socket``."""
    return "http+unix://" + parse.quote(path, safe="")


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
    """Return ``<config>/servercerts/<host>.crt`` for ``url`` when it exists."""
    host = parse.urlsplit(url).hostname
    if not host:
        return None
    path = os.path.join(CERTS_PATH, "servercerts", f"{host}.crt")
    return path if os.path.exists(path) else None


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


class _UnixPool(HTTPConnectionPool):
    """A keep-alive pool of connections to one Unix socket (``netloc`` is its quoted path)."""

    def __init__(self, netloc: str, maxsize: int) -> None:
        super().__init__("localhost", maxsize=maxsize)
        self._socket_url = "http+unix://" + netloc

    def _new_conn(self) -> Any:
        from requests_unixsocket.adapters import UnixHTTPConnection

        return UnixHTTPConnection(
            self._socket_url, timeout=self.timeout.connect_timeout
        )


class _UnixAdapter(requests.adapters.HTTPAdapter):
    """An adapter for ``http+unix://`` URLs with one keep-alive pool per socket.

    requests-unixsocket keys its pools by the full request URL, which opens a
    new connection for almost every call and breaks under threads.
    """

    def __init__(self, pool_maxsize: int = POOL_MAXSIZE) -> None:
        super().__init__(pool_maxsize=pool_maxsize)
        self._unix_pools: dict[str, HTTPConnectionPool] = {}
        self._unix_lock = threading.Lock()
        self._unix_maxsize = pool_maxsize

    def get_connection_with_tls_context(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        verify: Any,
        proxies: Any = None,
        cert: Any = None,
    ) -> HTTPConnectionPool:
        return self.get_connection(request.url or "")

    def get_connection(self, url: str, proxies: Any = None) -> HTTPConnectionPool:  # type: ignore[override]
        netloc = parse.urlsplit(url).netloc
        with self._unix_lock:
            pool = self._unix_pools.get(netloc)
            if pool is None:
                pool = self._unix_pools[netloc] = _UnixPool(netloc, self._unix_maxsize)
        return pool

    def request_url(self, request: requests.PreparedRequest, proxies: Any) -> str:
        return request.path_url

    def close(self) -> None:
        with self._unix_lock:
            pools, self._unix_pools = self._unix_pools, {}
        for pool in pools.values():
            pool.close()
        super().close()


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


def get_session_for_url(
    url: str, verify: Any = None, cert: Any = None
) -> requests.Session:
    """Return a ``requests.Session`` suited to ``url`` (Unix socket or HTTPS).

    ``verify`` (True, False, or a CA/server-cert path) always wins over
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` in the environment.
    """
    session = requests.Session()
    if url.startswith("http+unix://"):
        session.mount("http+unix://", _UnixAdapter())
        # Proxies, .netrc and CA bundles from the environment mean nothing on a
        # Unix socket, and reading them costs more CPU than the request itself.
        session.trust_env = False
        return session
    session.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=POOL_MAXSIZE))
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=POOL_MAXSIZE))
    session.cert = cert
    session.verify = True if verify is None else verify
    session.merge_environment_settings = functools.partial(  # type: ignore
        _merge_keeping_verify, session
    )
    return session


def _redact(params: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not params:
        return params
    return {k: ("<redacted>" if k in _SECRET_PARAMS else v) for k, v in params.items()}


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
        cert: Any = None,
        verify: Any = True,
        timeout: Any = None,
        project: str | None = None,
        session: Any = None,
    ) -> None:
        self._api_endpoint = api_endpoint
        self._timeout = timeout
        self._project = project
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
        )

    def __repr__(self) -> str:
        return f"<_APINode {self._api_endpoint}>"

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
        kwargs.setdefault("timeout", self._timeout)
        extra = {
            k: v
            for k, v in (("project", self._project), ("target", target))
            if v is not None
        }
        if extra:  # the caller's own params (e.g. another project) win
            kwargs["params"] = {**extra, **(kwargs.get("params") or {})}
        started = time.perf_counter()
        try:
            response = getattr(self.session, verb)(self._api_endpoint, *args, **kwargs)
        except requests.exceptions.Timeout as err:
            raise RequestTimeout(
                f"LXD at {self._describe()} did not answer {verb.upper()} within {kwargs['timeout']} s"
            ) from err
        except requests.exceptions.ConnectionError as err:
            raise ConnectionLost(
                f"Cannot reach LXD at {self._describe()}: {_cause(err)}"
            ) from err
        if logger.isEnabledFor(logging.DEBUG):
            self._log(
                verb, kwargs.get("params"), response, time.perf_counter() - started
            )
        exceptions._check_response(response, ok=ok, check_sync=check_sync)
        return response

    def _describe(self) -> str:
        parts = parse.urlsplit(self._api_endpoint)
        if parts.scheme == "http+unix":
            return f"{parse.unquote(parts.netloc)} ({parts.path})"
        return self._api_endpoint

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

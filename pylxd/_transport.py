"""The HTTP side of pylxd: the ``_APINode`` URL tree and the sessions under it.

Endpoint and certificate discovery, the sessions pylxd builds
(:func:`get_session_for_url`) and the single send path that all verbs go
through (:class:`_APINode`). The adapter, its pools and deadline live in
:mod:`pylxd._http`, the TLS policy in :mod:`pylxd._tls`; both are
re-exported here, where the rest of pylxd (and pylxd 2.4.2's names in
:mod:`pylxd.client`) import them from.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import time
import weakref
from collections import namedtuple
from typing import Any, Mapping, TypeVar
from urllib import parse

import requests
import requests.adapters

from pylxd import _retry, exceptions
from pylxd._http import (  # noqa: F401  (re-exported)
    MAX_RESPONSE_SIZE,
    POOL_MAXSIZE,
    _cause,
    _GuardedBody,
    _HTTPAdapter,
    _Response,
    copy_headers,
    describe_url,
    lxd_header_name,
    requote,
    transport_error,
    unix_socket_url,
)
from pylxd._session import SOCKET_PREFIX, _close_adapters, _Session, _SocketSession
from pylxd._tls import (  # noqa: F401  (re-exported)
    LXDSSLAdapter,
    _ca_location,
    _merge_keeping_verify,
    pinned_fingerprint,
    tls_context,
)
from pylxd._unix import _UnixAdapter, _UnixConnection  # noqa: F401  (re-exported)

logger = logging.getLogger("pylxd")


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


#: :func:`unix_socket_url` once per socket path: quoting it costs as much
#: CPU as the rest of the endpoint discovery.
_socket_url = functools.lru_cache(maxsize=64)(unix_socket_url)


def endpoint_url(endpoint: str | None) -> str:
    """Normalise a Client endpoint into a base URL (no trailing slash).

    :raises ClientConnectionFailed: for an endpoint that is neither an
        existing socket path nor an http(s) URL.
    """
    if endpoint is None:
        return _socket_url(default_socket_path())
    if not isinstance(endpoint, str) or not endpoint:
        raise exceptions.ClientConnectionFailed(
            f"Invalid LXD endpoint {endpoint!r}: expected a socket path or an https:// URL"
        )
    if os.path.exists(endpoint):
        return _socket_url(endpoint)
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
    session = _Session()
    parts = parse.urlsplit(url)
    session.mount(f"{parts.scheme}://{parts.netloc}", adapter)
    session.trust_env = False
    # Held weakly, as in get_session_for_url.
    session.request = functools.partial(_unix_request, weakref.proxy(session))
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
    prepared.method = method.upper()  # prepare_method(), for a str
    if "#" in url or isinstance(params, (str, bytes)):
        prepared.prepare_url(url, params)
    else:
        query = prepared._encode_params(params) if params else ""  # type: ignore
        if query:
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        prepared.url = requote(url)
    if own_headers:  # already checked when they were set
        prepared.headers = copy_headers(headers)
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
        if isinstance(adapter, (_HTTPAdapter, _UnixAdapter)):
            adapter.max_response_size = size


def get_session_for_url(
    url: str, verify: Any = None, cert: Any = None
) -> requests.Session:
    """Return a ``requests.Session`` suited to ``url`` (Unix socket or HTTPS).

    ``verify`` (True, False, or a CA/server-cert path) always wins over
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` in the environment.
    """
    if url.startswith(SOCKET_PREFIX):
        socket_session = _SocketSession(_UnixAdapter())
        # The session's own methods hold it weakly: a reference cycle would
        # keep its sockets open until the cyclic garbage collector runs.
        socket_session.request = functools.partial(
            _unix_request, weakref.proxy(socket_session)
        )
        return socket_session
    session = _Session()
    itself = weakref.proxy(session)
    _close_with(session)
    session.mount("https://", LXDSSLAdapter(pool_maxsize=POOL_MAXSIZE))
    session.mount("http://", _HTTPAdapter(pool_maxsize=POOL_MAXSIZE))
    session.cert = cert
    session.verify = True if verify is None else verify
    session.merge_environment_settings = functools.partial(
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
    for key in list(headers):
        alias = lxd_header_name(key)
        if alias is not None:
            headers.setdefault(alias, headers[key])


def _close_with(session: requests.Session) -> None:
    """Close the adapters mounted so far when ``session`` is garbage.

    The finalizer holds the adapters, not the session, so it does not keep
    the session alive; their pooled sockets are closed cleanly (no
    ``ResourceWarning``) rather than left to the interpreter.
    """
    adapters = session.adapters  # the mapping, so later mounts are closed too
    weakref.finalize(session, _close_adapters, adapters)


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
        # pylxd's ``is_api=False``: the body is not an LXD envelope to check.
        if "is_api" in kwargs:
            check_sync = kwargs.pop("is_api") is not False and check_sync
        if "retry" in kwargs:
            policy = _retry.check_policy(kwargs.pop("retry"), verb.upper())
        else:
            policy = self._retry if verb in _retry.SAFE_VERBS else None
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
        if self._project is not None or target is not None:
            extra = {
                k: v
                for k, v in (("project", self._project), ("target", target))
                if v is not None
            }
            # The caller's own params (e.g. another project) win.
            kwargs["params"] = {**extra, **(kwargs.get("params") or {})}
        if kwargs.get("headers") and getattr(self.session, "_pylxd_incus", False):
            kwargs["headers"] = _incus_headers(kwargs["headers"])
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        url = self._api_endpoint
        try:
            response = getattr(self.session, verb)(url, *args, **kwargs)
        except Exception as err:  # try/except: free on the hot path
            mapped = transport_error(
                err, url, verb.upper(), kwargs["timeout"], json_body=kwargs.get("json")
            )
            if mapped is err:
                raise
            raise mapped from err
        if kwargs.get("stream"):  # its body is read later, by the caller
            response.raw = _GuardedBody(
                response.raw, url, verb.upper(), kwargs["timeout"]
            )
        if debug:
            self._log(
                verb, kwargs.get("params"), response, time.perf_counter() - started
            )
        if not getattr(response, "_incus_aliased", False):
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

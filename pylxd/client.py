"""The LXD client: ``Client`` and the names pylxd users reach through ``pylxd.client``."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import re  # noqa: F401  (pylxd 2.4.2 names: patch targets of user tests)
import socket  # noqa: F401
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib import parse

import requests
import urllib3  # noqa: F401  (already imported by requests: free)

from pylxd import _retry, exceptions, managers
from pylxd._transport import (  # noqa: F401  (re-exported seams)
    APT_ROOT,
    CERT_FILE_NAME,
    CERTS_PATH,
    DEFAULT_CERTS,
    KEY_FILE_NAME,
    MAX_RESPONSE_SIZE,
    SNAP_ROOT,
    Cert,
    LXDSSLAdapter,
    _APINode,
    check_cert_files,
    default_client_cert,
    endpoint_url,
    get_session_for_url,
    in_process_endpoint,
    mark_incus,
    server_cert_for,
    set_max_response_size,
)
from pylxd._types import JSONDict

if TYPE_CHECKING:  # pragma: no cover
    from pylxd import _events
    from pylxd._retry import Retry
    from pylxd._websocket import _WebsocketClient
    from pylxd.models.metrics import Metrics

__all__ = ["Client", "EventType", "Cert", "DEFAULT_CERTS", "get_session_for_url"]

#: pylxd 2.4.2's name for the scheme of Unix-socket URLs.
DEFAULT_SCHEME = "http+unix://"
#: pylxd 2.4.2's Unix-socket timeout constant, kept for code that reads it;
#: requests here are bounded by ``Client(timeout=)`` instead.
SOCKET_CONNECTION_TIMEOUT = 60


class EventType(Enum):
    """The kinds of events LXD can stream on ``/1.0/events``."""

    All = "all"
    Operation = "operation"
    Logging = "logging"
    Lifecycle = "lifecycle"


def _is_a_token(secret: str) -> bool:
    """Tell whether ``secret`` is a trust token rather than a trust password.

    A token is base64-encoded JSON naming the client, the server fingerprint,
    its addresses and the secret itself.

    >>> _is_a_token("not-a-token")
    False
    >>> _is_a_token(base64.b64encode(b'{"client_name": "x", "fingerprint": "ab", '
    ...     b'"addresses": ["127.0.0.1:8443"], "secret": "s", "expires_at": "0001-01-01T00:00:00Z"}').decode())
    True
    >>> _is_a_token(base64.b64encode(b'["a list"]').decode())
    False
    """
    try:
        decoded = json.loads(base64.b64decode(secret, validate=False))
    except (binascii.Error, ValueError, TypeError):
        return False
    return isinstance(decoded, dict) and {"fingerprint", "secret"} <= decoded.keys()


def _check_verify(verify: Any) -> None:
    """Fail early, and clearly, on a ``verify`` that cannot be used.

    :raises ClientConnectionFailed: for a CA bundle or server certificate
        path that does not exist, or a value of another type.
    """
    if isinstance(verify, bool):
        return
    if not isinstance(verify, (str, os.PathLike)):
        raise exceptions.ClientConnectionFailed(
            "verify must be True, False or the path of a CA bundle or server "
            f"certificate, not {verify!r}"
        )
    if not os.path.exists(verify):
        raise exceptions.ClientConnectionFailed(
            f"Cannot read the server certificate or CA bundle {os.fspath(verify)!r} "
            "given as verify=: no such file or directory"
        )


class Client:
    """Client class for LXD REST API.

    This client wraps all the functionality required to interact with LXD,
    and is meant to be the sole entry point.

    :param endpoint: a Unix socket path or an ``https://host:port`` URL; by
        default the local socket: ``$LXD_DIR``, ``$INCUS_DIR``, then the first
        that exists of LXD's snap and deb sockets and Incus's
        ``/var/lib/incus/unix.socket``.
    :param version: the API version, ``"1.0"``.
    :param cert: ``(cert_file, key_file)`` for HTTPS; defaults to
        ``~/.config/lxc/client.{crt,key}`` when they exist, else to the
        ``incus`` client's ``~/.config/incus/client.{crt,key}``.
    :param verify: True (system CAs), False, or the path of a CA bundle or of
        the server's own certificate. A file holding one certificate that is
        not a CA (LXD's ``server.crt``, also found as
        ``servercerts/<host>.crt``) pins it: the server must present exactly
        it, by any address, and the host name is not checked, for requests and
        websockets alike (:class:`LXDSSLAdapter`). Any other file is a CA
        bundle. It always wins over CA variables in the environment.
    :param timeout: seconds (or a ``(connect, read)`` tuple) for each request.
        The read part bounds the whole answer of a call that is not streamed
        (a server dripping bytes or sending ``100 Continue`` forever cannot
        hold it longer), and each read of a streamed download.
    :param project: the LXD project every call is scoped to. It is not
        looked up: it may be created after connecting (until then, calls in
        it raise ``NotFound``).
    :param session: a ``requests.Session`` to send requests with (e.g. one
        with a fake LXD mounted, see :mod:`pylxd.testing`).
    :param max_response_size: bytes an answer that is not streamed may have
        (:data:`pylxd._transport.MAX_RESPONSE_SIZE`, 128 MiB, by default;
        None for no limit); a larger one raises
        :class:`~pylxd.exceptions.ResponseTooLarge` without being read.
        Streamed downloads (files, exports) are not capped. It applies to
        the sessions pylxd makes, not to one passed as ``session``.
    :param if_match: make every ``save()``/``put()``/``patch()`` send
        ``If-Match`` with the ETag of the state the object was loaded from,
        so that a concurrent change raises
        :class:`~pylxd.exceptions.PreconditionFailed` instead of being lost
        (default False: the last writer wins, as in pylxd).
    :param retry: a :class:`pylxd.Retry` policy for reads (``GET``/``HEAD``,
        operation waits) that meet a daemon restarting (default None: no
        retries). Writes are retried only when their call passes ``retry=``.
    :raises ClientConnectionFailed: when LXD cannot be reached, or has no
        projects at all while ``project`` names one.
    """

    # Managers, made on access (managers.install_client_managers).
    certificates: managers.CertificateManager
    instances: managers.InstanceManager
    containers: managers.ContainerManager
    virtual_machines: managers.VirtualMachineManager
    images: managers.ImageManager
    networks: managers.NetworkManager
    network_acls: managers.NetworkACLManager
    network_zones: managers.NetworkZoneManager
    network_integrations: managers.NetworkIntegrationManager
    operations: managers.OperationManager
    profiles: managers.ProfileManager
    projects: managers.ProjectManager
    storage_pools: managers.StoragePoolManager
    cluster: managers.ClusterManager
    warnings: managers.WarningManager
    server: managers.ServerManager

    def __init__(
        self,
        endpoint: str | None = None,
        version: str = "1.0",
        cert: tuple[str, str] | str | None = None,
        verify: bool | str = True,
        timeout: float | tuple[float, float] | None = None,
        project: str | None = None,
        session: requests.Session | None = None,
        *,
        max_response_size: int | None = MAX_RESPONSE_SIZE,
        if_match: bool = False,
        retry: Retry | None = None,
    ) -> None:
        exceptions.check_bytes("max_response_size", max_response_size)
        self.project = project
        #: Optimistic concurrency for every write (see ``if_match`` above).
        self.if_match = bool(if_match)
        if session is None:  # pylxd.testing's endpoint carries its own adapter
            endpoint, session = in_process_endpoint(endpoint)
        base_url = endpoint_url(endpoint)
        #: The ws4py ``ssl_options`` for HTTPS with a client certificate
        #: (``certfile``, ``keyfile``), else None; websockets honour a value
        #: the caller sets here.
        self.ssl_options: JSONDict | None = None
        if base_url.startswith("https://"):
            cert, verify = self._https_credentials(base_url, cert, verify)
            _check_verify(verify)
            if cert is not None:  # a socket or http:// ignores it, as pylxd did
                check_cert_files(cert)
                self.ssl_options = self._ssl_options(cert)
        self.cert = cert
        self.api = _APINode(
            base_url,
            cert=cert,
            verify=verify,
            timeout=timeout,
            project=project,
            session=session,
            retry=_retry.check_policy(retry, "Client"),
        )[version]
        if session is None and max_response_size != MAX_RESPONSE_SIZE:
            # (our adapters' default: no need to look them all up)
            set_max_response_size(self.api.session, max_response_size)
        self._resource_cache: JSONDict | None = None
        self.host_info: JSONDict = {}
        self._connect()
        managers.wire_client(self)

    @classmethod
    def from_remote(
        cls, name: str | None = None, config_dir: str | None = None, **kwargs: Any
    ) -> Client:
        """Connect to a remote of the ``lxc`` (or ``incus``) tool's configuration.

        Reads ``config.yml`` from ``config_dir``, or else from the first of
        ``$LXD_CONF``, ``~/snap/lxd/common/config``, ``~/.config/lxc``,
        ``$INCUS_CONF`` and ``~/.config/incus`` that has one. The remote's
        ``addr`` is the endpoint (``unix://`` is the local socket), its
        ``project`` the project, ``client.crt``/``client.key`` the client
        certificate, and ``servercerts/<name>.crt`` the pinned server
        certificate (``verify=``).

        >>> client = Client.from_remote("prod")  # doctest: +SKIP

        :param name: the remote (None: the configuration's ``default-remote``).
        :param config_dir: the tool's configuration directory.
        :param kwargs: more :class:`Client` arguments (``timeout=``,
            ``if_match=``, ``retry=``, ...); they win over the remote's.
        :raises InvalidArgument: for an unknown remote, or an image server
            (``protocol: simplestreams``), which cannot run instances.
        :raises ClientConnectionFailed: when the configuration cannot be read
            or the remote cannot be reached.
        """
        from pylxd import _remotes

        return cls(**{**_remotes.client_arguments(name, config_dir), **kwargs})

    @staticmethod
    def _https_credentials(url: str, cert: Any, verify: Any) -> tuple[Any, Any]:
        if cert is None:
            cert = default_client_cert(DEFAULT_CERTS)
        if verify is True:
            verify = server_cert_for(url) or True
        return cert, verify

    @staticmethod
    def _ssl_options(cert: Any) -> JSONDict:
        if isinstance(cert, (str, os.PathLike)):
            return {"certfile": os.fspath(cert), "keyfile": None}
        return {"certfile": cert[0], "keyfile": cert[1]}

    def _connect(self) -> None:
        """Read ``GET /1.0`` and check the server can serve projects."""
        try:
            response = self.api.get()
        except exceptions.ClientConnectionFailed:
            raise
        except exceptions.LXDAPIException as err:
            raise exceptions.ClientConnectionFailed(
                f"LXD at {self.api._describe()} answered GET /1.0 with an error: {err}"
            ) from err
        body = exceptions._json_body(response)
        metadata = body.get("metadata") if isinstance(body, dict) else None
        if not isinstance(metadata, dict):
            raise exceptions.ClientConnectionFailed(
                f"LXD at {self.api._describe()} sent no server information: {response.text[:200]!r}"
            )
        self.host_info = metadata
        mark_incus(self.api.session, self.is_incus)
        self._check_project()

    def _check_project(self) -> None:
        # The project itself is not looked up: code written for pylxd
        # connects with project= and then creates it. A missing project shows
        # as NotFound on first use, as with with_project().
        if self.project in (None, "default"):
            return
        if not self.has_api_extension("projects"):
            raise exceptions.ClientConnectionFailed(
                f"LXD at {self.api._describe()} does not handle projects (project={self.project!r})"
            )

    def __repr__(self) -> str:
        project = f", project={self.project!r}" if self.project else ""
        return f"Client(endpoint={self.api._describe()!r}{project})"

    @property
    def trusted(self) -> bool:
        """True when the server trusts this client's certificate."""
        return self.host_info.get("auth") == "trusted"

    @property
    def is_incus(self) -> bool:
        """True when the server is Incus rather than LXD.

        Read from ``host_info["environment"]["server"]`` (``"incus"`` or
        ``"lxd"``). An untrusted client is shown no ``environment``: then the
        API extensions tell, as Incus renamed LXD's ``restrict_devlxd`` to
        ``restrict_dev_incus``.
        """
        environment = self.host_info.get("environment")
        if isinstance(environment, dict) and "server" in environment:
            return environment["server"] == "incus"
        return self.has_api_extension("restrict_dev_incus")

    @property
    def server_clustered(self) -> bool:
        """True when the server is a member of a cluster."""
        return bool(
            self.host_info.get("environment", {}).get("server_clustered", False)
        )

    @property
    def resources(self) -> JSONDict:
        """The server's hardware resources (``GET /1.0/resources``), read once."""
        if self._resource_cache is None:
            self.assert_has_api_extension("resources")
            self._resource_cache = exceptions.metadata_of(self.api.resources.get())
        return self._resource_cache

    def has_api_extension(self, name: str) -> bool:
        """Return True if the ``name`` API extension exists.

        :param name: the api_extension to look for.
        """
        return name in self.host_info.get("api_extensions", ())

    def assert_has_api_extension(self, name: str) -> None:
        """Assert that the ``name`` API extension exists.

        :raises LXDAPIExtensionNotAvailable: when it does not.
        """
        if not self.has_api_extension(name):
            raise exceptions.LXDAPIExtensionNotAvailable(
                f"LXD API extension '{name}' is not available on {self.api._describe()}"
            )

    def metrics(self, target: str | None = None) -> Metrics:
        """Read ``GET /1.0/metrics``: the Prometheus text and its parsed form.

        :param target: the cluster member to read them from.
        """
        from pylxd.models.metrics import Metrics

        return Metrics.get(self, target=target)

    def refresh_host_info(self) -> JSONDict:
        """Read ``GET /1.0`` again and return the new :attr:`host_info`."""
        self.host_info = exceptions.metadata_of(self.api.get())
        return self.host_info

    def close(self) -> None:
        """Close the client's connections (idempotent).

        The HTTP connections of the Unix socket or HTTPS session are closed;
        later requests of this client raise :class:`ClientConnectionFailed`.
        A ``session=`` given to :class:`Client` is closed too. Clients made by
        :meth:`with_project` or ``targeted_client()`` share the session: they
        open new connections when they are used again. Event and exec
        streams already open are not affected (close them themselves).
        ``with Client() as client:`` closes the client at the end of the block.
        A client dropped without ``close()`` releases its sockets as soon as
        it is garbage (no cyclic garbage collection needed).
        """
        if isinstance(self.api, _ClosedNode):
            return
        self.api.session.close()
        self.api.__class__ = _ClosedNode

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def with_project(self, project: str | None) -> Client:
        """Return this client scoped to another project, without connecting again.

        The new client shares this one's connection, certificate and server
        information; every manager and ``api`` node of it sends
        ``?project=<project>`` (``None``: the default project). The project
        is checked here, with one ``GET /1.0/projects/<project>`` (none for
        ``None`` or ``"default"``): LXD 5.0 lists no instances (and finds
        none) in a missing project rather than answering an error. A certificate that
        may not read the project (a restricted one) skips the check.

        >>> from pylxd.testing import FakeLXD
        >>> client = FakeLXD().client()
        >>> client.projects.create("p1").name
        'p1'
        >>> client.with_project("p1").api.profiles._project
        'p1'

        :raises NotFound: naming the project, when it does not exist.
        :raises InvalidArgument: for a name that cannot be a project's.
        """
        if project not in (None, "default"):
            self._assert_project_exists(project)
        scoped = copy.copy(self)
        scoped.project = project
        scoped.api = self.api.sibling(project=project)
        managers.wire_client(scoped)
        return scoped

    def _assert_project_exists(self, project: str) -> None:
        try:
            self.projects.get(project)
        except exceptions.Forbidden:
            return  # restricted certificates may not read the project; LXD checks on use

    def authenticate(
        self,
        secret: str | None = None,
        use_token_auth: bool = True,
        *,
        password: str | None = None,
    ) -> None:
        """Make the server trust this client's certificate.

        Implements ``POST /1.0/certificates``. ``secret`` is the server's
        trust password or a trust token. With ``use_token_auth`` (the
        default) a token is told apart from a password by its content and sent
        as a token (``trust_token`` on servers with ``explicit_trust_token``,
        else in ``password``); with ``use_token_auth=False`` it is always sent
        as a password.

        :param secret: the trust password or token.
        :param use_token_auth: recognise trust tokens (see above).
        :param password: another name for ``secret`` (earlier releases).
        :raises InvalidArgument: when neither ``secret`` nor ``password`` is given.
        :raises ClientConnectionFailed: when the client has no certificate.
        :raises LXDAPIException: when the server refuses the secret.
        """
        if secret is None:
            secret = password
        if not isinstance(secret, str) or not secret:
            raise exceptions.InvalidArgument(
                f"authenticate() needs the trust password or token as secret=, not {secret!r}"
            )
        if self.trusted:
            return
        cert_file = self._cert_file()
        with open(cert_file, "rb") as handle:
            cert_data = handle.read()
        is_token = bool(use_token_auth) and _is_a_token(secret)
        self.certificates.create(secret, cert_data, token_auth=is_token)
        self.refresh_host_info()

    def _cert_file(self) -> str:
        cert = self.api.session.cert
        if not cert:
            raise exceptions.ClientConnectionFailed(
                "This client has no certificate to authenticate with: pass cert=(crt, key)"
            )
        return str(cert if isinstance(cert, str) else cert[0])

    @property
    def websocket_url(self) -> str:
        """The base URL for websockets: ``ws+unix://<socket>`` or ``wss://host:port``."""
        if self.api.scheme in ("http", "https"):
            scheme = "wss" if self.api.scheme == "https" else "ws"
            return f"{scheme}://{self.api.netloc}"
        return f"ws+unix://{parse.unquote(self.api.netloc)}"

    def events(
        self,
        websocket_client: Any = None,
        event_types: set[EventType] | None = None,
        event_filter: set[EventType] | None = None,
    ) -> _WebsocketClient | Any:
        """Return a websocket client for ``/1.0/events`` (connect with ``connect()``).

        :param websocket_client: a ws4py client class to use instead of the
            default one that collects every JSON message in ``messages``.
        :param event_types: the :class:`EventType` s to receive (all by default).
        """
        from pylxd import _events

        return _events.events_client(
            self, websocket_client, event_types or event_filter
        )

    def events_iter(
        self, types: Any = None, timeout: float | None = None
    ) -> _events.EventStream:
        """Open the event stream now and iterate over its events (parsed dicts).

        Implements ``GET /1.0/events`` (a websocket, with this client's project).

        :param types: the :class:`EventType` s to receive (all by default).
        :param timeout: seconds to wait for each event before the iteration
            ends (None: until closed).
        :returns: an iterator and context manager; ``close()`` stops it.
        :raises ConnectionLost: when the websocket cannot be opened.
        """
        from pylxd import _events

        return _events.EventStream(self, types, timeout)


managers.install_client_managers(Client)


class _ClosedNode(_APINode):
    """The API tree of a closed :class:`Client`: every request is refused."""

    def __getitem__(self, item: Any) -> _APINode:
        node = super().__getitem__(item)
        node.__class__ = _ClosedNode
        return node

    def _send(self, *args: Any, **kwargs: Any) -> Any:
        raise exceptions.ClientConnectionFailed(
            f"The Client of LXD at {self._describe()} is closed: make a new one"
        )


_LAZY_WEBSOCKET_NAMES = (
    "_WebsocketClient",
    "_ws_exclude_origin",
    "WebSocketBaseClient",
)
#: pylxd 2.4.2's cryptography names (patch targets), costly to import.
_LAZY_MODULES = {
    "x509": "cryptography.x509",
    "hashes": "cryptography.hazmat.primitives.hashes",
}


def __getattr__(name: str) -> Any:
    # ws4py and cryptography are imported only when used.
    if name in _LAZY_WEBSOCKET_NAMES:
        from pylxd import _websocket

        return getattr(_websocket, name)
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(_LAZY_MODULES[name])
    raise AttributeError(f"module 'pylxd.client' has no attribute {name!r}")

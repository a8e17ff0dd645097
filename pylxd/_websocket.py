"""The websocket side of pylxd: the ws4py base client, its TLS, and events.

Every pylxd websocket client derives from :class:`_LXDWebSocket`, which
fixes three things ws4py gets wrong for LXD:

* TLS: ws4py turns server verification off unless ``cert_reqs`` is in its
  ``ssl_options``. We wrap the socket ourselves with an ``SSLContext`` built
  from the client's HTTP session (``verify`` = True, a CA path or the pinned
  server certificate, or False) that also presents the client certificate.
* Reading: ws4py reads two bytes at a time and its manager polls every 0.1 s.
  We read the socket directly, in large blocks, and feed the frame parser
  exactly the number of bytes it asks for.
* Closing: LXD closes exec websockets abruptly. An ``SSLEOFError``,
  ``SSLZeroReturnError``, ``BrokenPipeError`` or ``ConnectionResetError`` at
  the end of a stream is its end, logged at debug level, never printed.

The event clients (:class:`_WebsocketClient`, :class:`_EventReader`) are
here; the clients of one exec (stdin, stdout/stderr, control, pty) and its
orchestration (:class:`~pylxd._websocket_exec._ExecSession`) are in
:mod:`pylxd._websocket_exec`, the pty/console session
(:class:`~pylxd.models.exec_streams.InteractiveSession`) in
:mod:`pylxd.models.exec_streams`. ws4py is imported by these modules only.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import socket
import ssl
from typing import TYPE_CHECKING, Any, Callable

import requests
from ws4py.client import WebSocketBaseClient
from ws4py.exc import HandshakeError
from ws4py.messaging import Message

from pylxd._types import JSONDict

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client

logger = logging.getLogger(__name__)


#: Bytes asked from the socket per read (one TLS record is at most 16 KiB).
RECV_SIZE = 256 * 1024
#: Seconds to wait for the server's side of a closing handshake.
CLOSE_TIMEOUT = 2.0

#: Seconds the connection and the websocket handshake may take at most (a
#: server that accepts but never answers the upgrade must not hang a client).
HANDSHAKE_TIMEOUT = 30.0

#: Bytes a websocket frame may announce at most, and a (fragmented) message
#: hold at most: far above what LXD sends (exec output and events come in
#: small messages), far below what would exhaust memory. A larger one ends
#: the websocket with :class:`~pylxd.exceptions.WebSocketError` before it is
#: read. Subclasses may set ``max_frame_size``/``max_message_size``.
MAX_FRAME_SIZE = 64 * 1024 * 1024
MAX_MESSAGE_SIZE = 64 * 1024 * 1024

#: How LXD ends a websocket it closes without a closing handshake.
END_OF_STREAM_ERRORS = (
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
)


# -- TLS ---------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def _ssl_context(
    verify: bool | str, certfile: str | None, keyfile: str | None
) -> ssl.SSLContext:
    """The ``SSLContext`` the client's HTTP requests verify with, kept per settings
    (it holds the TLS sessions websockets resume)."""
    from pylxd._transport import tls_context

    return tls_context(verify, (certfile, keyfile) if certfile else None)


def _session_tls(client: Client) -> tuple[Any, Any, Any]:
    """The ``verify`` and client certificate the client's HTTP session uses."""
    session = client.api.session
    url = client.api._api_endpoint
    settings = session.merge_environment_settings(url, {}, None, None, None)
    verify = settings.get("verify", True)
    cert = getattr(session, "cert", None) or getattr(client, "cert", None)
    if isinstance(cert, str):
        return verify, cert, None
    if cert:
        return verify, cert[0], cert[1]
    return verify, None, None


#: Opens the socket of a websocket to a resource (path and query) of an
#: in-process server, such as :meth:`pylxd.testing.FakeLXD.open_websocket`.
Connector = Callable[[str], socket.socket]


def connector_for(client: Client) -> Connector | None:
    """The websocket connector of the in-process ``requests`` adapter serving
    the client on its session (``open_websocket``), or None for a server on
    the network: websockets go where the client's HTTP requests go."""
    session = client.api.session
    try:
        adapter = session.get_adapter(client.api._api_endpoint)
    except (AttributeError, requests.exceptions.InvalidSchema):
        return None  # not a requests session, or nothing mounted for the URL
    if not isinstance(adapter, requests.adapters.BaseAdapter):
        return None
    connector: Connector | None = getattr(adapter, "open_websocket", None)
    return connector


def tls_for(client: Client) -> tuple[ssl.SSLContext | None, JSONDict | None]:
    """The ``SSLContext`` and ws4py ``ssl_options`` for the client's websockets.

    Both are None for a Unix socket. The ``ssl_options`` carry ``cert_reqs``
    so that a plain ws4py client (one passed to ``Client.events``) verifies
    the server too; a CA directory can only be used through the context.

    :raises ClientConnectionFailed: when the CA or certificate files cannot be
        loaded.
    """
    if client.api.scheme != "https":
        return None, None
    from pylxd._transport import _ca_location

    verify, certfile, keyfile = _session_tls(client)
    user_options = getattr(client, "ssl_options", None)
    if isinstance(user_options, dict):  # Client.ssl_options, as set by the caller
        certfile = user_options.get("certfile", certfile)
        keyfile = user_options.get("keyfile", keyfile)
        if user_options.get("cert_reqs") == ssl.CERT_NONE:
            verify = False
    try:
        context = _ssl_context(verify, certfile, keyfile)
    except (OSError, ssl.SSLError) as err:
        from pylxd import exceptions

        raise exceptions.ClientConnectionFailed(
            f"Cannot set up TLS for websockets to {client.websocket_url}: {err}"
        ) from err
    options: JSONDict = {"certfile": certfile, "keyfile": keyfile}
    if verify is not False:
        options["cert_reqs"] = ssl.CERT_REQUIRED
        location = _ca_location(verify)
        if not os.path.isdir(location):
            options["ca_certs"] = location
    if isinstance(user_options, dict):
        options.update(user_options)
    return context, options


def _ws_exclude_origin(kwargs: JSONDict | type | None = None) -> JSONDict:
    """Keyword arguments that stop ws4py from sending an ``Origin`` header.

    ws4py >= 0.6 derives an Origin such as ``ws+unix://localhost`` from the
    URL; LXD has no use for it. Given a dict (pylxd 2.4.2's call: the keyword
    arguments for a ws4py client), ``"origin"`` is added to its
    ``exclude_headers`` in place, keeping the caller's, and the dict is
    returned. Given a class, the keyword arguments it accepts are returned
    (none for older ws4py and user classes without ``exclude_headers``).

    >>> _ws_exclude_origin(WebSocketBaseClient)
    {'exclude_headers': ['Origin']}
    >>> _ws_exclude_origin(object)
    {}
    >>> _ws_exclude_origin({"exclude_headers": ["X-A"]})
    {'exclude_headers': ['X-A', 'origin']}
    """
    if isinstance(kwargs, dict):
        existing = list(kwargs.get("exclude_headers") or [])
        if not any(str(h).lower() == "origin" for h in existing):
            existing.append("origin")
        kwargs["exclude_headers"] = existing
        return kwargs
    cls = kwargs or WebSocketBaseClient
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return {}
    accepts = "exclude_headers" in parameters or any(
        p.kind is p.VAR_KEYWORD for p in parameters.values()
    )
    if cls is object or not accepts:
        return {}
    return {"exclude_headers": ["Origin"]}


_EXCLUDE_ORIGIN = _ws_exclude_origin(WebSocketBaseClient)


def close_quietly(ws: Any, code: int = 1000, reason: str = "") -> Exception | None:
    """Send the closing frame of ws4py websocket ``ws``, once; return the
    error that stopped it (None when it was sent, or had been).

    Used by both ends (our clients and ``pylxd.testing``'s server side):
    ws4py's own ``close`` logs a failed send as an ERROR, while a peer that
    hung up first is normal.
    """
    if ws.server_terminated:
        return None
    ws.server_terminated = True
    try:
        frame = ws.stream.close(code=code, reason=reason)
        ws._write(frame.single(mask=ws.stream.always_mask))
    except (OSError, RuntimeError, ValueError, AttributeError) as err:
        return err
    return None


# -- the base client ---------------------------------------------------------
class _LXDWebSocket(WebSocketBaseClient):
    """A ws4py client with verified TLS, direct block reads and quiet closing.

    :param url: ``ws+unix:///path/unix.socket`` or ``wss://host:port``; set
        :attr:`resource` to the path and query before :meth:`connect`.
    :param ssl_context: the context wrapping ``wss`` sockets (see
        :func:`tls_for`); without it ws4py's own ``ssl_options`` apply.
    """

    def __init__(
        self,
        url: str,
        *args: Any,
        ssl_context: ssl.SSLContext | None = None,
        connector: Connector | None = None,
        **kwargs: Any,
    ) -> None:
        for key, value in _EXCLUDE_ORIGIN.items():
            kwargs.setdefault(key, value)
        if connector is None:
            super().__init__(url, *args, **kwargs)
        else:
            # ws4py resolves the host name at once: a fake LXD's has no DNS.
            super().__init__("ws+unix:///in-process", *args, **kwargs)
            self.url = url
            self._parse_url()
        self._connector = connector
        self._ssl_context = ssl_context
        self._rbuf = bytearray()
        self._scratch = bytearray(RECV_SIZE)

    #: Seconds :meth:`connect` may take (None: no limit).
    handshake_timeout: float | None = HANDSHAKE_TIMEOUT
    #: Bytes a frame may announce, and a message hold, at most.
    max_frame_size: int = MAX_FRAME_SIZE
    max_message_size: int = MAX_MESSAGE_SIZE

    def __repr__(self) -> str:
        # The query holds the operation's websocket secret: never shown.
        path = (self.resource or "").split("?")[0]
        return f"<{type(self).__name__} {self.url}{path}>"

    def connect(self) -> None:
        """Open the connection and do the websocket handshake.

        :raises ConnectionLost: when the server cannot be reached, its
            certificate is not the expected one, or it refuses the upgrade.
        """
        from pylxd._transport import ConnectionLost

        try:
            self.sock.settimeout(self.handshake_timeout)
            self._connect()
            self.sock.settimeout(None)
        except (OSError, HandshakeError, ValueError) as err:
            self.close_connection()
            where = f"{self.url}{(self.resource or '').split('?')[0]}"
            if isinstance(err, TimeoutError):
                err = TimeoutError(f"no answer within {self.handshake_timeout} s")
            raise ConnectionLost(f"Cannot open websocket {where}: {err}") from err

    def _connect(self) -> None:
        if self._connector is not None:  # e.g. pylxd.testing.FakeLXD: a socket pair
            self.sock.close()  # type: ignore[has-type]
            self.sock: Any = self._connector(self.resource or "/")
            super().connect()
            return
        scheme: str = self.scheme  # type: ignore[has-type]
        if scheme != "wss" or self._ssl_context is None:
            super().connect()
            return
        sock: socket.socket = self.sock
        context = self._ssl_context
        # Resume the TLS session of an earlier websocket to the same server
        # (kept on its context: a resumed session was verified by that context).
        sessions = context.__dict__.setdefault("_pylxd_sessions", {})
        where = (self.host, self.port)
        self.sock = context.wrap_socket(
            sock, server_hostname=self.host, session=sessions.get(where)
        )
        self._is_secure = True
        # ws4py would wrap the socket again with its unverified context.
        self.scheme = "ws"
        try:
            super().connect()
        finally:
            self.scheme = "wss"
        if self.sock is not None and not self.sock.session_reused:
            session = self.sock.session
            if session is not None:
                sessions[where] = session

    def once(self) -> bool:
        """Read what the frame parser needs next and process it.

        :returns: False when the stream has ended (closing frame, EOF, or an
            abrupt close) or the websocket is terminated.
        :raises TimeoutError: when the socket has a timeout and it passes.
        :raises WebSocketError: for a frame or message over the size limits.
        """
        if self.terminated or self.sock is None or self.stream is None:
            return False
        need = self.reading_buffer_size
        self._check_size(need)
        try:
            while len(self._rbuf) < need:
                count = self.sock.recv_into(self._scratch)
                if not count:
                    return False
                self._rbuf += memoryview(self._scratch)[:count]
        except TimeoutError:
            raise
        except END_OF_STREAM_ERRORS as err:
            logger.debug("%r ended by the server: %r", self, err)
            return False
        except (OSError, ValueError, AttributeError) as err:
            # The socket was shut down or closed by another thread (timeout).
            logger.debug("%r closed while reading: %r", self, err)
            return False
        data = bytes(self._rbuf[:need])
        del self._rbuf[:need]
        return bool(self.process(data))

    def process(self, data: bytes) -> bool:
        """Feed the frame parser at most what it asks for at a time.

        ws4py's parser drops whatever follows a frame in a larger block, and
        the bytes read with the handshake can hold several frames (LXD sends
        events right after the upgrade): they are split here.

        :returns: False when the stream has ended.
        """
        while len(data) > self.reading_buffer_size:
            need = self.reading_buffer_size
            if not self._process_frame_bytes(data[:need]):
                return False
            data = data[need:]
            self._check_size(self.reading_buffer_size)
        return self._process_frame_bytes(data) if data else True

    def _check_size(self, need: int) -> None:
        """Refuse to read a frame, or grow a message, over the size limits.

        ws4py's parser asks for a frame's whole payload at once (``need``),
        so the limit is checked before a byte of it is read or allocated.
        """
        message = getattr(self.stream, "message", None)
        pending = 0
        if message is not None and not message.completed:
            pending = len(message.data)
        if need <= self.max_frame_size and pending + need <= self.max_message_size:
            return
        from pylxd import exceptions

        what = (
            f"a frame of {need} bytes, over the {self.max_frame_size}-byte limit"
            if need > self.max_frame_size
            else f"a message of more than {pending + need - 1} bytes, over the "
            f"{self.max_message_size}-byte limit"
        )
        self.close_connection()
        raise exceptions.WebSocketError(f"{self!r}: the server sent {what}")

    def _process_frame_bytes(self, data: bytes) -> bool:
        try:
            return bool(super().process(data))
        except (OSError, RuntimeError) as err:
            # Answering a ping of a server that has already hung up (ws4py
            # raises RuntimeError once it knows the socket is gone). What it
            # sent before hanging up (the output, the end-of-stream message)
            # may still be buffered here: keep reading until the end.
            logger.debug("%r: reply not sent, the server is gone: %r", self, err)
            if self.stream is not None:
                self.stream.pings = []
            return True

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a closing frame (once) unless the connection is already gone.

        ws4py's own ``close`` logs a failed send as an ERROR (printed when
        logging is not configured); a server that hung up first is normal.
        """
        err = close_quietly(self, code, reason)
        if err is not None:
            logger.debug("%r: closing frame not sent: %r", self, err)

    def close_gracefully(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Do the closing handshake, then close the connection.

        Closing the socket right after the closing frame makes LXD fail the
        operation ("failed to send closeNotify alert"); reading until the
        server closes too (at most ``timeout`` s) avoids that.
        """
        if self.sock is None:
            return
        self.close()
        from pylxd.exceptions import WebSocketError

        try:
            self.sock.settimeout(timeout)
            while self.once():
                pass
        except (TimeoutError, OSError, AttributeError, WebSocketError) as err:
            logger.debug("%r: closing handshake not finished: %r", self, err)
        self.close_connection()

    def shutdown(self) -> None:
        """Wake up a thread blocked reading this websocket and close it."""
        sock = self.sock
        if sock is None:
            return
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError as err:
            logger.debug("%r: shutdown: %r", self, err)

    def unhandled_error(self, error: BaseException) -> None:
        logger.debug("%r: socket error: %r", self, error)

    def send_json(self, payload: JSONDict) -> None:
        """Send ``payload`` as one JSON text message."""
        self.send(json.dumps(payload))


def _is_lxd_class(cls: Any) -> bool:
    """Tell a pylxd client class (TLS context, block reads) from a plain ws4py one."""
    return isinstance(cls, type) and issubclass(cls, _LXDWebSocket)


# -- events ------------------------------------------------------------------
class _WebsocketClient(_LXDWebSocket):
    """A basic websocket client for the LXD API.

    It collects every JSON message it receives in :attr:`messages`;
    ``run()`` blocks until the server closes the connection.
    """

    messages: list[JSONDict]

    def handshake_ok(self) -> None:
        self.messages = []
        super().handshake_ok()

    def received_message(self, message: Message) -> None:
        try:
            event = json.loads(bytes(message.data).decode("utf-8"))
        except ValueError as err:  # UnicodeDecodeError is a ValueError too
            logger.warning("%r: ignored a message that is not JSON: %s", self, err)
            return
        if not isinstance(event, dict):
            logger.warning("%r: ignored a JSON message that is not an object", self)
            return
        self.messages.append(event)


class _EventReader(_WebsocketClient):
    """An events websocket read message by message in the caller's thread."""

    def read_message(self, timeout: float | None) -> JSONDict | None:
        """Return the next event, or None once the stream has ended.

        :raises TimeoutError: when no event arrives within ``timeout``.
        """
        if self.sock is not None:
            self.sock.settimeout(timeout)
        while not self.messages:
            if not self.once():
                return None
        return self.messages.pop(0)

"""The websocket side of pylxd: ws4py clients for events, exec and consoles.

This is the only module that imports ws4py. Every client here derives from
:class:`_LXDWebSocket`, which fixes three things ws4py gets wrong for LXD:

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

The exec orchestration (:class:`_ExecSession`) and the pty/console session
(:class:`InteractiveSession`) live in :mod:`pylxd.models._exec_streams`.
"""

from __future__ import annotations

import codecs
import functools
import inspect
import io
import json
import logging
import os
import socket
import ssl
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterable

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
#: Bytes per message when streaming a file object to stdin.
STDIN_CHUNK = 64 * 1024

#: Seconds the stdin writer may take to notice its websocket was closed.
STDIN_GRACE = 5.0

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
            self.sock.settimeout(self.handshake_timeout)  # type: ignore[has-type]
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
        sock: socket.socket = self.sock  # type: ignore[has-type]
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


# -- exec streams ------------------------------------------------------------
class _StdinWebsocket(_LXDWebSocket):
    """A websocket client for a command's stdin.

    :param payload: str, bytes, a file object, an iterable of chunks or a
        ws4py message; sent as binary messages by :meth:`send_payload`, then
        an empty text message tells LXD the input has ended.
    :param encoding: used to encode str chunks.
    """

    def __init__(
        self,
        url: str,
        payload: Any = None,
        encoding: str | None = "utf-8",
        **kwargs: Any,
    ) -> None:
        self.payload = payload
        self.encoding = encoding or "utf-8"
        self._payload_chunks = self._chunks()  # TypeError now, not in a thread
        super().__init__(url, **kwargs)

    def _smart_encode(self, chunk: Any) -> bytes:
        if isinstance(chunk, str):
            return chunk.encode(self.encoding)
        if isinstance(chunk, Message):
            return bytes(chunk.data)
        if isinstance(chunk, (bytes, bytearray, memoryview)):
            return bytes(chunk)
        raise TypeError(
            f"stdin_payload chunks must be str or bytes, not {type(chunk).__name__}"
        )

    def _chunks(self) -> Iterable[Any]:
        payload = self.payload
        if payload is None:
            return ()
        if isinstance(payload, (str, bytes, bytearray, memoryview, Message)):
            return (payload,)
        if hasattr(payload, "read"):
            return iter(functools.partial(payload.read, STDIN_CHUNK), payload.read(0))
        self.check_payload(payload)
        return iter(payload)

    @staticmethod
    def check_payload(payload: Any) -> None:
        """Refuse a payload that cannot be sent (checked before the command starts).

        :raises TypeError: for anything but None, str, bytes, a file object,
            an iterable of chunks (not a dict or a set) or a ws4py message.
        """
        if payload is None or hasattr(payload, "read"):
            return
        if isinstance(payload, (str, bytes, bytearray, memoryview, Message)):
            return
        if isinstance(payload, Iterable) and not isinstance(payload, (dict, set)):
            return
        from pylxd import exceptions

        raise exceptions.InvalidArgumentType(
            "stdin_payload must be str, bytes, a file object, a generator or a "
            f"ws4py message, not {type(payload).__name__}"
        )

    def send_payload(self) -> None:
        """Send the whole payload, then the end-of-input barrier.

        The barrier is sent even when the payload fails (e.g. a generator
        raises), so the command is not left waiting for input; the error is
        then raised. A command that exits without reading all its input
        closes the stream: that ends the sending quietly.
        """
        try:
            for chunk in self._payload_chunks:
                data = self._smart_encode(chunk)
                if data and not self._send_quietly(data, binary=True):
                    return
        finally:
            self._send_quietly("", binary=False)

    def _send_quietly(self, data: Any, binary: bool) -> bool:
        try:
            self.send(data, binary=binary)
        except (OSError, RuntimeError) as err:
            logger.debug("%r: stdin closed before the payload was sent: %r", self, err)
            return False
        return True


class _CommandWebsocketClient(_LXDWebSocket):
    """Receive one output stream (stdout or stderr) of a command.

    Chunks go to ``handler`` as they arrive (decoded incrementally when
    ``decode``), or are buffered for :attr:`data`. The stream ends on LXD's
    empty message or when LXD closes the connection.

    :param manager: unused; kept for pylxd's signature.
    """

    def __init__(
        self,
        manager: Any,
        url: str,
        decode: bool = True,
        encoding: str | None = None,
        handler: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self.manager = manager
        self.decode = decode
        self.encoding = encoding or "utf-8"
        self.handler = handler
        self.finished = False
        self.error: BaseException | None = None
        self.received = 0
        self._buffer = io.BytesIO()
        self._decoder = (
            codecs.getincrementaldecoder(self.encoding)() if decode else None
        )
        super().__init__(url, **kwargs)

    def once(self) -> bool:
        return not self.finished and super().once()

    def received_message(self, message: Message) -> None:
        data = message.data
        if not data:
            self.finished = True
            return
        self.received += len(data)
        if self.handler is None:
            self._buffer.write(data)
            return
        if self.error is not None:
            return  # the handler failed: drain the stream so the command can end
        try:
            chunk = self._decoder.decode(data) if self._decoder else bytes(data)
            if chunk:
                self.handler(chunk)
        except Exception as err:  # noqa: BLE001 (re-raised by the exec session)
            self.error = err

    def closed(self, code: int, reason: Any = None) -> None:
        self.finished = True
        if (
            self.handler is not None
            and self._decoder is not None
            and self.error is None
        ):
            try:
                tail = self._decoder.decode(b"", final=True)
                if tail:
                    self.handler(tail)
            except Exception as err:  # noqa: BLE001 (re-raised by the exec session)
                self.error = err

    def take(self) -> Any:
        """Return the buffered output (decoded when asked) and free the buffer."""
        value = self._buffer.getvalue()
        self._buffer = io.BytesIO()
        if self.decode:
            return value.decode(self.encoding)
        return value

    @property
    def data(self) -> Any:
        """The buffered output, decoded when ``decode`` is set."""
        value = self._buffer.getvalue()
        return value.decode(self.encoding) if self.decode else value


class _ControlWebsocket(_LXDWebSocket):
    """The control websocket of an exec or console: signals and window size."""

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the command."""
        self.send_json({"command": "signal", "signal": int(signum)})

    def resize(self, width: int, height: int) -> None:
        """Tell LXD the terminal is now ``width`` x ``height``."""
        self.send_json(
            {
                "command": "window-resize",
                "args": {"width": str(int(width)), "height": str(int(height))},
            }
        )


class _PtyWebsocket(_LXDWebSocket):
    """The bidirectional websocket of an interactive exec or a console.

    It is read and written from one thread (the caller's): ws4py answers
    pings while reading, so no second thread touches the TLS connection.
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.chunks: deque[bytes] = deque()
        self.ended = False

    def received_message(self, message: Message) -> None:
        if not message.data:
            self.ended = True
        else:
            self.chunks.append(bytes(message.data))

    def closed(self, code: int, reason: Any = None) -> None:
        self.ended = True

    def read_chunk(self, timeout: float | None) -> bytes:
        """Return the next output chunk, or b"" once the output has ended.

        :raises TimeoutError: when nothing arrives within ``timeout``.
        """
        if self.sock is not None:
            self.sock.settimeout(timeout)
        try:
            while not self.chunks and not self.ended:
                if not self.once():
                    self.ended = True
        finally:
            if self.sock is not None:
                self.sock.settimeout(None)
        return self.chunks.popleft() if self.chunks else b""


# -- one non-interactive exec ------------------------------------------------
def _is_lxd_class(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, _LXDWebSocket)


class _ExecSession:
    """The websockets of one non-interactive exec and the threads serving them.

    :meth:`open` connects stdout, stderr, the control socket (when asked) and
    stdin, then starts one reader thread per output and, for a payload, one
    writer thread for stdin. Each thread sets a ``threading.Event`` when its
    stream ends; :meth:`drain` waits for them. Nothing polls or sleeps.

    :param stdin_class: the ``_StdinWebsocket`` class to use (tests and
        pylxd's seam pass their own).
    :param command_class: the ``_CommandWebsocketClient`` class to use.
    :param on_end: called with ``"stdout"``/``"stderr"`` when a stream ends.
    """

    def __init__(
        self,
        client: Client,
        operation_id: str,
        fds: dict[str, str],
        *,
        stdin_class: Any = _StdinWebsocket,
        command_class: Any = _CommandWebsocketClient,
        stdin_payload: Any = None,
        stdin_encoding: str | None = "utf-8",
        decode: bool = True,
        encoding: str | None = None,
        stdout_handler: Callable[[Any], None] | None = None,
        stderr_handler: Callable[[Any], None] | None = None,
        control: bool = False,
        on_end: Callable[[str], None] | None = None,
    ) -> None:
        from urllib import parse

        self.client = client
        self.operation_id = operation_id
        self.fds = fds
        self._url = client.websocket_url
        node = client.api.operations[operation_id].websocket
        self._path = parse.urlparse(node._api_endpoint).path
        self._context, self._options = tls_for(client)
        self._connector = connector_for(client)
        self._classes = (stdin_class, command_class)
        self._payload = (stdin_payload, stdin_encoding)
        self._output_args = (decode, encoding, stdout_handler, stderr_handler)
        self._want_control = control
        self._on_end = on_end
        self.stdin: Any = None
        self.stdout: Any = None
        self.stderr: Any = None
        self.control: _ControlWebsocket | None = None
        self._done: list[Any] = []
        self._stdin_done: Any = None
        self._errors: list[BaseException] = []

    def _kwargs(self, cls: Any) -> JSONDict:
        kwargs: JSONDict = {}
        if self._options is not None:
            kwargs["ssl_options"] = self._options
        if _is_lxd_class(cls):
            kwargs["ssl_context"] = self._context
            kwargs["connector"] = self._connector
        return kwargs

    def _connect(self, stream: Any, fd: str) -> Any:
        stream.resource = f"{self._path}?secret={self.fds[fd]}"
        stream.connect()
        return stream

    def open(self) -> _ExecSession:
        """Connect every websocket and start serving them.

        :raises ConnectionLost: when a websocket cannot be opened (nothing is
            left open then).
        """
        stdin_class, command_class = self._classes
        decode, encoding, out_handler, err_handler = self._output_args
        try:
            for name, fd, handler in (
                ("stdout", "1", out_handler),
                ("stderr", "2", err_handler),
            ):
                stream = command_class(
                    None,
                    self._url,
                    decode=decode,
                    encoding=encoding,
                    handler=handler,
                    **self._kwargs(command_class),
                )
                setattr(self, name, self._connect(stream, fd))
            if self._want_control:
                control = _ControlWebsocket(
                    self._url, **self._kwargs(_ControlWebsocket)
                )
                self.control = self._connect(control, "control")
            payload, payload_encoding = self._payload
            stdin = stdin_class(
                self._url,
                payload=payload,
                encoding=payload_encoding,
                **self._kwargs(stdin_class),
            )
            self.stdin = self._connect(stdin, "0")
        except BaseException:
            self.close()
            raise
        self._serve()
        return self

    def _serve(self) -> None:
        self._done = [
            self._start("stdout", self.stdout.run),
            self._start("stderr", self.stderr.run),
        ]
        if self._payload[0] is None:
            self.stdin.send_payload()  # only the end-of-input barrier: never blocks
        else:
            self._stdin_done = self._start("stdin", self.stdin.send_payload)

    def _start(self, name: str, target: Callable[[], Any]) -> Any:
        import threading

        done = threading.Event()

        def serve() -> None:
            try:
                target()
            except BaseException as err:  # noqa: BLE001 (re-raised by drain)
                self._errors.append(err)
            finally:
                done.set()
                if self._on_end is not None and name != "stdin":
                    self._on_end(name)

        threading.Thread(target=serve, name=f"pylxd-exec-{name}", daemon=True).start()
        return done

    def drain(self, timeout: float | None = None) -> tuple[Any, Any]:
        """Wait until LXD has ended stdout and stderr; return their buffers.

        :raises TimeoutError: when they have not ended within ``timeout``.
        :raises Exception: what a handler or the stdin payload raised.
        """
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        for done in self._done:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not done.wait(left):
                raise TimeoutError(f"exec {self.operation_id}: output still open")
        self.close()
        if self._stdin_done is not None:
            self._stdin_done.wait(STDIN_GRACE)
        for stream in (self.stdout, self.stderr):
            error = getattr(stream, "error", None)
            if isinstance(error, BaseException):
                self._errors.append(error)
        if self._errors:
            raise self._errors[0]
        return self.stdout.data, self.stderr.data

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the command through the control websocket.

        :raises ValueError: when the session was opened without control.
        """
        if self.control is None:
            raise ValueError(
                f"exec {self.operation_id} has no control websocket to send a signal"
            )
        self.control.signal(signum)

    def close(self) -> None:
        """Close every websocket (waking up threads still reading them)."""
        for stream in (self.stdin, self.control, self.stdout, self.stderr):
            if stream is None:
                continue
            if _is_lxd_class(type(stream)):
                stream.shutdown()
            stream.close_connection()

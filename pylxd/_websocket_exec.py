"""The websockets of one exec: stdin, stdout/stderr, control and pty clients.

Each derives from :class:`pylxd._websocket._LXDWebSocket` (TLS, block reads,
LXD's abrupt close). :class:`_ExecSession` connects the websockets of one
non-interactive exec and serves them with one thread each;
:class:`~pylxd.models.exec_streams.InteractiveSession` uses the pty and
control clients. ``pylxd.models.instance._StdinWebsocket`` and
``_CommandWebsocketClient`` (pylxd 2.4.2's names) are these classes.
"""

from __future__ import annotations

import codecs
import functools
import io
import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ws4py.messaging import Message

from pylxd import exceptions
from pylxd._operation_sockets import _OperationSockets
from pylxd._websocket import _is_lxd_class, _LXDWebSocket

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client

#: The logger the documentation names for websocket records.
logger = logging.getLogger("pylxd._websocket")

#: Bytes per message when streaming a file object to stdin.
STDIN_CHUNK = 64 * 1024

#: Seconds the stdin writer may take to notice its websocket was closed.
STDIN_GRACE = 5.0


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
class _ExecSession(_OperationSockets):
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
        super().__init__(client, operation_id, fds)
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

    def open(self) -> _ExecSession:
        """Connect every websocket and start serving them.

        :raises ConnectionLost: when a websocket cannot be opened (nothing is
            left open then).
        """
        stdin_class, command_class = self._classes
        decode, encoding, out_handler, err_handler = self._output_args
        url = self.client.websocket_url
        try:
            for name, fd, handler in (
                ("stdout", "1", out_handler),
                ("stderr", "2", err_handler),
            ):
                stream = self._socket(
                    command_class,
                    fd,
                    None,
                    url,
                    decode=decode,
                    encoding=encoding,
                    handler=handler,
                )
                setattr(self, name, stream)
            if self._want_control:
                self.control = self._socket(_ControlWebsocket, "control", url)
            payload, payload_encoding = self._payload
            self.stdin = self._socket(
                stdin_class, "0", url, payload=payload, encoding=payload_encoding
            )
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

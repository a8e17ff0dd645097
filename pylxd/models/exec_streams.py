"""What ``Instance.execute_stream``, ``interactive_execute`` and
``interactive_console`` return: :class:`ExecStream` and :class:`InteractiveSession`.

Both sit on the websocket clients of :mod:`pylxd._websocket_exec` and wait through
``client.operations.wait_for_operation``; nothing here polls or sleeps.
"""

from __future__ import annotations

import contextlib
import math
import queue
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterator

from pylxd import exceptions
from pylxd._operation_sockets import _OperationSockets, websocket_path
from pylxd.models._mixins import quote

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._websocket_exec import _ExecSession, _PtyWebsocket
    from pylxd.client import Client


#: What a reader thread queues once its stream ended (compared by identity).
_STREAM_END: tuple[str, Any] = ("", None)
#: Seconds for the streams of an ended command to be closed.
_DRAIN_GRACE = 5.0


def _lxd_wait_seconds(timeout: float) -> float:
    """LXD's ``/wait`` counts whole seconds: round the timeout up."""
    return float(max(1, math.ceil(timeout)))


def _deadline(timeout: float | None) -> float | None:
    """The monotonic time ``timeout`` seconds from now (None: no deadline)."""
    return None if timeout is None else time.monotonic() + timeout


def _left(deadline: float | None, expired: Callable[[], BaseException]) -> float | None:
    """Seconds left before ``deadline`` (None: no deadline).

    :raises BaseException: ``expired()`` once no time is left.
    """
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired()
    return left


def _websocket_path(client: Client, operation_id: str) -> str:
    return websocket_path(client, quote(operation_id, "Operation"))


class _Output:
    """The queue the reader threads of an :class:`ExecStream` fill.

    The threads hold this, never the stream itself: a stream dropped without
    :meth:`ExecStream.close` can then be collected, and its finalizer
    (:meth:`release`) stops the threads and closes the sockets.
    """

    def __init__(self, max_chunks: int) -> None:
        self.queue: queue.Queue[tuple[str, Any]] = queue.Queue(max_chunks)
        self.closed = False

    def sink(self, fd: str) -> Callable[[Any], None]:
        def put(chunk: Any) -> None:
            if not self.closed:
                self.queue.put((fd, chunk))

        return put

    def ended(self, fd: str) -> None:
        if not self.closed:
            self.queue.put(_STREAM_END)

    def release(self, session: _ExecSession | None) -> None:
        """Drop pending output (unblocking a full queue) and close the websockets."""
        self.closed = True
        with contextlib.suppress(queue.Empty):
            while True:
                self.queue.get_nowait()
        if session is not None:
            session.close()


class ExecStream:
    """The output of a running command, as ``(fd, chunk)`` pairs.

    Returned by ``Instance.execute_stream``; ``fd`` is ``"stdout"`` or
    ``"stderr"``. A bounded queue makes a slow reader slow the command down
    instead of filling memory. After the iteration, :attr:`exit_code` holds
    the command's exit code. Use it with ``with`` or call :meth:`close`; a
    stream dropped without either is closed when it is garbage collected
    (its threads end and its sockets are closed).
    """

    def __init__(self, client: Client, operation_id: str, max_chunks: int = 64) -> None:
        self.client = client
        self.operation_id = operation_id
        self._output = _Output(max_chunks)
        self._queue = self._output.queue
        self._open = 2
        self._exit_code: int | None = None
        self._session: _ExecSession | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def session(self) -> _ExecSession:
        """The websockets of the command (:class:`pylxd._websocket_exec._ExecSession`)."""
        if self._session is None:
            raise AttributeError("session")
        return self._session

    @session.setter
    def session(self, session: _ExecSession) -> None:
        self._session = session
        if self._finalizer is not None:
            self._finalizer.detach()
        # Holds the output and the session, never self: see _Output.
        self._finalizer = weakref.finalize(self, self._output.release, session)

    @property
    def _closed(self) -> bool:
        return self._output.closed

    def _sink(self, fd: str) -> Callable[[Any], None]:
        return self._output.sink(fd)

    def _ended(self, fd: str) -> None:
        self._output.ended(fd)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return self

    def __repr__(self) -> str:
        if self._exit_code is not None:
            state = f"exit code {self._exit_code}"
        else:
            state = "closed" if self._closed else "running"
            state = "output ended" if state == "running" and not self._open else state
        return f"<ExecStream for operation {self.operation_id!r} ({state})>"

    def __next__(self) -> tuple[str, Any]:
        return self._next(None)

    def _next(self, deadline: float | None) -> tuple[str, Any]:
        """The next chunk; :class:`queue.Empty` once ``deadline`` passed."""
        while self._open and not self._closed:
            item = self._queue.get(timeout=_left(deadline, queue.Empty))
            if item is _STREAM_END:
                self._open -= 1
                continue
            return item
        raise StopIteration

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the command (through the control websocket)."""
        self.session.signal(signum)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the command to end; return its exit code.

        :raises OperationTimeout: when it runs longer than ``timeout``.
        :raises ExecTimeout: when its output is still open after ``timeout``
            (e.g. the server stopped answering).
        :raises Exception: what the stdin payload raised.
        """
        if self._exit_code is None:
            exceptions.check_seconds("ExecStream.wait timeout", timeout)
            deadline = _deadline(timeout)
            self._drop_output(deadline, timeout)
            if deadline is not None:
                timeout = max(0.0, deadline - time.monotonic())
            kwargs = {} if timeout is None else {"timeout": _lxd_wait_seconds(timeout)}
            operation = self.client.operations.wait_for_operation(
                self.operation_id, **kwargs
            )
            self._exit_code = operation.metadata["return"]
            # Close the websockets; raise what the stdin payload raised.
            self.session.drain(_DRAIN_GRACE)
        return self._exit_code

    def _drop_output(self, deadline: float | None, timeout: float | None) -> None:
        # Unread output is dropped: the command cannot end while blocked.
        try:
            while True:
                self._next(deadline)
        except StopIteration:
            return
        except queue.Empty:
            raise exceptions.ExecTimeout(
                f"The output of operation {self.operation_id} was still open "
                f"after {timeout} s",
                timeout=timeout,
                operation_id=self.operation_id,
            ) from None

    @property
    def exit_code(self) -> int:
        """The command's exit code (waits for the command; output not yet
        iterated over is dropped)."""
        return self.wait()

    def close(self) -> None:
        """Stop reading: drop pending output and close the websockets."""
        if self._finalizer is not None:
            self._finalizer()  # runs release once; later calls do nothing
        else:
            self._output.release(self._session)

    def __enter__(self) -> ExecStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InteractiveSession(_OperationSockets):
    """A pty of an interactive command, or an instance's console.

    The data websocket carries input and output; the control websocket
    carries ``window-resize`` and signals. Everything runs in the caller's
    thread (no background reader). Closing the session of a running command
    makes LXD end it (SIGHUP from the closed pty, or SIGKILL: exit code 129
    or 137); closing a console session detaches from the console.

    :ivar operation_id: the LXD operation of the command or console.
    """

    def __init__(
        self,
        client: Client,
        operation_id: str,
        fds: dict[str, str],
        console: bool = False,
    ) -> None:
        super().__init__(client, operation_id, fds)
        self.console = console
        self.data: _PtyWebsocket | None = None
        self.control: Any = None
        self._pending = b""

    def __repr__(self) -> str:  # the websocket secrets (fds) are left out
        kind = "console" if self.console else "command"
        if self.data is None:
            state = "not open"
        else:
            state = "closed" if self.data.sock is None else "open"
        return f"<InteractiveSession for operation {self.operation_id!r} ({kind}, {state})>"

    def open(self) -> InteractiveSession:
        """Connect the data and control websockets.

        :raises ConnectionLost: when a websocket cannot be opened.
        """
        from pylxd._websocket_exec import _ControlWebsocket, _PtyWebsocket

        url = self.client.websocket_url
        try:
            self.data = self._socket(_PtyWebsocket, "0", url)  # first, as LXD expects
            self.control = self._socket(_ControlWebsocket, "control", url)
        except BaseException:
            self.close()
            raise
        return self

    def _websocket_path(self) -> str:
        return _websocket_path(self.client, self.operation_id)  # id checked

    def write(self, data: str | bytes) -> None:
        """Send ``data`` (str is encoded as utf-8) to the pty."""
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self._stream().send(payload, binary=True)

    def read(self, timeout: float | None = None) -> bytes:
        """Return the next output chunk, or b"" once the output has ended.

        :raises TimeoutError: when nothing arrives within ``timeout`` seconds.
        """
        if self._pending:
            chunk, self._pending = self._pending, b""
            return chunk
        return self._stream().read_chunk(timeout)

    def read_until(self, marker: str | bytes, timeout: float | None = None) -> bytes:
        """Read until ``marker`` has been seen; return everything up to and with it.

        :raises TimeoutError: when ``marker`` does not arrive in ``timeout`` s.
        :raises EOFError: when the output ends first.
        """
        wanted = marker.encode("utf-8") if isinstance(marker, str) else marker
        deadline = _deadline(timeout)
        seen = b""

        def expired() -> TimeoutError:
            return TimeoutError(
                f"{marker!r} not seen within {timeout} s: {seen[-200:]!r}"
            )

        while wanted not in seen:
            chunk = self.read(_left(deadline, expired))
            if not chunk:
                raise EOFError(f"output ended before {marker!r}: {seen[-200:]!r}")
            seen += chunk
        end = seen.index(wanted) + len(wanted)
        self._pending = seen[end:] + self._pending
        return seen[:end]

    def resize(self, width: int, height: int) -> None:
        """Resize the terminal (a ``window-resize`` control message)."""
        self._control().resize(width, height)

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the command (a ``signal`` control message)."""
        self._control().signal(signum)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the command to end; return its exit code (None for a console).

        LXD ends the operation once the client has closed its websockets: the
        output is read to its end first (kept for :meth:`read`), then the
        websockets are closed. A console is detached at once.

        :raises TimeoutError: when the output does not end within ``timeout``.
        :raises OperationTimeout: when LXD does not end the operation in time.
        """
        deadline = _deadline(timeout)
        if not self.console and self.data is not None and self.data.sock is not None:
            self._pending += self._read_to_end(deadline)
        self.close()
        kwargs = {}
        if deadline is not None:
            left = max(0.0, deadline - time.monotonic())
            kwargs["timeout"] = _lxd_wait_seconds(left)
        try:
            operation = self.client.operations.wait_for_operation(
                self.operation_id, **kwargs
            )
        except exceptions.OperationTimeout:
            raise
        except exceptions.LXDAPIException:
            if not self.console:
                raise
            # LXD 5.0 often fails a console operation on detach ("write
            # /dev/pts/ptmx: file already closed"): detaching is its end.
            return None
        return (operation.metadata or {}).get("return")

    def _read_to_end(self, deadline: float | None) -> bytes:
        stream = self._stream()
        chunks: list[bytes] = []

        def expired() -> TimeoutError:
            return TimeoutError(
                f"interactive session {self.operation_id}: output still open"
            )

        while True:
            chunk = stream.read_chunk(_left(deadline, expired))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    @property
    def exit_code(self) -> int | None:
        """The command's exit code (waits for the command to end)."""
        return self.wait()

    def close(self) -> None:
        """Close both websockets (for a console: detach from it)."""
        for stream in (self.data, self.control):
            if stream is not None:
                stream.close_gracefully()

    def _stream(self) -> _PtyWebsocket:
        if self.data is None or self.data.sock is None:
            raise ValueError(f"interactive session {self.operation_id} is closed")
        return self.data

    def _control(self) -> Any:
        if self.control is None or self.control.sock is None:
            raise ValueError(f"interactive session {self.operation_id} is closed")
        return self.control

    def __enter__(self) -> InteractiveSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

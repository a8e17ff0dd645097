"""Exec, interactive sessions and console for instances (mixed into ``Instance``).

``Instance.execute`` is four steps: :meth:`ExecMixin._start_exec` (``POST
/1.0/instances/<name>/exec``, shared with :meth:`raw_interactive_execute`),
open a :class:`pylxd._websocket_exec._ExecSession` with the websocket classes named
in ``pylxd.models.instance``, wait for the operation, then drain the streams.
The exit code always comes from the operation (``metadata.return``). The
arguments are checked, and the request body built, in
:mod:`pylxd.models._exec_request`.

ws4py is imported only when a websocket is opened.
"""

from __future__ import annotations

import contextlib
import functools
import signal as _signal
import sys
from collections import namedtuple
from typing import TYPE_CHECKING, Any, Callable

from pylxd import exceptions
from pylxd.models._exec_request import (
    _check_id,
    _check_output_options,
    _check_signal,
    _exec_body,
    _fds,
)
from pylxd.models._mixins import name_from_url, quote
from pylxd.models.exec_streams import (
    ExecStream,
    InteractiveSession,
    _lxd_wait_seconds,
    _websocket_path,
)

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._transport import _APINode
    from pylxd._websocket_exec import _ExecSession
    from pylxd.client import Client
    from pylxd.models.operation import Operation


_InstanceExecuteResult = namedtuple(
    "_InstanceExecuteResult", ["exit_code", "stdout", "stderr"]
)

#: The signal sent to a command that outlives ``execute(timeout=...)``.
DEFAULT_TIMEOUT_SIGNAL = int(_signal.SIGKILL)
#: Seconds given to LXD to end an operation after the client signalled it.
_GRACE = 5.0


def _websocket_classes() -> tuple[Any, Any]:
    """``_StdinWebsocket`` and ``_CommandWebsocketClient`` as ``instance.py`` names them now.

    Tests patch ``pylxd.models.instance._StdinWebsocket``; the lookup happens
    on every call so that the patch is seen.
    """
    from pylxd import _websocket_exec

    module = sys.modules.get("pylxd.models.instance")
    stdin = getattr(module, "_StdinWebsocket", None) or _websocket_exec._StdinWebsocket
    command = (
        getattr(module, "_CommandWebsocketClient", None)
        or _websocket_exec._CommandWebsocketClient
    )
    return stdin, command


def _checked_classes(stdin_payload: Any) -> tuple[Any, Any]:
    """The websocket classes, once the stdin class accepted ``stdin_payload``.

    :raises TypeError: for a payload that cannot be sent (before LXD starts
        the command).
    """
    stdin_class, command_class = _websocket_classes()
    if callable(getattr(stdin_class, "check_payload", None)):
        stdin_class.check_payload(stdin_payload)
    return stdin_class, command_class


class ExecMixin:
    """Instance methods that run commands and attach consoles over websockets."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by Instance
        client: Client
        name: str

        @property
        def api(self) -> _APINode: ...

    # -- starting a command ------------------------------------------------
    def _start_exec(
        self,
        commands: list[str],
        environment: dict[str, str] | None = None,
        **options: Any,
    ) -> tuple[str, dict[str, str]]:
        """Start a command; return its operation id and websocket secrets.

        Implements ``POST /1.0/instances/<name>/exec``.

        :param options: ``interactive`` (required), ``user``, ``group``,
            ``cwd``, ``record_output``, ``width``, ``height``.
        """
        body = _exec_body(commands, environment, **options)
        response = self.api["exec"].post(json=body)
        return name_from_url(exceptions.operation_of(response)), _fds(response)

    def _wait_exec(self, operation_id: str, timeout: float | None) -> Operation:
        if timeout is None:
            return self.client.operations.wait_for_operation(operation_id)
        return self.client.operations.wait_for_operation(
            operation_id, timeout=_lxd_wait_seconds(timeout)
        )

    # -- execute -----------------------------------------------------------
    def execute(
        self,
        commands: list[str],
        environment: dict[str, str] | None = None,
        encoding: str | None = None,
        decode: bool = True,
        stdin_payload: Any = None,
        stdin_encoding: str = "utf-8",
        stdout_handler: Callable[[Any], None] | None = None,
        stderr_handler: Callable[[Any], None] | None = None,
        user: int | None = None,
        group: int | None = None,
        cwd: str | None = None,
        timeout: float | None = None,
        record_output: bool = False,
        timeout_signal: int = DEFAULT_TIMEOUT_SIGNAL,
    ) -> _InstanceExecuteResult:
        """Execute a command on the instance and wait for it to finish.

        Implements ``POST /1.0/instances/<name>/exec`` and its websockets.
        stdout and stderr are buffered if no handler is given; every stream
        is read until LXD closes it, so no output is lost.

        :param commands: the command and its arguments, e.g. ``["ls", "-l"]``.
        :param environment: variables to set for the command.
        :param encoding: to decode stdout/stderr with (default utf-8).
        :param decode: False to get bytes instead of str.
        :param stdin_payload: str, bytes, a file object, a generator of
            chunks or a ws4py message, sent to the command's stdin.
        :param stdin_encoding: to encode str stdin chunks with.
        :param stdout_handler: called with each chunk of stdout as it arrives.
        :param stderr_handler: called with each chunk of stderr as it arrives.
        :param user: the uid to run the command as.
        :param group: the gid to run the command as.
        :param cwd: the working directory of the command.
        :param timeout: seconds (a finite number above 0) after which the
            command is signalled and :class:`~pylxd.exceptions.ExecTimeout`
            raised (LXD's wait counts whole seconds, so it is rounded up).
        :param record_output: let LXD record stdout/stderr in log files and
            fetch them afterwards (no websockets; ``stdin_payload`` cannot be
            used; handlers get the whole output once).
        :param timeout_signal: the signal sent on timeout (SIGKILL): a
            number, a :class:`signal.Signals` or a name (``"KILL"``,
            ``"SIGTERM"``).
        :raises InvalidArgument: for a bad argument (an unknown encoding or
            signal, a timeout that is not above 0, ...), before anything is
            sent; :class:`~pylxd.exceptions.InvalidArgumentType` for one of
            the wrong type.
        :returns: ``(exit_code, stdout, stderr)``.
        :raises ExecTimeout: when ``timeout`` passes first.
        :raises LXDAPIException: when LXD cannot run the command.
        :raises ConnectionLost: when a websocket cannot be opened (e.g. the
            server's certificate is not the expected one).
        """
        ids = {"user": user, "group": group, "cwd": cwd}
        _check_output_options(encoding, stdin_encoding)
        exceptions.check_seconds("timeout", timeout)
        timeout_signal = _check_signal(timeout_signal)
        if record_output:
            handlers = (stdout_handler, stderr_handler)
            return self._execute_recorded(
                commands,
                environment,
                encoding,
                decode,
                stdin_payload,
                handlers,
                timeout,
                **ids,
            )
        io = (stdin_payload, stdin_encoding, decode, encoding)
        operation_id, open_streams = self._start_with_streams(
            commands, environment, ids, io
        )
        session = open_streams(
            stdout_handler=stdout_handler,
            stderr_handler=stderr_handler,
            control=timeout is not None,
        )
        try:
            operation = self._wait_exec(operation_id, timeout)
            stdout, stderr = session.drain(timeout)
        except (exceptions.OperationTimeout, TimeoutError) as err:
            raise self._exec_timed_out(session, timeout, timeout_signal) from err
        finally:
            session.close()
        return _InstanceExecuteResult(operation.metadata["return"], stdout, stderr)

    def _start_with_streams(
        self,
        commands: list[str],
        environment: dict[str, str] | None,
        ids: dict[str, Any],
        io: tuple[Any, str | None, bool, str | None],
    ) -> tuple[str, Callable[..., _ExecSession]]:
        """Start a command whose stdin/stdout/stderr go through websockets.

        ``io`` is ``(stdin_payload, stdin_encoding, decode, encoding)``. The
        payload is checked before LXD starts anything. Returns the operation
        id and a function opening the streams with the given handlers.
        """
        stdin_payload, stdin_encoding, decode, encoding = io
        classes = _checked_classes(stdin_payload)
        operation_id, fds = self._start_exec(
            commands, environment, interactive=False, **ids
        )
        return operation_id, functools.partial(
            self._exec_session,
            operation_id,
            fds,
            classes,
            stdin_payload=stdin_payload,
            stdin_encoding=stdin_encoding,
            decode=decode,
            encoding=encoding,
        )

    def _exec_session(
        self,
        operation_id: str,
        fds: dict[str, str],
        classes: tuple[Any, Any],
        **options: Any,
    ) -> _ExecSession:
        from pylxd._websocket_exec import _ExecSession

        stdin_class, command_class = classes
        return _ExecSession(
            self.client,
            operation_id,
            fds,
            stdin_class=stdin_class,
            command_class=command_class,
            **options,
        ).open()

    def _exec_timed_out(
        self, session: _ExecSession, timeout: float | None, signum: int
    ) -> exceptions.ExecTimeout:
        """Signal the command, let LXD end it, close the streams."""
        try:
            session.signal(signum)
            sent = f"it was sent signal {signum}"
        except (OSError, RuntimeError, ValueError) as err:
            sent = f"signal {signum} could not be sent ({err})"
        with contextlib.suppress(exceptions.LXDAPIException):
            self.client.operations.wait_for_operation(
                session.operation_id, timeout=_GRACE
            )
        stdout = stderr = None
        with contextlib.suppress(Exception):
            stdout, stderr = session.drain(_GRACE)
        session.close()
        return exceptions.ExecTimeout(
            f"Command on instance {self.name!r} did not finish within {timeout} s "
            f"(operation {session.operation_id}); {sent}",
            timeout=timeout,
            operation_id=session.operation_id,
            stdout=stdout,
            stderr=stderr,
        )

    # -- record-output -----------------------------------------------------
    def _execute_recorded(
        self,
        commands: list[str],
        environment: dict[str, str] | None,
        encoding: str | None,
        decode: bool,
        stdin_payload: Any,
        handlers: tuple[Any, Any],
        timeout: float | None,
        **options: Any,
    ) -> _InstanceExecuteResult:
        """Run with ``record-output``: LXD writes the output to log files."""
        if stdin_payload is not None:
            raise ValueError("execute(record_output=True) cannot send stdin_payload")
        operation_id, _ = self._start_exec(
            commands, environment, interactive=False, record_output=True, **options
        )
        try:
            operation = self._wait_exec(operation_id, timeout)
        except exceptions.OperationTimeout as err:
            raise exceptions.ExecTimeout(
                f"Command on instance {self.name!r} did not finish within {timeout} s "
                f"(operation {operation_id}, record-output: it keeps running)",
                timeout=timeout,
                operation_id=operation_id,
            ) from err
        logs = (operation.metadata or {}).get("output") or {}
        outputs: list[Any] = [self._pop_exec_log(logs.get(fd)) for fd in ("1", "2")]
        if decode:
            outputs = [data.decode(encoding or "utf-8") for data in outputs]
        for handler, data in zip(handlers, outputs):
            if handler is not None and data:
                handler(data)
        return _InstanceExecuteResult(operation.metadata["return"], *outputs)

    def _pop_exec_log(self, url: str | None) -> bytes:
        """Read a record-output log file, then delete it.

        Implements ``GET`` and ``DELETE /1.0/instances/<name>/logs/<file>``
        (``/logs/exec-output/<file>`` on Incus, as the operation names it).
        """
        if not url:
            return b""
        logs = self.api.logs
        if "/logs/exec-output/" in url:
            logs = logs["exec-output"]
        node = logs[quote(name_from_url(url), "Instance log file")]
        data = node._send("get", (), {}, ok=(200,), check_sync=False).content
        with contextlib.suppress(exceptions.LXDAPIException):
            node.delete()
        return data

    # -- streaming ---------------------------------------------------------
    def execute_stream(
        self,
        commands: list[str],
        environment: dict[str, str] | None = None,
        stdin_payload: Any = None,
        stdin_encoding: str = "utf-8",
        decode: bool = False,
        encoding: str | None = None,
        user: int | None = None,
        group: int | None = None,
        cwd: str | None = None,
    ) -> ExecStream:
        """Run a command and iterate over its output as it arrives.

        Implements ``POST /1.0/instances/<name>/exec`` and its websockets.

        >>> with instance.execute_stream(["sh", "-c", "echo a; echo b >&2"]) as run:  # doctest: +SKIP
        ...     for fd, chunk in run:
        ...         print(fd, chunk)
        ...     run.exit_code
        stdout b'a\\n'
        stderr b'b\\n'
        0

        :returns: an :class:`ExecStream` yielding ``("stdout"|"stderr", chunk)``.
        """
        _check_output_options(encoding, stdin_encoding)
        ids = {"user": user, "group": group, "cwd": cwd}
        io = (stdin_payload, stdin_encoding, decode, encoding)
        operation_id, open_streams = self._start_with_streams(
            commands, environment, ids, io
        )
        stream = ExecStream(self.client, operation_id)
        stream.session = open_streams(
            control=True,
            on_end=stream._output.ended,
            stdout_handler=stream._output.sink("stdout"),
            stderr_handler=stream._output.sink("stderr"),
        )
        return stream

    # -- interactive -------------------------------------------------------
    def raw_interactive_execute(
        self,
        commands: list[str],
        environment: dict[str, str] | None = None,
        user: int | None = None,
        group: int | None = None,
        cwd: str | None = None,
    ) -> dict[str, str]:
        """Start a command on a pty and return the URLs of its websockets.

        Implements ``POST /1.0/instances/<name>/exec`` (interactive). The URLs
        carry a secret and can be opened without further authentication; the
        command starts once they are connected.

        :returns: ``{"name": <instance>, "ws": <url>, "control": <url>}``.
        """
        operation_id, fds = self._start_exec(
            commands, environment, interactive=True, user=user, group=group, cwd=cwd
        )
        path = _websocket_path(self.client, operation_id)
        return {
            "name": self.name,
            "ws": f"{path}?secret={fds['0']}",
            "control": f"{path}?secret={fds['control']}",
        }

    def interactive_execute(
        self,
        commands: list[str],
        environment: dict[str, str] | None = None,
        user: int | None = None,
        group: int | None = None,
        cwd: str | None = None,
        width: int = 80,
        height: int = 24,
    ) -> InteractiveSession:
        """Start a command on a pty and return a connected session.

        Implements ``POST /1.0/instances/<name>/exec`` (interactive).

        :returns: an :class:`InteractiveSession` (write, read, resize, signal,
            close, exit_code).
        """
        operation_id, fds = self._start_exec(
            commands,
            environment,
            interactive=True,
            user=user,
            group=group,
            cwd=cwd,
            width=width,
            height=height,
        )
        return InteractiveSession(self.client, operation_id, fds).open()

    # -- console -----------------------------------------------------------
    def console_log(self) -> str:
        """Return the instance's console log ("" when there is none yet).

        Implements ``GET /1.0/instances/<name>/console``. LXD 5.0 answers
        "open : no such file or directory" after the log was cleared and
        before the console printed anything: that is an empty log.

        :raises LXDAPIException: for any other error.
        """
        try:
            response = self.api.console._send(
                "get", (), {}, ok=(200,), check_sync=False
            )
        except exceptions.LXDAPIException as err:
            if "no such file or directory" in str(err):
                return ""
            raise
        return response.content.decode("utf-8", "replace")

    def clear_console_log(self) -> None:
        """Clear the instance's console log buffer.

        Implements ``DELETE /1.0/instances/<name>/console``.
        """
        self.api.console.delete()

    def interactive_console(
        self, width: int = 80, height: int = 24
    ) -> InteractiveSession:
        """Attach to the instance's console and return a connected session.

        Implements ``POST /1.0/instances/<name>/console`` (type ``console``).
        Closing the session detaches from the console.
        """
        body = {
            "type": "console",
            "width": _check_id("width", width),
            "height": _check_id("height", height),
        }
        response = self.api.console.post(json=body)
        operation_id = name_from_url(exceptions.operation_of(response))
        return InteractiveSession(
            self.client, operation_id, _fds(response), console=True
        ).open()

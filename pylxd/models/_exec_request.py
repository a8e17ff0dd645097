"""What an exec sends and gets back: the checked ``InstanceExecPost`` body.

Every argument of ``execute``, ``execute_stream``, the interactive calls and
the console is checked here before ``POST /1.0/instances/<name>/exec`` (or
``/console``) is sent, with a clear :class:`~pylxd.exceptions.InvalidArgument`
or :class:`~pylxd.exceptions.InvalidArgumentType`; :func:`_fds` reads the
websocket secrets of the operation LXD answers with.
"""

from __future__ import annotations

import codecs
import signal as _signal
from typing import Any

from pylxd import exceptions
from pylxd._ids import check_id
from pylxd._types import JSONDict
from pylxd.models._mixins import check_config


def _check_commands(commands: Any) -> list[str]:
    if isinstance(commands, (str, bytes)) or not isinstance(commands, (list, tuple)):
        raise exceptions.InvalidArgumentType(
            f"commands must be a list of strings such as ['ls', '-l'], not {commands!r}"
        )
    if not commands:
        raise exceptions.InvalidArgument("commands must be a non-empty list of strings")
    for arg in commands:
        if not isinstance(arg, str):  # a ValueError, as it always was here
            raise exceptions.InvalidArgument(
                f"commands must be a list of strings: {arg!r} is a {type(arg).__name__}"
            )
        if "\0" in arg:
            raise exceptions.InvalidArgument(
                f"a command argument cannot hold a NUL character: {arg!r}"
            )
    return list(commands)


def _check_environment(environment: Any) -> dict[str, str]:
    if environment is None:
        return {}
    check_config("execute", environment, "environment")
    for key, value in environment.items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            raise exceptions.InvalidArgument(
                f"environment variable {key!r} cannot be set (an empty name, "
                "'=' in the name or a NUL character)"
            )
    return dict(environment)


def _check_id(what: str, value: Any) -> int | None:
    """A uid, gid or terminal size: an int up to 2**32-1 (no digit strings)."""
    return None if value is None else check_id(what, value, digits=False)


def _check_encoding(what: str, encoding: Any) -> None:
    if encoding is None:
        return
    if not isinstance(encoding, str):
        raise exceptions.InvalidArgumentType(
            f"{what} must be the name of a codec, not {encoding!r}"
        )
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise exceptions.InvalidArgument(
            f"{what} {encoding!r} is not a known codec"
        ) from None


def _check_signal(signum: Any) -> int:
    """A signal: a number, a :class:`signal.Signals`, or a name (``"KILL"``)."""
    if isinstance(signum, str):
        name = signum.upper()
        name = name if name.startswith("SIG") else f"SIG{name}"
        member = _signal.Signals.__members__.get(name)
        if member is None:
            raise exceptions.InvalidArgument(f"timeout_signal {signum!r} is no signal")
        return int(member)
    if isinstance(signum, bool) or not isinstance(signum, int):
        raise exceptions.InvalidArgumentType(
            f"timeout_signal must be a signal number or name, not {signum!r}"
        )
    if not 1 <= signum <= 64:
        raise exceptions.InvalidArgument(
            f"timeout_signal must be a signal from 1 to 64, not {signum}"
        )
    return int(signum)


def _check_output_options(encoding: Any, stdin_encoding: Any) -> None:
    _check_encoding("encoding", encoding)
    _check_encoding("stdin_encoding", stdin_encoding)


def _fds(response: Any) -> dict[str, str]:
    """The websocket secrets of an exec or console operation."""
    operation = exceptions.metadata_of(response)
    metadata = operation.get("metadata") or {}
    fds = metadata.get("fds") if isinstance(metadata, dict) else None
    if fds is not None and not isinstance(fds, dict):
        raise exceptions.malformed(response, "fds that are not an object")
    return {str(k): str(v) for k, v in (fds or {}).items()}


def _exec_body(
    commands: Any,
    environment: Any,
    *,
    interactive: bool,
    user: int | None = None,
    group: int | None = None,
    cwd: str | None = None,
    record_output: bool = False,
    width: int | None = None,
    height: int | None = None,
) -> JSONDict:
    """The ``InstanceExecPost`` body (optional fields only when given)."""
    body: JSONDict = {
        "command": _check_commands(commands),
        "environment": _check_environment(environment),
        "wait-for-websocket": not record_output,
        "interactive": interactive,
    }
    if record_output:
        body["record-output"] = True
    optional: dict[str, Any] = {
        "user": _check_id("user", user),
        "group": _check_id("group", group),
        "width": _check_id("width", width),
        "height": _check_id("height", height),
    }
    if cwd is not None:
        if not isinstance(cwd, str):
            raise exceptions.InvalidArgumentType(
                f"cwd must be an absolute path (str), not {cwd!r}"
            )
        if not cwd.startswith("/") or "\0" in cwd:
            raise exceptions.InvalidArgument(
                f"cwd must be an absolute path, not {cwd!r}"
            )
        optional["cwd"] = cwd
    body.update({k: v for k, v in optional.items() if v is not None})
    return body

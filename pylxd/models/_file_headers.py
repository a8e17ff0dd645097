"""What is sent in LXD's file API ``X-LXD-*`` headers.

The mode, uid, gid and path a caller gives are checked here and written in
LXD's format, before any request (what LXD answers in these headers is
:class:`pylxd.models.files.FileInfo`). Shared by :mod:`pylxd.models.files`
and :mod:`pylxd.models._files_recursive`.
"""

from __future__ import annotations

import os
from typing import Any

from pylxd import exceptions
from pylxd._ids import check_id

FILE, DIRECTORY, SYMLINK = "file", "directory", "symlink"
_MAX_MODE = 0o7777
_OCTAL_DIGITS = frozenset("01234567")


# -- validation of what the caller gives ------------------------------------
def _mode_header(mode: Any, what: str) -> str:
    """``0o644``, ``'0644'``, ``'644'`` or ``'0o644'`` -> ``'0644'`` (LXD's format).

    :raises ValueError: for anything that is not an octal mode up to ``0o7777``.
    """
    if isinstance(mode, str):
        digits = mode[2:] if mode[:2].lower() == "0o" else mode
        if not digits or not set(digits) <= _OCTAL_DIGITS:
            raise exceptions.InvalidArgument(
                f"{what}: mode {mode!r} is not an octal file mode"
            )
        value = int(digits, 8)
    elif isinstance(mode, int) and not isinstance(mode, bool):
        value = mode
    else:
        raise exceptions.InvalidArgument(
            f"{what}: mode {mode!r} is not an octal file mode (int or octal string)"
        )
    if not 0 <= value <= _MAX_MODE:
        raise exceptions.InvalidArgument(
            f"{what}: mode {mode!r} is out of range (0 to 0o7777)"
        )
    return f"0{value:o}"


def _id_header(value: Any, name: str, what: str) -> str:
    """A uid/gid as LXD reads it (see :func:`pylxd._ids.check_id`)."""
    return str(check_id(f"{what}: {name}", value))


def _metadata_headers(mode: Any, uid: Any, gid: Any, what: str) -> dict[str, str]:
    headers = {}
    if mode is not None:
        headers["X-LXD-mode"] = _mode_header(mode, what)
    if uid is not None:
        headers["X-LXD-uid"] = _id_header(uid, "uid", what)
    if gid is not None:
        headers["X-LXD-gid"] = _id_header(gid, "gid", what)
    return headers


def _check_remote(path: Any, what: str) -> str:
    """A path inside the instance (str or PathLike), made absolute.

    A relative path is taken from the instance's root, as LXD itself does
    (pylxd 2.4.2 sent it as given): ``"etc/hosts"`` is ``"/etc/hosts"``.
    LXD resolves the path inside the instance, so ``..`` cannot leave it.
    """
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise exceptions.InvalidArgumentType(f"{what}: path {path!r} is not a string")
    if not path:
        raise exceptions.InvalidArgument(f"{what}: the path is empty")
    if "\0" in path:
        raise exceptions.InvalidArgument(
            f"{what}: path {path!r} contains a NUL character"
        )
    return path if path.startswith("/") else "/" + path

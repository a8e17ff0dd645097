"""``files.put(..., atomic=True)``: upload beside the file, then rename it.

LXD truncates a file as soon as an upload to it starts, so a failed upload
leaves it half-written. Here the data goes to a temporary name in the same
directory (same filesystem, so the rename is atomic) and replaces the file
only once complete. LXD's file API cannot rename (``POST .../files`` only
creates, ``DELETE`` only removes) and LXD 5.0 has no SFTP endpoint
(``instance_sftp`` came later), so the rename is ``mv -f`` run in the
instance through ``execute``, as documented on :meth:`FilesManager.put`.
"""

from __future__ import annotations

import posixpath
import secrets
import time
from typing import TYPE_CHECKING, Any

from pylxd import exceptions

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.models.files import FilesManager


def temporary_name(path: str) -> str:
    """``/etc/app.conf`` -> ``/etc/.app.conf.pylxd-<random>.part``."""
    directory, name = posixpath.split(path)
    return posixpath.join(directory, f".{name}.pylxd-{secrets.token_hex(6)}.part")


def put_replacing(
    files: FilesManager, path: str, headers: dict[str, str], body: Any
) -> None:
    """Upload ``body`` to a temporary name, then rename it onto ``path``.

    On any failure the temporary file is removed (best effort) and ``path``
    is as it was.

    :raises FileError: when the rename fails (:class:`FileReplaceFailed`).
    """
    temporary = temporary_name(path)
    try:
        files._post(temporary, headers, body)
        _rename(files, temporary, path)
    except exceptions.TransferIncomplete:
        _remove_quietly(files, temporary, settle=True)
        raise
    except BaseException:
        _remove_quietly(files, temporary)
        raise


def _rename(files: FilesManager, source: str, target: str) -> None:
    instance = files.instance
    result = instance.execute(["mv", "-f", "--", source, target])
    if result.exit_code != 0:
        detail = (result.stderr or "").strip() or f"exit code {result.exit_code}"
        raise exceptions.FileReplaceFailed(
            f"Path {target!r} in instance {instance.name!r}: the upload is "
            f"complete but 'mv' could not rename it into place: {detail}",
            instance=instance.name,
            path=target,
        )


#: After an aborted upload: how often, and how far apart, a temporary file
#: not found yet is looked for again (about 1 s in all).
_SETTLE_TRIES = 5
_SETTLE_PAUSE = 0.2


def _remove_quietly(files: FilesManager, path: str, *, settle: bool = False) -> None:
    """Delete the temporary file, if there is one, keeping the caller's error.

    :param settle: the upload was aborted midway: LXD runs the aborted
        request's handler on its own and may create the file only after the
        client gave up (seen on LXD 5.0.2), with nothing to wait on; so a
        file not found yet is looked for again a few times.
    """
    # Cleanup after an error that is already on its way to the caller: a
    # second failure here (daemon gone, no file_delete) must not replace it.
    if not files.delete_available():
        return
    for _ in range(_SETTLE_TRIES if settle else 1):
        try:
            files.api.delete(params={"path": path})
            return
        except exceptions.NotFound:
            if settle:
                time.sleep(_SETTLE_PAUSE)
        except (exceptions.LXDAPIException, exceptions.ClientConnectionFailed):
            return

"""File transfer for instances: ``instance.files`` (``/1.0/instances/<name>/files``).

One endpoint carries every operation; the query's ``path`` names the file and
``X-LXD-*`` headers carry its metadata::

    GET    ?path=   file content (application/octet-stream), a symlink's
                    target, or a directory listing (sync JSON list of names);
                    X-LXD-type/-mode/-uid/-gid describe the entry
    HEAD   ?path=   the same headers without content (``instance_file_head``)
    POST   ?path=   create or replace (X-LXD-type file|directory|symlink,
                    X-LXD-write overwrite|append, X-LXD-mode/-uid/-gid)
    DELETE ?path=   remove a file, a symlink or an empty directory (``file_delete``)

Transfers stream through :mod:`pylxd.models._streaming`: uploads from a file
object or an iterable go out in chunks (with a Content-Length when the size
is known), downloads with :meth:`FilesManager.get_to` are copied chunk by
chunk, so memory stays constant whatever the size. The recursive transfers
(and their path safety) are in :mod:`pylxd.models._files_recursive`, the
checks of what is sent in the ``X-LXD-*`` headers (mode, uid, gid, path) in
:mod:`pylxd.models._file_headers`, ``put(atomic=True)`` in
:mod:`pylxd.models._files_atomic`.

LXD 5.0 facts the code relies on (checked against a real daemon): it parses
``X-LXD-mode`` with Go's base-0 rules (``644`` is *decimal*), so the mode is
always sent as ``0`` plus octal digits; it ignores a mode it cannot parse,
hence the client-side validation; replacing an existing file keeps the file's
mode and owner; symlinks are always created ``0777`` and owned by root, and
``GET`` answers a symlink's target joined to the link's directory (an
absolute path) although the link keeps the target it was created with.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import os
from typing import TYPE_CHECKING, Any, BinaryIO, ContextManager

from pylxd import exceptions
from pylxd.exceptions import UnsafePathWarning  # noqa: F401  (importable here)
from pylxd.exceptions import FileError, FileNotFound
from pylxd.models import _files_atomic, _streaming
from pylxd.models._file_headers import (
    _MAX_MODE,
    DIRECTORY,
    FILE,
    SYMLINK,
    _check_remote,
    _metadata_headers,
)
from pylxd.models._files_recursive import RecursiveTransfersMixin
from pylxd.models._mixins import InstancePart
from pylxd.models._streaming import CHUNK_SIZE, Progress

if TYPE_CHECKING:  # pragma: no cover
    import requests


@dataclasses.dataclass(frozen=True)
class FileInfo:
    """What LXD reports about a path (the ``X-LXD-*`` headers).

    :ivar type: ``"file"``, ``"directory"`` or ``"symlink"``.
    :ivar mode: permission bits (e.g. ``0o644``).
    :ivar uid: owner uid inside the instance.
    :ivar gid: owner gid inside the instance.
    :ivar modified: last modification time, when LXD sends it.
    :ivar size: content length in bytes when LXD sends it (``GET`` of a file
        or symlink; LXD 5.0's ``HEAD`` does not).
    """

    type: str
    mode: int
    uid: int
    gid: int
    modified: datetime.datetime | None = None
    size: int | None = None

    @classmethod
    def from_headers(cls, headers: Any) -> FileInfo:
        """Build from a response's headers (missing or bad values read as 0)."""
        length = headers.get("Content-Length")
        is_listing = "json" in headers.get("Content-Type", "")
        return cls(
            type=headers.get("X-LXD-type", FILE),
            mode=_header_int(headers.get("X-LXD-mode"), 8),
            uid=_header_int(headers.get("X-LXD-uid"), 10),
            gid=_header_int(headers.get("X-LXD-gid"), 10),
            modified=_parse_modified(headers.get("X-LXD-modified")),
            size=(
                int(length) if length and length.isdigit() and not is_listing else None
            ),
        )


def _header_int(value: str | None, base: int) -> int:
    try:
        return int(value or "0", base)
    except ValueError:
        return 0


def _parse_modified(value: str | None) -> datetime.datetime | None:
    """``2026-11-27 07:09:44 +0000 UTC`` (Go's time format) -> an aware datetime."""
    if not value:
        return None
    try:
        return datetime.datetime.strptime(value[:25], "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None


# -- upload bodies -------------------------------------------------------------
def _upload_body(data: Any, progress: Progress | None, what: str) -> Any:
    """What to hand to requests: the bytes themselves, or a streamed body.

    Everything that can be checked is checked here, before the request:
    LXD truncates the file as soon as an upload starts.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, (bytes, bytearray)) and progress is None:
        return data
    if (
        isinstance(data, (bytes, bytearray, memoryview))
        or hasattr(data, "read")
        or _streaming.is_chunks(data)
    ):
        return _streaming.UploadBody(data, progress, what=what)
    raise exceptions.InvalidArgumentType(
        f"{what}: data must be bytes, str, a file object or an iterable of bytes, "
        f"not {type(data).__name__}"
    )


def _local_mode(mode: Any, data: Any, filepath: str, what: str) -> Any:
    """``mode=True``: the permission bits of the local file; False: none.

    The local file is ``data``'s (a file object with a descriptor), else the
    local file at ``filepath`` (what pylxd 2.4.2 read).
    """
    if mode is not True:
        return None if mode is False else mode
    try:
        return os.fstat(data.fileno()).st_mode & _MAX_MODE
    except (AttributeError, OSError, ValueError):
        pass
    try:
        return os.stat(filepath).st_mode & _MAX_MODE
    except OSError as err:
        raise exceptions.InvalidArgument(
            f"{what}: mode=True keeps a local file's mode, but the data is not a local "
            f"file and {filepath!r} cannot be read locally ({err.strerror})"
        ) from err


def _raise_if_cut(body: Any, what: str, err: Exception) -> None:
    """An upload the connection cut midway says so, with the bytes sent.

    :raises TransferIncomplete: when ``body`` was started and not finished.
    """
    if not isinstance(body, _streaming.UploadBody) or not body.started:
        return
    if body.total is not None and body.done >= body.total:
        return  # all sent: the answer is what went missing
    raise exceptions.TransferIncomplete(
        what, body.done, body.total, f"{err} (LXD keeps what it received)"
    ) from err


class FilesManager(RecursiveTransfersMixin, InstancePart):
    """A pseudo-manager for namespacing file operations (``instance.files``).

    Implements ``/1.0/instances/<name>/files``. All paths are paths inside
    the instance (a relative one is taken from its root, as pylxd 2.4.2 and
    LXD do). LXD creates files ``0644`` and directories ``0750``
    owned by root unless ``mode``/``uid``/``gid`` say otherwise.
    """

    _path = ("files",)

    @property
    def _instance(self) -> Any:
        """The instance (pylxd 2.4.2's name for it)."""
        return self.instance

    @staticmethod
    def _info(response: requests.Response) -> FileInfo:
        """What the response's ``X-LXD-*`` headers say about its path."""
        return FileInfo.from_headers(response.headers)

    def _what(self, method: str) -> str:
        return f"FilesManager.{method} (instance {self.instance.name!r})"

    def _naming(self, path: str) -> ContextManager[None]:
        """Name the path and the instance in LXD's errors.

        A 404 is a :class:`FileNotFound`, a plain refusal a :class:`FileError`;
        errors with a class of their own (Forbidden, Conflict...) keep it.
        """
        where = {"instance": self.instance.name, "path": path}
        refine: exceptions.Refine = {
            exceptions.NotFound: functools.partial(FileNotFound, **where),
            exceptions.LXDAPIException: functools.partial(FileError, **where),
        }
        subject = f"Path {path!r} in instance {self.instance.name!r}"
        return exceptions.naming(subject, refine=refine)

    def _post(self, path: str, headers: dict[str, str], data: Any = None) -> None:
        headers = {"Content-Type": "application/octet-stream", **headers}
        try:
            with self._naming(path):
                self.api.post(params={"path": path}, data=data, headers=headers)
        except exceptions.TransferIncomplete:
            raise
        except exceptions.ClientConnectionFailed as err:
            _raise_if_cut(data, f"{self._what('put')}: {path!r}", err)
            raise

    def _open(self, path: str) -> requests.Response:
        """``GET`` ``path`` without reading the body (the caller closes it)."""
        with self._naming(path):
            return self.api.get(params={"path": path}, stream=True)

    # -- single files ---------------------------------------------------------
    def put(
        self,
        filepath: str,
        data: Any,
        mode: int | str | bool | None = None,
        uid: int | str | None = None,
        gid: int | str | None = None,
        *,
        append: bool = False,
        progress: Progress | None = None,
        atomic: bool = False,
    ) -> None:
        """Push a file to the instance.

        Implements ``POST /1.0/instances/<name>/files?path=<filepath>``.

        Everything is checked before the first byte is sent (data type,
        path, mode, uid, gid; the first chunk of a file object or an
        iterable is read). LXD truncates an existing file as soon as an
        upload starts: an upload that fails midway (its source fails, or
        the connection breaks) raises
        :class:`~pylxd.exceptions.TransferIncomplete` with the bytes sent,
        and leaves the file holding what was received. Pass
        ``atomic=True`` for files that must never be half-written.

        :param filepath: path of the file in the instance (a relative path
            starts at the instance's root).
        :param data: ``bytes``, ``str`` (sent as UTF-8), a binary or text file
            object, or an iterable of ``bytes``. File objects and iterables are
            streamed in 1 MiB chunks, never read whole into memory: with a
            ``Content-Length`` when the size is known (regular or seekable
            binary files; the bytes present when the upload starts are sent),
            else as a chunked body.
        :param mode: permission bits: an int (``0o644``) or an octal string
            (``'0644'``, ``'644'``, ``'0o644'``); LXD's default is ``0644``.
            ``True`` keeps the permission bits of the local file (``data``'s,
            else the local file at ``filepath``, as pylxd 2.4.2); ``False``
            sends none. An existing file keeps its mode and owner (LXD 5.0).
        :param uid: owner uid inside the instance (default root): an int or
            ASCII digits, 0 to ``2**32-1``.
        :param gid: owner gid inside the instance (default root), likewise.
        :param append: append to an existing file (``file_append``) instead of
            replacing it.
        :param progress: ``progress(done_bytes, total_bytes_or_None)``,
            called after each chunk sent (file objects, iterables, and
            buffers when given).
        :param atomic: upload to a temporary name in the same directory and
            rename it onto ``filepath`` once complete, so the file is either
            the old one or the new one, whole. LXD's file API has no rename
            (and 5.0 has no SFTP), so the rename runs ``mv -f`` in the
            instance through ``execute``: the instance must be running and
            have ``mv``. The new file gets ``mode``/``uid``/``gid`` (or
            LXD's defaults), not the old file's. Not with ``append``.
        :raises InvalidArgument: for a bad path, mode, uid or gid, or
            ``atomic`` with ``append``.
        :raises InvalidArgumentType: for ``data`` of another type.
        :raises TransferIncomplete: when the data source fails midway (a
            chunk of the wrong type, a read error, a file that shrank) or
            the connection breaks or times out during the upload.
        :raises FileNotFound: when the parent directory or the instance is missing.
        :raises FileError: for any other error LXD reports (an LXDAPIException),
            or when the ``atomic`` rename fails.
        """
        what = self._what("put")
        path = _check_remote(filepath, what)
        headers = _metadata_headers(
            _local_mode(mode, data, filepath, what), uid, gid, what
        )
        if atomic and append:
            raise exceptions.InvalidArgument(f"{what}: atomic=True cannot append")
        if append:
            headers["X-LXD-write"] = "append"
        body = _upload_body(data, progress, what)
        if not atomic:
            self._post(path, headers, body)
            return
        _files_atomic.put_replacing(self, path, headers, body)

    def mk_dir(
        self,
        path: str,
        mode: int | str | None = None,
        uid: int | None = None,
        gid: int | None = None,
    ) -> None:
        """Create a directory in the instance (nothing happens if it exists).

        Implements ``POST /1.0/instances/<name>/files`` with ``X-LXD-type: directory``.

        :param path: path of the directory; its parent must exist.
        :param mode: permission bits as for :meth:`put` (LXD's default ``0750``).
        :param uid: owner uid inside the instance (default root).
        :param gid: owner gid inside the instance (default root).
        :raises InvalidArgument: for an empty path or a bad mode/uid/gid.
        :raises FileNotFound: when the parent directory or the instance is missing.
        """
        what = self._what("mk_dir")
        path = _check_remote(path, what)
        headers = _metadata_headers(mode, uid, gid, what)
        self._post(path, {**headers, "X-LXD-type": DIRECTORY})

    def symlink(self, path: str, target: str) -> None:
        """Create the symlink ``path`` -> ``target`` in the instance.

        Implements ``POST /1.0/instances/<name>/files`` with
        ``X-LXD-type: symlink`` (extension ``file_symlinks``). LXD always
        creates symlinks ``0777`` owned by root.

        :param path: path of the link; it must not exist yet.
        :param target: what the link points to (relative or absolute).
        :raises ValueError: for an empty ``path`` or ``target``.
        :raises FileNotFound: when the parent directory or the instance is missing.
        :raises FileError: when ``path`` exists ("file exists").
        """
        what = self._what("symlink")
        path = _check_remote(path, what)
        if not isinstance(target, str) or not target or "\0" in target:
            raise ValueError(f"{what}: symlink target {target!r} is not a path")
        self.instance.client.assert_has_api_extension("file_symlinks")
        self._post(path, {"X-LXD-type": SYMLINK}, target.encode("utf-8"))

    def get(self, filepath: str) -> bytes:
        """Return the content of a file (or a symlink's target) as bytes.

        Implements ``GET /1.0/instances/<name>/files?path=<filepath>``. The
        content is read in one buffer of its size (checked against the size
        LXD announced); use :meth:`get_to` for large files. For a directory, LXD's JSON listing is returned as
        pylxd does (prefer :meth:`listdir`).

        :raises InvalidArgument: for an empty path.
        :raises TransferIncomplete: when the content arrives short.
        :raises FileNotFound: when the path or the instance does not exist.
        """
        what = self._what("get")
        path = _check_remote(filepath, what)
        response = self._open(path)
        with response:
            if "json" in response.headers.get("Content-Type", ""):
                return response.content
            return _streaming.read_body(response, f"{what}: {path!r}")

    def get_to(
        self,
        filepath: str,
        fileobj: BinaryIO | str | os.PathLike[str],
        progress: Progress | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> int:
        """Stream a file from the instance into ``fileobj``, in constant memory.

        Implements ``GET /1.0/instances/<name>/files?path=<filepath>``.
        The bytes received are checked against the size LXD announced.

        :param filepath: path of the file in the instance.
        :param fileobj: any object with ``write(bytes)`` (a file opened ``'wb'``,
            a socket file, ``io.BytesIO``...), or a local path: the file is
            then written under a temporary name beside it and renamed into
            place when complete (nothing is left on failure, an existing file
            stays as it was).
        :param progress: ``progress(done_bytes, total_bytes_or_None)`` after
            each chunk written.
        :param chunk_size: bytes read per chunk (a positive int).
        :returns: the number of bytes written.
        :raises InvalidArgumentType: for a ``fileobj`` that is neither, or a
            ``chunk_size`` that is not an int (nothing is sent).
        :raises InvalidArgument: for a ``chunk_size`` below 1.
        :raises TransferIncomplete: when the content arrives short or the
            connection breaks midway.
        :raises IsADirectoryError: when ``filepath`` is a directory.
        :raises FileNotFound: when the path or the instance does not exist.
        """
        what = self._what("get_to")
        path = _check_remote(filepath, what)
        _streaming.check_target(fileobj, what)
        _streaming.check_chunk_size(chunk_size, what)
        response = self._open(path)
        with response:
            info = self._info(response)
            if info.type == DIRECTORY:
                raise IsADirectoryError(f"{what}: {path!r} is a directory")
            return _streaming.download(
                response, fileobj, progress, chunk_size, what=f"{what}: {path!r}"
            )

    def listdir(self, path: str) -> list[str]:
        """Return the names of the entries of a directory (like ``os.listdir``).

        Implements ``GET /1.0/instances/<name>/files?path=<path>``.

        :raises NotADirectoryError: when ``path`` is not a directory.
        :raises FileNotFound: when the path or the instance does not exist.
        """
        what = self._what("listdir")
        path = _check_remote(path, what)
        with self._open(path) as response:
            if response.headers.get("X-LXD-type") != DIRECTORY:
                raise NotADirectoryError(f"{what}: {path!r} is not a directory")
            return list(
                exceptions.metadata_of(response, (list, type(None)), items=str) or []
            )

    def stat(self, path: str) -> FileInfo:
        """Return the type, mode, owner and size of ``path`` without its content.

        Implements ``HEAD /1.0/instances/<name>/files?path=<path>``
        (``instance_file_head``); on older servers a ``GET`` whose body is
        not read. A symlink is described itself, not followed.

        :raises FileNotFound: when the path or the instance does not exist.
        """
        path = _check_remote(path, self._what("stat"))
        if not self.instance.client.has_api_extension("instance_file_head"):
            with self._open(path) as response:
                return self._info(response)
        with self._naming(path):
            response = self.api._send(
                "head", (), {"params": {"path": path}}, ok=(200,), check_sync=False
            )
        return self._info(response)

    def delete_available(self) -> bool:
        """Whether the server can delete files (the ``file_delete`` extension)."""
        return bool(self.instance.client.has_api_extension("file_delete"))

    def delete(self, filepath: str) -> None:
        """Delete a file, a symlink or an empty directory in the instance.

        Implements ``DELETE /1.0/instances/<name>/files?path=<filepath>``.

        :raises LXDAPIExtensionNotAvailable: without ``file_delete``.
        :raises FileNotFound: when the path or the instance does not exist.
        :raises FileError: for a directory that is not empty.
        """
        path = _check_remote(filepath, self._what("delete"))
        self.instance.client.assert_has_api_extension("file_delete")
        with self._naming(path):
            self.api.delete(params={"path": path})

"""Recursive file transfers, mixed into :class:`~pylxd.models.files.FilesManager`.

``recursive_put`` (:class:`_TreeUpload`) and ``recursive_get``
(:class:`_TreeDownload`) of :class:`RecursiveTransfersMixin`, built on the
manager's single-file operations.
The downloads never write outside the local root: entry names are checked,
local symlinks are not written through, remote symlinks are only recreated
when they stay inside the tree, and a file that fails half-way is removed.
"""

from __future__ import annotations

import os
import posixpath
import stat
import warnings
from typing import TYPE_CHECKING, Any, cast

from pylxd.exceptions import UnsafePathWarning
from pylxd.models import _streaming
from pylxd.models._file_headers import (
    DIRECTORY,
    FILE,
    SYMLINK,
    _check_remote,
    _metadata_headers,
)
from pylxd.models._streaming import Progress

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd.models.files import FileInfo, FilesManager

#: Kept from a container's modes when writing locally: never setuid/setgid/sticky.
_LOCAL_MODE_MASK = 0o777


def _listing(response: requests.Response) -> list[str]:
    """The entry names of a directory answer (its sync JSON list)."""
    return list(response.json().get("metadata") or [])


def _skip(what: str, reason: str, category: type[Warning] = UnsafePathWarning) -> None:
    warnings.warn(f"Skipped {what}: {reason}", category, stacklevel=5)


def _under(path: str, root: str) -> bool:
    """Whether the POSIX ``path`` is ``root`` or below it (lexically)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def _is_plain_name(name: Any) -> bool:
    """A single path component: no separator, not ``.``/``..``, not empty."""
    if not isinstance(name, str) or name in ("", ".", "..") or "\0" in name:
        return False
    return (
        "/" not in name
        and os.sep not in name
        and (os.altsep is None or os.altsep not in name)
    )


class _Tally:
    """The bytes moved across a whole tree, as ``progress(done, None)``.

    The total is not known in advance (it would cost a walk, or a request per
    entry), so it is always None.
    """

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.done = 0

    def for_file(self) -> Progress | None:
        """The single-file callback for the next file (None without progress)."""
        if self.progress is None:
            return None
        base, report = self.done, self.progress

        def moved(done: int, total: int | None) -> None:
            self.done = base + done
            report(self.done, None)

        return moved


class _TreeDownload:
    """``recursive_get``: walk a remote tree without ever leaving the local root."""

    def __init__(self, files: FilesManager, progress: Progress | None = None) -> None:
        self.files = files
        self.tally = _Tally(progress)
        self.real_root = ""
        self.remote_root = "/"
        self.links: list[tuple[str, str]] = []
        self.made_dirs: list[tuple[str, int]] = []

    def run(self, remote: str, local: str) -> None:
        self.remote_root = posixpath.normpath(remote)
        with self.files._open(remote) as response:
            info = self.files._info(response)
            if info.type == FILE:
                _write_local(remote, local, response, info, self.tally.for_file())
                return
            if info.type != DIRECTORY:
                _skip(repr(remote), f"a {info.type} is neither a file nor a directory")
                return
            names = _listing(response)
        if not os.path.isdir(local):
            os.mkdir(local, 0o700)
            self.made_dirs.append((local, info.mode))
        self.real_root = os.path.realpath(local)
        try:
            self._walk(remote, local, names)
            self._recheck_links()
        finally:
            for path, mode in reversed(self.made_dirs):
                os.chmod(path, mode & _LOCAL_MODE_MASK)

    def _walk(self, remote: str, local: str, names: list[str]) -> None:
        pending = [(remote, local, names)]
        while pending:
            remote, local, names = pending.pop()
            for name in names:
                if not _is_plain_name(name):
                    _skip(f"{name!r} in {remote!r}", "not a plain file name")
                    continue
                subdir = self._entry(
                    posixpath.join(remote, name), os.path.join(local, name)
                )
                if subdir is not None:
                    pending.append(subdir)

    def _entry(self, remote: str, local: str) -> tuple[str, str, list[str]] | None:
        """Fetch one entry; return a directory's (remote, local, names) to walk."""
        if not self._inside(os.path.realpath(os.path.dirname(local))):
            _skip(repr(remote), f"{local!r} would be outside {self.real_root!r}")
            return None
        with self.files._open(remote) as response:
            info = self.files._info(response)
            if info.type == DIRECTORY:
                names = _listing(response)
                return (
                    (remote, local, names) if self._mkdir(remote, local, info) else None
                )
            if info.type == SYMLINK:
                self._symlink(remote, local, os.fsdecode(response.content))
                return None
            if os.path.islink(local):
                _skip(repr(remote), f"{local!r} is a local symlink")
                return None
            _write_local(remote, local, response, info, self.tally.for_file())
        return None

    def _inside(self, real: str) -> bool:
        return real == self.real_root or real.startswith(self.real_root + os.sep)

    def _mkdir(self, remote: str, local: str, info: FileInfo) -> bool:
        try:
            os.mkdir(local, 0o700)
        except FileExistsError:
            if os.path.islink(local) or not os.path.isdir(local):
                _skip(repr(remote), f"{local!r} exists and is not a directory")
                return False
            return True
        self.made_dirs.append((local, info.mode))
        return True

    def _symlink(self, remote: str, local: str, target: str) -> None:
        # LXD 5.0 reports targets made absolute (the link's directory joined
        # with what it stores): only links into the pulled tree are kept.
        pointed = posixpath.normpath(posixpath.join(posixpath.dirname(remote), target))
        if not _under(pointed, self.remote_root):
            _skip(
                repr(remote),
                f"symlink to {target!r} points outside {self.remote_root!r}",
            )
            return
        relative = posixpath.relpath(pointed, posixpath.dirname(remote))
        resolved = os.path.realpath(os.path.join(os.path.dirname(local), relative))
        if not self._inside(resolved):
            _skip(
                repr(remote),
                f"symlink to {target!r} resolves outside {self.real_root!r}",
            )
            return
        if os.path.lexists(local):
            if not os.path.islink(local):
                _skip(repr(remote), f"{local!r} exists and is not a symlink")
                return
            os.unlink(local)
        os.symlink(relative, local)
        self.links.append((remote, local))

    def _recheck_links(self) -> None:
        """Links resolved through links made later: drop any that now escapes."""
        for remote, local in self.links:
            if not self._inside(os.path.realpath(local)):
                os.unlink(local)
                _skip(repr(remote), "symlink resolves outside the target")


def _write_local(
    remote: str,
    local: str,
    response: requests.Response,
    info: FileInfo,
    progress: Progress | None = None,
) -> None:
    """Stream a response into a new local file with the remote permission bits.

    The file is written ``0600`` under a temporary name (created with
    ``O_EXCL``, never through a symlink) and renamed onto ``local`` once
    complete, so a failure leaves nothing behind and an existing file as it
    was.
    """
    with _streaming.replacing_file(local, 0o600) as out:
        _streaming.copy_response(
            response, out, progress, what=f"recursive_get: {remote!r}"
        )
        os.fchmod(out.fileno(), info.mode & _LOCAL_MODE_MASK)


class _TreeUpload:
    """``recursive_put``: parents first, symlinks kept unless asked to follow."""

    def __init__(
        self,
        files: FilesManager,
        mode: Any,
        uid: Any,
        gid: Any,
        follow: bool,
        progress: Progress | None = None,
    ) -> None:
        self.files = files
        self.mode, self.uid, self.gid = mode, uid, gid
        self.follow = follow
        self.tally = _Tally(progress)

    def run(self, src: str, dst: str) -> None:
        root = os.path.normpath(src)
        self._mkdir(root, dst)
        for path, dirs, names in os.walk(root, followlinks=self.follow):
            rel = os.path.relpath(path, root)
            remote = dst if rel == "." else posixpath.join(dst, *rel.split(os.sep))
            for name in list(dirs):
                local = os.path.join(path, name)
                if not self._dir_entry(local, posixpath.join(remote, name)):
                    dirs.remove(name)
            for name in names:
                self._file_entry(os.path.join(path, name), posixpath.join(remote, name))

    def _mode_of(self, local: str) -> Any:
        """The mode sent for ``local``: None (LXD's default), given, or its own."""
        if self.mode is True:
            return stat.S_IMODE(os.stat(local).st_mode)
        return None if self.mode is False else self.mode

    def _mkdir(self, local: str, remote: str) -> None:
        self.files.mk_dir(remote, self._mode_of(local), self.uid, self.gid)

    def _dir_entry(self, local: str, remote: str) -> bool:
        """Create a directory (or a symlink to one); True to walk into it."""
        if os.path.islink(local):
            if not self.follow:
                self.files.symlink(remote, os.readlink(local))
                return False
            real = os.path.realpath(local)
            here = os.path.realpath(os.path.dirname(local))
            if here == real or here.startswith(real.rstrip(os.sep) + os.sep):
                _skip(repr(local), "directory loop through a symlink", UserWarning)
                return False
        self._mkdir(local, remote)
        return True

    def _file_entry(self, local: str, remote: str) -> None:
        if os.path.islink(local) and not self.follow:
            self.files.symlink(remote, os.readlink(local))
            return
        if not os.path.isfile(local):
            _skip(repr(local), "not a regular file", UserWarning)
            return
        mode, progress = self._mode_of(local), self.tally.for_file()
        with open(local, "rb") as source:
            self.files.put(remote, source, mode, self.uid, self.gid, progress=progress)


class RecursiveTransfersMixin:
    """``recursive_put`` and ``recursive_get`` of ``instance.files``."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by FilesManager

        def _what(self, method: str) -> str: ...

    def _manager(self) -> FilesManager:
        return cast("FilesManager", self)  # this mixin only exists in FilesManager

    def recursive_put(
        self,
        src: str,
        dst: str,
        mode: int | str | bool | None = None,
        uid: int | str | None = None,
        gid: int | str | None = None,
        *,
        follow_symlinks: bool = False,
        progress: Progress | None = None,
    ) -> None:
        """Recursively push the local directory ``src`` to ``dst`` in the instance.

        Implements one ``POST /1.0/instances/<name>/files`` per directory,
        file and symlink, parents first.

        :param src: local directory (a symlink to one is accepted).
        :param dst: destination directory in the instance.
        :param mode: mode for every directory and file (as for :meth:`put`);
            ``True`` keeps each local entry's permission bits; ``None`` or
            ``False`` send none, so LXD's defaults apply (``0644`` files,
            ``0750`` directories), as pylxd 2.4.2.
        :param uid: owner uid of everything created (default root).
        :param gid: owner gid of everything created (default root).
        :param follow_symlinks: ``False`` (default): symlinks inside ``src``
            are recreated as symlinks with the same target, and nothing they
            point to is read. ``True``: their targets are copied as regular
            files and directories (directory loops are skipped).
        :param progress: ``progress(done_bytes, None)`` after each chunk, with
            the bytes of file content sent so far across the whole tree (the
            total is not known in advance, so it is None).

        A failure stops the transfer; what was pushed before it stays.

        :raises NotADirectoryError: if ``src`` is not a directory.
        :raises InvalidArgument: for a bad ``dst``, mode, uid or gid.
        :raises FileError: if LXD refuses an entry.
        """
        what = self._what("recursive_put")
        dst = _check_remote(dst, what)
        if not os.path.isdir(src):
            problem = "is not a directory" if os.path.exists(src) else "does not exist"
            raise NotADirectoryError(f"{what}: 'src' {src!r} {problem}")
        # validate before any request
        _metadata_headers(None if isinstance(mode, bool) else mode, uid, gid, what)
        upload = _TreeUpload(self._manager(), mode, uid, gid, follow_symlinks, progress)
        upload.run(src, dst)

    def recursive_get(
        self, remote_path: str, local_path: str, *, progress: Progress | None = None
    ) -> None:
        """Recursively pull ``remote_path`` from the instance into ``local_path``.

        Implements one ``GET /1.0/instances/<name>/files`` per entry. A
        directory becomes the local directory ``local_path`` (created if
        missing); a file is copied to ``local_path``. Files are streamed.
        Permission bits are kept, except setuid, setgid and sticky; owners
        are not (they are ids inside the instance).

        Nothing is ever written outside ``local_path``: entry names that are
        not a single path component (``..``, ``a/b``, absolute) are skipped,
        local symlinks are never written through, remote symlinks are never
        followed. A symlink is recreated (as a relative link) only when its
        target is inside ``remote_path`` and the link resolves inside
        ``local_path``, also after the whole tree is written (links through
        links). LXD 5.0 reports symlink targets as absolute paths, so links
        to anywhere else in the instance are skipped. Every skipped entry
        raises a :class:`UnsafePathWarning`. A failure stops the transfer:
        the file being written is not left (files are written under a temporary
        name and renamed into place once complete), what was written before
        stays.

        :param progress: ``progress(done_bytes, None)`` after each chunk, with
            the bytes of file content received so far across the whole tree
            (the total is not known in advance, so it is None).
        :raises InvalidArgument: for an empty ``remote_path``.
        :raises TransferIncomplete: when a file arrives short (it is not
            written; an existing local file stays as it was).
        :raises FileNotFound: when ``remote_path`` or the instance is missing.
        """
        remote = _check_remote(remote_path, self._what("recursive_get"))
        download = _TreeDownload(self._manager(), progress)
        download.run(remote, os.fspath(local_path))

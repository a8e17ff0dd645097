"""Streamed transfers: the one place for request bodies and response downloads.

Used by images, instance files, instance and storage volume backups and logs.
Large bodies never sit whole in memory: uploads are read chunk by chunk by
the HTTP connection (with a ``Content-Length`` when the size is known, with
chunked transfer encoding otherwise), downloads are copied chunk by chunk
from ``response.iter_content``. Both report
``progress(done_bytes, total_bytes_or_None)`` after each chunk.

Nothing short passes for complete: every download is counted against its
``Content-Length`` (:func:`iter_response`, :func:`read_body`) and raises
:class:`~pylxd.exceptions.TransferIncomplete` otherwise; a download to a path
is renamed into place only once complete (:func:`replacing_file`). An upload
reads its first chunk before the request (LXD truncates the file as soon as
an upload starts) and raises ``TransferIncomplete`` if its source fails later.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import itertools
import os
import secrets
import stat
from typing import (
    IO,
    Any,
    Callable,
    Iterable,
    Iterator,
    Sequence,
    TypeGuard,
    Union,
)
from urllib import parse

import requests
import urllib3

from pylxd import exceptions
from pylxd._transport import _cause

#: Bytes read or written at a time.
CHUNK_SIZE = 1024 * 1024

#: ``progress(done_bytes, total_bytes_or_None)``.
Progress = Callable[[int, Union[int, None]], Any]

#: A destination: a path, or a binary file object open for writing.
Target = Union[str, "os.PathLike[str]", IO[bytes]]

#: A source: a path, bytes, or a binary file object open for reading.
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

#: What an :class:`UploadBody` reads: bytes, a file object or byte chunks.
BodySource = Union[bytes, bytearray, memoryview, IO[bytes], Iterable[bytes]]

_NOT_A_FILE = (AttributeError, OSError, ValueError)  # incl. UnsupportedOperation


# -- sources -------------------------------------------------------------------
@contextlib.contextmanager
def open_source(source: Source, what: str) -> Iterator[IO[bytes]]:
    """Open ``source`` (a path, bytes or a binary file object) for reading.

    A path is opened (and closed again on leaving); a file object is used as
    it is, from its current position.

    :param what: names the object in error messages.
    :raises InvalidArgumentType: for anything else (a TypeError).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(os.fspath(source), "rb") as handle:
            yield handle
    elif hasattr(source, "read"):
        yield source
    else:
        raise exceptions.InvalidArgumentType(
            f"{what} must be bytes, a path or a binary file object, "
            f"not {type(source).__name__}"
        )


def is_chunks(source: Any) -> TypeGuard[Iterable[bytes]]:
    """Whether ``source`` is an iterable of chunks (not bytes, str or a file)."""
    return (
        isinstance(source, Iterable)
        and not isinstance(source, (bytes, bytearray, memoryview, str, dict))
        and not hasattr(source, "read")
    )


def remaining_size(fileobj: Any) -> int | None:
    """The bytes left to read in ``fileobj``, or None when it cannot tell.

    A regular file is sized with ``fstat``; other descriptors (pipes,
    sockets, devices) are not sized; objects without one (``io.BytesIO``)
    are sized by seeking, when they are seekable. A text file's byte count
    is unknown (it is encoded as it is read).
    """
    if isinstance(fileobj, io.TextIOBase):
        return None
    with contextlib.suppress(*_NOT_A_FILE):
        info = os.fstat(fileobj.fileno())
        if stat.S_ISREG(info.st_mode):
            return max(info.st_size - fileobj.tell(), 0)
        return None
    with contextlib.suppress(*_NOT_A_FILE):
        if fileobj.seekable():
            here = fileobj.tell()
            end = fileobj.seek(0, io.SEEK_END)
            fileobj.seek(here)
            return max(end - here, 0)
    return None


# -- uploads -------------------------------------------------------------------
def _check_chunk(chunk: Any, what: str) -> None:
    if not isinstance(chunk, (str, bytes, bytearray, memoryview)):
        raise exceptions.InvalidArgumentType(
            f"{what}: chunks must be bytes or str, not {type(chunk).__name__}"
        )


def _check_source(source: Any, what: str) -> None:
    """Refuse what is sure to fail: a file not open for reading, bad chunks."""
    readable = getattr(source, "readable", None)
    if callable(readable) and not _readable(readable):
        raise exceptions.InvalidArgument(
            f"{what}: the data cannot be read: the file is not open for reading"
        )
    if isinstance(source, (list, tuple)):  # cheap to check whole
        for chunk in source:
            _check_chunk(chunk, what)


def _readable(readable: Callable[[], bool]) -> bool:
    try:
        return bool(readable())
    except ValueError:  # closed
        return False


def _as_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"upload chunks must be bytes or str, not {type(chunk).__name__}")


def _read_all(fileobj: Any, chunk_size: int) -> Iterator[bytes]:
    """Read to the end (text files are sent as UTF-8)."""
    while True:
        chunk = fileobj.read(chunk_size)
        if not chunk:
            return
        yield _as_bytes(chunk)


def _read_exactly(fileobj: Any, size: int, chunk_size: int) -> Iterator[bytes]:
    """The next ``size`` bytes of a binary file; it must not shrink meanwhile.

    Bytes appended during the upload are not sent, so the body always
    matches the ``Content-Length`` announced.
    """
    left = size
    while left:
        chunk = fileobj.read(min(chunk_size, left))
        if not chunk:  # UploadBody reports it as TransferIncomplete
            raise ValueError(
                f"the source ended {left} bytes before the {size} bytes it had "
                "when the upload started"
            )
        left -= len(chunk)
        yield _as_bytes(chunk)


def _slices(view: memoryview, chunk_size: int) -> Iterator[bytes]:
    for start in range(0, len(view), chunk_size):
        yield view[start : start + chunk_size].tobytes()


def _chunks_of(source: Any, chunk_size: int) -> tuple[Iterator[bytes], int | None]:
    """``(chunks, size or None)`` for bytes, a file object or an iterable."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source).cast("B")
        return _slices(view, chunk_size), view.nbytes
    if hasattr(source, "read"):
        size = remaining_size(source)
        if size is None:
            return _read_all(source, chunk_size), None
        return _read_exactly(source, size, chunk_size), size
    return (_as_bytes(chunk) for chunk in source), None


class UploadBody:
    """A request body read in chunks from one or more sources, with progress.

    ``requests`` sends it with a ``Content-Length`` when every size is known
    (the ``len`` attribute) and with chunked transfer encoding otherwise.
    It has no ``read``, so urllib3 sends the chunks as they are (1 MiB)
    instead of reading 16 KiB at a time. ``progress(done, total)`` is called
    after each chunk is handed to the connection.

    The first chunk is read when the body is made, before any request: a
    source that cannot be read (a write-only file, an iterable of ints...)
    is refused with nothing sent. A source failing later (a chunk of the
    wrong type, a read error, a file that shrank) stops the upload with
    :class:`~pylxd.exceptions.TransferIncomplete`, never a normal return.

    :param source: bytes, a binary (or text) file object read from its
        current position, or an iterable of byte chunks (size unknown).
    :param what: names the upload in errors.
    :raises InvalidArgumentType: when the first chunk is not bytes or str.
    :raises InvalidArgument: when the source cannot be read.
    """

    total: int | None
    done: int
    started: bool

    def __init__(
        self,
        source: BodySource,
        progress: Progress | None = None,
        chunk_size: int = CHUNK_SIZE,
        *,
        what: str = "upload",
    ) -> None:
        self._start([source], progress, chunk_size, what)

    @classmethod
    def joined(
        cls,
        sources: Sequence[BodySource],
        progress: Progress | None = None,
        chunk_size: int = CHUNK_SIZE,
        *,
        what: str = "upload",
    ) -> UploadBody:
        """One body made of ``sources`` sent one after the other."""
        body = cls.__new__(cls)
        body._start(sources, progress, chunk_size, what)
        return body

    def _start(
        self,
        sources: Sequence[Any],
        progress: Progress | None,
        chunk_size: int,
        what: str,
    ) -> None:
        check_chunk_size(chunk_size, what)
        for source in sources:
            _check_source(source, what)
        parts = [_chunks_of(source, chunk_size) for source in sources]
        sizes = [size for _, size in parts]
        self.what = what
        self.total = None if None in sizes else sum(s or 0 for s in sizes)
        #: Bytes the connection took, and whether it began to send.
        self.done = 0
        self.started = False
        chunks = itertools.chain.from_iterable(chunks for chunks, _ in parts)
        self._first = self._first_chunk(chunks)
        self._chunks = self._pending(chunks)
        self._progress = progress
        if self.total:
            self.len = self.total  # read by requests for the Content-Length

    def _first_chunk(self, chunks: Iterator[bytes]) -> list[bytes]:
        try:
            return list(itertools.islice(chunks, 1))
        except TypeError as err:
            raise exceptions.InvalidArgumentType(f"{self.what}: {err}") from err
        except (OSError, ValueError) as err:
            raise exceptions.InvalidArgument(
                f"{self.what}: the data cannot be read: {err}"
            ) from err

    def _pending(self, rest: Iterator[bytes]) -> Iterator[bytes]:
        # Popped, not chained: a chained list would keep the first chunk
        # alive while the second is read (one more chunk in memory).
        while self._first:
            yield self._first.pop()
        yield from rest

    def __iter__(self) -> Iterator[bytes]:
        self.started = True
        while True:
            try:
                chunk = next(self._chunks, None)
            except Exception as err:  # the caller's source: any error it raises
                raise exceptions.TransferIncomplete(
                    self.what, self.done, self.total, f"the data source failed: {err}"
                ) from err
            if chunk is None:
                return
            yield chunk
            self.done += len(chunk)
            if self._progress is not None:
                self._progress(self.done, self.total)


@contextlib.contextmanager
def upload_body(
    source: Source | Iterable[bytes],
    what: str,
    progress: Progress | None = None,
    *,
    chunks: bool = False,
) -> Iterator[UploadBody]:
    """A streamed body for a path, bytes or a binary file object.

    :param what: names the object in error messages.
    :param chunks: also accept an iterable of byte chunks (sent chunked).
    :raises InvalidArgumentType: for anything else (a TypeError).
    """
    if chunks and is_chunks(source):
        yield UploadBody(source, progress, what=what)
        return
    with open_source(source, what) as handle:  # type: ignore[arg-type]
        yield UploadBody(handle, progress, what=what)


# -- downloads -----------------------------------------------------------------
#: What reading a body raises when the connection breaks or times out midway:
#: socket errors and timeouts (OSError), a cut chunked body (http.client's
#: IncompleteRead), urllib3's and requests' wrappers of them (HTTPS), and
#: the transport's own connection errors, should it map them itself.
_READ_ERRORS = (
    OSError,
    http.client.HTTPException,
    urllib3.exceptions.HTTPError,
    requests.exceptions.RequestException,
    exceptions.ClientConnectionFailed,
)


def check_chunk_size(chunk_size: Any, what: str) -> int:
    """A chunk size: a positive int (0 would read nothing, -1 never end).

    :raises InvalidArgumentType: for a bool or a non-int.
    :raises InvalidArgument: for zero or a negative size.
    """
    exceptions.check_bytes(f"{what}: chunk_size", chunk_size, optional=False)
    return int(chunk_size)


def check_target(target: Any, what: str) -> None:
    """A download target: a path a file can be written to, or an object with
    ``write``.

    :raises InvalidArgumentType: for anything else (before any request).
    :raises InvalidArgument: for a path that is a directory or whose
        directory does not exist.
    """
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        directory = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path) or not os.path.isdir(directory):
            problem = "is a directory" if os.path.isdir(path) else "has no directory"
            raise exceptions.InvalidArgument(f"{what}: the target {path!r} {problem}")
        return
    if callable(getattr(target, "write", None)):
        return
    raise exceptions.InvalidArgumentType(
        f"{what}: the target must be a path or a binary file object, "
        f"not {type(target).__name__}"
    )


def content_length(response: requests.Response) -> int | None:
    """The ``Content-Length`` of a response, None when absent or not a number.

    A compressed body is not counted against it (its decoded size differs);
    urllib3 checks those itself.
    """
    if response.headers.get("Content-Encoding", "identity") != "identity":
        return None
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _subject(response: requests.Response, what: str | None) -> str:
    return what or parse.urlsplit(response.url or "").path or "download"


def _check_complete(
    response: requests.Response, what: str | None, done: int, total: int | None
) -> None:
    if total is not None and done != total:
        raise exceptions.TransferIncomplete(
            _subject(response, what), done, total, "the body ended early"
        )


def iter_response(
    response: requests.Response,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
    *,
    what: str | None = None,
) -> Iterator[bytes]:
    """Yield a streamed response body in chunks, reporting progress after each.

    Every download goes through here: the bytes received are counted
    against ``Content-Length`` (a chunked body is checked by its terminator,
    which http.client and urllib3 require).

    :param what: names the download in errors (default: the URL path).
    :raises TransferIncomplete: when the body ends early or reading it fails.
    """
    total = content_length(response)
    done = 0
    chunks = response.iter_content(chunk_size)
    while True:
        try:
            chunk = next(chunks, None)
        except _READ_ERRORS as err:
            raise exceptions.TransferIncomplete(
                _subject(response, what), done, total, _cause(err)
            ) from err
        if chunk is None:
            break
        yield chunk
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    _check_complete(response, what, done, total)


def read_body(response: requests.Response, what: str | None = None) -> bytes:
    """The whole body of a streamed response, in one buffer, checked as above.

    :raises TransferIncomplete: when the body ends early or reading it fails.
    """
    total = content_length(response)
    try:
        data: bytes = response.raw.read()
    except _READ_ERRORS as err:
        partial = getattr(err, "partial", b"")
        done = len(partial) if isinstance(partial, bytes) else int(partial or 0)
        raise exceptions.TransferIncomplete(
            _subject(response, what), done, total, _cause(err)
        ) from err
    _check_complete(response, what, len(data), total)
    return data


def copy_response(
    response: requests.Response,
    fileobj: IO[bytes],
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
    *,
    what: str | None = None,
) -> int:
    """Copy a streamed ``response`` body into ``fileobj``, then close it.

    :returns: the number of bytes written.
    :raises TransferIncomplete: when the body ends early or reading it fails.
    """
    done = 0
    try:
        for chunk in iter_response(response, progress, chunk_size, what=what):
            fileobj.write(chunk)
            done += len(chunk)
    finally:
        response.close()
    return done


def _create_beside(path: str, mode: int) -> tuple[str, int]:
    """Create a new, unused temporary file in the directory of ``path``."""
    directory, name = os.path.split(path)
    while True:
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            return temporary, os.open(temporary, flags, mode)
        except FileExistsError:
            continue


@contextlib.contextmanager
def replacing_file(path: str, mode: int = 0o666) -> Iterator[IO[bytes]]:
    """Write a new file that replaces ``path`` only once the block completes.

    The data goes to a temporary name in the same directory (created with
    ``O_EXCL``, so never through a symlink), renamed onto ``path`` when the
    block ends without error: a reader never sees a half-written file, a
    failure leaves nothing behind, and an existing ``path`` stays untouched
    until the new one is complete. A symlink at ``path`` is replaced, not
    written through.

    :param mode: the new file's permission bits (less the umask).
    """
    temporary, fd = _create_beside(path, mode)
    try:
        with open(fd, "wb") as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _local_destination(path: str) -> str | None:
    """Where a download to ``path`` is renamed to, or None to write in place.

    A symlink is followed (the caller named it as a destination); something
    that is not a regular file (``/dev/null``, a FIFO) is written to as it is.
    """
    real = os.path.realpath(path) if os.path.islink(path) else path
    with contextlib.suppress(OSError):
        if not stat.S_ISREG(os.stat(real).st_mode):
            return None
    return real


def download(
    response: requests.Response,
    target: Target,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
    *,
    what: str | None = None,
) -> int:
    """Write a streamed ``response`` body to ``target`` (a path or a file object).

    A path is written through :func:`replacing_file`: nothing is left behind
    on failure and an existing file is replaced only by a complete download.
    A file object gets the chunks as they come (what was written before a
    failure stays in it).

    :param what: names the download in errors (default: the URL path).
    :returns: the number of bytes written.
    :raises InvalidArgumentType: when ``target`` is neither a path nor writable.
    :raises TransferIncomplete: when the body ends early or reading it fails.
    """
    with contextlib.closing(response):
        check_target(target, what or "download")
        if not isinstance(target, (str, os.PathLike)):
            return copy_response(response, target, progress, chunk_size, what=what)
        path = os.fspath(target)
        destination = _local_destination(path)
        if destination is None:
            with open(path, "wb") as out:
                return copy_response(response, out, progress, chunk_size, what=what)
        with replacing_file(destination) as out:
            return copy_response(response, out, progress, chunk_size, what=what)

"""Streamed transfers: the one place for request bodies and response downloads.

Used by images, instance files, instance and storage volume backups and logs.
Large bodies never sit whole in memory: uploads are read chunk by chunk by
the HTTP connection (with a ``Content-Length`` when the size is known, with
chunked transfer encoding otherwise), downloads are copied chunk by chunk
from ``response.iter_content``. Both report
``progress(done_bytes, total_bytes_or_None)`` after each chunk.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import stat
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    Iterator,
    Sequence,
    Union,
)

if TYPE_CHECKING:  # pragma: no cover
    import requests

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

#: ``opener(path, flags)`` as :func:`open` takes it: returns a file descriptor.
Opener = Callable[[str, int], int]

_NOT_A_FILE = (AttributeError, OSError, ValueError)  # incl. UnsupportedOperation


# -- sources -------------------------------------------------------------------
@contextlib.contextmanager
def open_source(source: Source, what: str) -> Iterator[IO[bytes]]:
    """Open ``source`` (a path, bytes or a binary file object) for reading.

    A path is opened (and closed again on leaving); a file object is used as
    it is, from its current position.

    :param what: names the object in error messages.
    :raises TypeError: for anything else.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(os.fspath(source), "rb") as handle:
            yield handle
    elif hasattr(source, "read"):
        yield source
    else:
        raise TypeError(
            f"{what} must be bytes, a path or a binary file object, "
            f"not {type(source).__name__}"
        )


def is_chunks(source: Any) -> bool:
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
        if not chunk:  # not an OSError: the transport would call it a lost daemon
            raise ValueError(
                f"upload source shrank: it ended {left} bytes before the {size} "
                "bytes it had when the upload started"
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

    :param source: bytes, a binary (or text) file object read from its
        current position, or an iterable of byte chunks (size unknown).
    """

    total: int | None
    done: int

    def __init__(
        self,
        source: BodySource,
        progress: Progress | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self._start([source], progress, chunk_size)

    @classmethod
    def joined(
        cls,
        sources: Sequence[BodySource],
        progress: Progress | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> UploadBody:
        """One body made of ``sources`` sent one after the other."""
        body = cls.__new__(cls)
        body._start(sources, progress, chunk_size)
        return body

    def _start(
        self, sources: Sequence[Any], progress: Progress | None, chunk_size: int
    ) -> None:
        parts = [_chunks_of(source, chunk_size) for source in sources]
        sizes = [size for _, size in parts]
        self.total = None if None in sizes else sum(s or 0 for s in sizes)
        self.done = 0
        self._chunks = itertools.chain.from_iterable(chunks for chunks, _ in parts)
        self._progress = progress
        if self.total:
            self.len = self.total  # read by requests for the Content-Length

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
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
    :raises TypeError: for anything else.
    """
    if chunks and is_chunks(source):
        yield UploadBody(source, progress)  # type: ignore[arg-type]
        return
    with open_source(source, what) as handle:  # type: ignore[arg-type]
        yield UploadBody(handle, progress)


# -- downloads -----------------------------------------------------------------
def content_length(response: requests.Response) -> int | None:
    """The ``Content-Length`` of a response, None when absent or not a number."""
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def iter_response(
    response: requests.Response,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[bytes]:
    """Yield a streamed response body in chunks, reporting progress after each."""
    total = content_length(response)
    done = 0
    for chunk in response.iter_content(chunk_size):
        yield chunk
        done += len(chunk)
        if progress is not None:
            progress(done, total)


def copy_response(
    response: requests.Response,
    fileobj: IO[bytes],
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Copy a streamed ``response`` body into ``fileobj``, then close it.

    :returns: the number of bytes written.
    """
    done = 0
    try:
        for chunk in iter_response(response, progress, chunk_size):
            fileobj.write(chunk)
            done += len(chunk)
    finally:
        response.close()
    return done


@contextlib.contextmanager
def new_file(path: str, opener: Opener | None = None) -> Iterator[IO[bytes]]:
    """Create (or truncate) ``path`` for writing; remove it if the block fails.

    Nothing half-written is left behind. A file that cannot be opened is
    left alone.

    :param opener: as for :func:`open` (e.g. to add ``O_NOFOLLOW``).
    """
    handle = open(path, "wb", opener=opener)
    try:
        with handle:
            yield handle
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def download(
    response: requests.Response,
    target: Target,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
    *,
    opener: Opener | None = None,
) -> int:
    """Write a streamed ``response`` body to ``target`` (a path or a file object).

    A file created from a path is removed again when the transfer fails, so
    nothing half-written is left behind.

    :param opener: how a path is opened, as for :func:`open`.
    :returns: the number of bytes written.
    :raises TypeError: when ``target`` is neither a path nor writable.
    """
    if isinstance(target, (str, os.PathLike)):
        with contextlib.closing(response), new_file(os.fspath(target), opener) as out:
            return copy_response(response, out, progress, chunk_size)
    if not hasattr(target, "write"):
        response.close()
        raise TypeError(
            "Download target must be a path or a binary file object, "
            f"not {type(target).__name__}"
        )
    return copy_response(response, target, progress, chunk_size)

"""Streamed transfers: downloads to a file object and uploads from one.

Large bodies (backups, logs) never sit whole in memory: downloads are copied
chunk by chunk from ``response.iter_content``, uploads are read chunk by chunk
by the HTTP connection. Both report ``progress(done_bytes, total_bytes_or_None)``.
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, Union

if TYPE_CHECKING:  # pragma: no cover
    import requests

#: Bytes read or written at a time.
CHUNK_SIZE = 1024 * 1024

#: ``progress(done_bytes, total_bytes_or_None)``.
Progress = Callable[[int, Union[int, None]], Any]

#: A destination: a path, or a binary file object open for writing.
Target = Union[str, "os.PathLike[str]", IO[bytes]]

#: A source: a path, bytes, or a binary file object open for reading.
Source = Union[str, "os.PathLike[str]", bytes, IO[bytes]]


def _content_length(response: requests.Response) -> int | None:
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


def copy_response(
    response: requests.Response,
    fileobj: IO[bytes],
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Copy a streamed ``response`` body into ``fileobj``; return the bytes written."""
    total = _content_length(response)
    done = 0
    try:
        for chunk in response.iter_content(chunk_size):
            fileobj.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    finally:
        response.close()
    return done


def download(
    response: requests.Response,
    target: Target,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Write a streamed ``response`` body to ``target`` (a path or a file object).

    A file created from a path is removed again when the transfer fails, so
    nothing half-written is left behind.

    :returns: the number of bytes written.
    :raises TypeError: when ``target`` is neither a path nor writable.
    """
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        try:
            with open(path, "wb") as handle:
                return copy_response(response, handle, progress, chunk_size)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
    if not hasattr(target, "write"):
        response.close()
        raise TypeError(
            f"Download target must be a path or a binary file object, not {type(target).__name__}"
        )
    return copy_response(response, target, progress, chunk_size)


def _remaining_size(fileobj: IO[bytes]) -> int | None:
    """The bytes left to read in ``fileobj``, when it can tell."""
    try:
        return os.fstat(fileobj.fileno()).st_size - fileobj.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    try:
        here = fileobj.tell()
        end = fileobj.seek(0, io.SEEK_END)
        fileobj.seek(here)
        return end - here
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


class UploadBody:
    """A request body read from a file object in chunks, reporting progress.

    ``requests`` sends it with a ``Content-Length`` when the size is known
    (the ``len`` attribute) and with chunked transfer encoding otherwise.
    """

    def __init__(
        self,
        fileobj: IO[bytes],
        progress: Progress | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self._file = fileobj
        self._progress = progress
        self._chunk_size = chunk_size
        self.total = _remaining_size(fileobj)
        self.done = 0
        if self.total:
            self.len = self.total  # read by requests for Content-Length

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` bytes (all that is left when negative or None)."""
        chunk = self._file.read(-1 if size is None else size)
        if chunk:
            self.done += len(chunk)
            if self._progress is not None:
                self._progress(self.done, self.total)
        return chunk

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk = self.read(self._chunk_size)
            if not chunk:
                return
            yield chunk


@contextlib.contextmanager
def open_source(source: Source, what: str) -> Iterator[IO[bytes]]:
    """Open ``source`` (a path, bytes or a binary file object) for reading.

    :param what: names the object in error messages.
    :raises TypeError: for anything else.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)):
        with open(os.fspath(source), "rb") as handle:
            yield handle
    elif hasattr(source, "read"):
        yield source
    else:
        raise TypeError(
            f"{what} must be a path, bytes or a binary file object, not {type(source).__name__}"
        )

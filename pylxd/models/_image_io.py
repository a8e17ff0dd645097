"""Streaming image transfers: upload bodies, export readers, multipart framing.

Used by :mod:`pylxd.models.image`; nothing here holds a whole image in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import re
import stat
import threading
import uuid
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, Union

from pylxd import exceptions

if TYPE_CHECKING:  # pragma: no cover
    import requests

#: Bytes read or written at a time when streaming an image.
CHUNK_SIZE = 1 << 20

#: ``progress(done_bytes, total_bytes_or_None)``, called as a transfer advances.
Progress = Callable[[int, Union[int, None]], None]

#: Image data: the bytes, a path, or a binary file object.
ImageData = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes]]


class ImageExportError(exceptions.LXDAPIException):
    """An export that is not the image it claims to be (fingerprint mismatch)."""

    def __init__(self, response: requests.Response, message: str) -> None:
        super().__init__(response)
        self.message = message

    def __str__(self) -> str:
        return self.message


# -- uploads ------------------------------------------------------------------
@contextlib.contextmanager
def _opened(data: ImageData, what: str) -> Iterator[tuple[IO[bytes], int | None, str]]:
    """Yield ``(file object, size or None, file name)`` for image data."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        yield io.BytesIO(data), memoryview(data).nbytes, what
    elif isinstance(data, (str, os.PathLike)):
        with open(data, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            yield handle, size, os.path.basename(os.fspath(data))
    elif hasattr(data, "read"):
        name = getattr(data, "name", None)
        label = os.path.basename(name) if isinstance(name, str) and name else what
        yield data, _remaining_size(data), label
    else:
        raise TypeError(
            f"Image {what} must be bytes, a path or a binary file object, "
            f"not {type(data).__name__}"
        )


def _remaining_size(handle: IO[bytes]) -> int | None:
    """The bytes left in a file object, or None when it cannot tell (a pipe)."""
    try:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            return None
        position = handle.tell()
        return os.fstat(handle.fileno()).st_size - position
    except (AttributeError, OSError, ValueError):
        pass  # not a real file: ask the object itself below
    try:
        position = handle.tell()
        end = handle.seek(0, io.SEEK_END)
        handle.seek(position)
    except (AttributeError, OSError, ValueError):
        return None  # a stream: sent with chunked transfer encoding
    return end - position


@contextlib.contextmanager
def _upload_body(
    image_data: ImageData, metadata: ImageData | None, progress: Progress | None
) -> Iterator[tuple[Any, dict[str, str]]]:
    """Yield the request body (streamed) and headers for an image upload."""
    with contextlib.ExitStack() as stack:
        rootfs, rootfs_size, rootfs_name = stack.enter_context(
            _opened(image_data, "rootfs" if metadata is not None else "image")
        )
        if metadata is None:
            body = _UploadBody([rootfs], [rootfs_size], progress)
            headers = {"Content-Type": "application/octet-stream"}
            if rootfs_name != "image":
                headers["X-LXD-filename"] = rootfs_name
        else:
            meta, meta_size, _ = stack.enter_context(_opened(metadata, "metadata"))
            body, content_type = _multipart(
                (meta, meta_size), (rootfs, rootfs_size, rootfs_name), progress
            )
            headers = {"Content-Type": content_type}
        yield body, headers


def _multipart(
    meta: tuple[IO[bytes], int | None],
    rootfs: tuple[IO[bytes], int | None, str],
    progress: Progress | None,
) -> tuple[_UploadBody, str]:
    """A ``multipart/form-data`` body: the metadata part, then the rootfs part."""
    boundary = uuid.uuid4().hex

    def head(name: str, filename: str, first: bool) -> bytes:
        return (
            ("" if first else "\r\n")
            + f"--{boundary}\r\n"
            + f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            + "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()

    framing = [
        head("metadata", "metadata", True),
        head("rootfs", rootfs[2], False),
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    pieces = [io.BytesIO(framing[0]), meta[0], io.BytesIO(framing[1]), rootfs[0]]
    pieces.append(io.BytesIO(framing[2]))
    sizes = [len(framing[0]), meta[1], len(framing[1]), rootfs[1], len(framing[2])]
    content_type = f"multipart/form-data; boundary={boundary}"
    return _UploadBody(pieces, sizes, progress), content_type


class _UploadBody:
    """File objects read one after the other as one request body, 1 MiB at a time.

    It has no ``read``, so urllib3 sends the chunks it yields (not 16 KiB
    reads). ``requests`` sets a ``Content-Length`` from ``len()`` when every
    size is known (``total``), else uses chunked transfer encoding.
    """

    def __init__(
        self,
        pieces: list[IO[bytes]],
        sizes: list[int | None],
        progress: Progress | None,
    ) -> None:
        self._pieces = pieces
        self.total = None if None in sizes else sum(s or 0 for s in sizes)
        self.sent = 0
        self._progress = progress

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("the body size is unknown")
        return self.total

    def __bool__(self) -> bool:  # ``requests`` tests ``data or {}``
        return True

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._pieces:
            for chunk in iter(lambda: piece.read(CHUNK_SIZE), b""):
                self.sent += len(chunk)
                if self._progress is not None:
                    self._progress(self.sent, self.total)
                yield chunk


# -- exports ------------------------------------------------------------------
def _boundary(response: requests.Response) -> bytes | None:
    """The multipart boundary of a split-image export, None for a unified one."""
    content_type = response.headers.get("Content-Type", "")
    if not content_type.startswith("multipart/"):
        return None
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if found is None:
        raise ImageExportError(response, f"No boundary in {content_type!r}")
    return found.group(1).encode()


def _export_chunks(
    response: requests.Response, boundary: bytes | None, progress: Progress | None
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(part name, data)``: part "" for a unified image."""
    total = response.headers.get("Content-Length")
    expected = int(total) if total and total.isdigit() else None
    splitter = _MultipartSplitter(boundary) if boundary else None
    received = 0
    for chunk in response.iter_content(CHUNK_SIZE):
        received += len(chunk)
        if splitter is None:
            yield "", chunk
        else:
            yield from splitter.feed(chunk)
        if progress is not None:
            progress(received, expected)
    if splitter is not None and not splitter.done:
        raise ImageExportError(response, "The split image export ended early")


def _check_digest(response: Any, digest: Any, fingerprint: str) -> None:
    found = digest.hexdigest()
    if not found.startswith(fingerprint):
        raise ImageExportError(
            response,
            f"Exported data of image {fingerprint} has SHA-256 {found}: "
            "the export is corrupt or incomplete",
        )


class _BackgroundDigest:
    """SHA-256 computed by a helper thread, overlapping the socket and the sink.

    ``hashlib`` releases the GIL on large buffers, so hashing costs no wall
    time while the main thread reads and writes. At most ``_DEPTH`` chunks
    wait in the queue (bounded memory). Use it as a context manager: leaving
    stops the thread, also on errors.
    """

    _DEPTH = 8

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(self._DEPTH)
        self._thread = threading.Thread(
            target=self._run, name="pylxd-image-sha256", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while True:
            chunk = self._queue.get()
            if chunk is None:
                return
            self._digest.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        self.close()
        return self._digest.hexdigest()

    def __enter__(self) -> _BackgroundDigest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _MultipartSplitter:
    """Split a ``multipart/form-data`` body into its parts as it arrives."""

    def __init__(self, boundary: bytes) -> None:
        self._delimiter = b"\r\n--" + boundary
        self._buffer = b"\r\n"
        self._part = ""
        self._in_headers = False
        self.done = False

    def feed(self, chunk: bytes) -> Iterator[tuple[str, bytes]]:
        self._buffer += chunk
        while not self.done:
            if self._in_headers:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                self._part = _part_name(self._buffer[:end])
                self._buffer = self._buffer[end + 4 :]
                self._in_headers = False
                continue
            at = self._buffer.find(self._delimiter)
            cut = at if at >= 0 else max(0, len(self._buffer) - len(self._delimiter))
            if self._part and cut:
                yield self._part, self._buffer[:cut]
            self._buffer = self._buffer[cut:]
            if at < 0 or len(self._buffer) < len(self._delimiter) + 2:
                return
            self._buffer = self._buffer[len(self._delimiter) :]
            self.done = self._buffer.startswith(b"--")
            self._buffer, self._in_headers = self._buffer[2:], True


def _part_name(headers: bytes) -> str:
    found = re.search(rb'name="([^"]*)"', headers)
    name = found.group(1).decode() if found else ""
    if name not in ("metadata", "rootfs", "rootfs.img"):
        raise ValueError(f"Unexpected part {name!r} in a split image export")
    return "rootfs" if name.startswith("rootfs") else name


class _ExportReader(io.RawIOBase):
    """A non-seekable file reading an export from the response as it arrives."""

    def __init__(self, response: requests.Response, fingerprint: str | None) -> None:
        super().__init__()
        self._response = response
        self._chunks = response.iter_content(CHUNK_SIZE)
        self._pending = memoryview(b"")
        self._digest = _BackgroundDigest() if fingerprint is not None else None
        self._fingerprint = fingerprint or ""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._finish()
                return 0
            self._pending = memoryview(chunk)
            if self._digest is not None:
                self._digest.update(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _finish(self) -> None:
        if self._digest is not None:
            digest, self._digest = self._digest, None
            _check_digest(self._response, digest, self._fingerprint)
        self._response.close()

    def close(self) -> None:
        if self._digest is not None:
            self._digest.close()
        self._response.close()
        super().close()

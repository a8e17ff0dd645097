"""Image-specific transfer pieces: upload bodies, split images, fingerprint checks.

Used by :mod:`pylxd.models.image`. The streaming itself (sources, upload
bodies, chunked downloads, progress) is :mod:`pylxd.models._streaming`;
here is what only images have: the ``multipart/form-data`` framing of a
split image (built on upload, split on export) and the SHA-256 check of an
export against the image fingerprint. Nothing here holds a whole image in
memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import re
import threading
import uuid
from typing import IO, TYPE_CHECKING, Any, Iterator, Union

from pylxd import exceptions
from pylxd.models import _streaming
from pylxd.models._streaming import Progress

if TYPE_CHECKING:  # pragma: no cover
    import requests

#: Image data: the bytes, a path, or a binary file object.
ImageData = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes]]


#: Defined in :mod:`pylxd.exceptions`; importable from here as before.
ImageExportError = exceptions.ImageExportError


# -- uploads ------------------------------------------------------------------
def _filename(data: ImageData, default: str) -> str:
    """The file name LXD is told: a path's or a named file's base name."""
    if isinstance(data, (str, os.PathLike)):
        name: Any = os.fspath(data)
    else:
        name = getattr(data, "name", None)
    return os.path.basename(name) if isinstance(name, str) and name else default


@contextlib.contextmanager
def _upload_body(
    image_data: ImageData,
    metadata: ImageData | None,
    progress: Progress | None,
    vm: bool = False,
) -> Iterator[tuple[_streaming.UploadBody, dict[str, str]]]:
    """Yield the request body (streamed) and headers for an image upload.

    With ``vm``, the rootfs part of a split image is named ``rootfs.img``:
    that name is what makes LXD store a virtual-machine image.
    """
    what = "rootfs" if metadata is not None else "image"
    with contextlib.ExitStack() as stack:
        rootfs = stack.enter_context(
            _streaming.open_source(image_data, f"Image {what}")
        )
        name = _filename(image_data, what)
        if metadata is None:
            headers = {"Content-Type": "application/octet-stream"}
            if name != "image":
                headers["X-LXD-filename"] = name
            yield _streaming.UploadBody(rootfs, progress, what=f"Image {what}"), headers
            return
        meta = stack.enter_context(_streaming.open_source(metadata, "Image metadata"))
        part = "rootfs.img" if vm else "rootfs"
        body, content_type = _multipart(meta, rootfs, name, progress, part)
        yield body, {"Content-Type": content_type}


def _multipart(
    meta: IO[bytes],
    rootfs: IO[bytes],
    rootfs_name: str,
    progress: Progress | None,
    rootfs_part: str = "rootfs",
) -> tuple[_streaming.UploadBody, str]:
    """A ``multipart/form-data`` body: the metadata part, then the rootfs part."""
    boundary = uuid.uuid4().hex

    def head(name: str, filename: str, first: bool) -> bytes:
        return (
            ("" if first else "\r\n")
            + f"--{boundary}\r\n"
            + f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            + "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()

    parts: list[_streaming.BodySource] = [
        head("metadata", "metadata", True),
        meta,
        head(rootfs_part, rootfs_name, False),
        rootfs,
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    content_type = f"multipart/form-data; boundary={boundary}"
    body = _streaming.UploadBody.joined(parts, progress, what="Image upload")
    return body, content_type


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
    chunks = _streaming.iter_response(response, progress)
    if boundary is None:
        for chunk in chunks:
            yield "", chunk
        return
    splitter = _MultipartSplitter(boundary)
    for chunk in chunks:
        yield from splitter.feed(chunk)
    if not splitter.done:
        raise ImageExportError(response, "The split image export ended early")


def _write_parts(
    chunks: Iterator[tuple[str, bytes]],
    sinks: dict[str, IO[bytes]],
    digest: Any,
) -> int:
    """Write each part's data to its sink (and digest); return the byte count."""
    written = 0
    for part, chunk in chunks:
        sinks[part].write(chunk)
        if digest is not None:
            digest.update(chunk)
        written += len(chunk)
    return written


def _check_digest(response: Any, digest: Any, fingerprint: str) -> None:
    """:raises ImageExportError: when the data hashed is not the image."""
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
    time while the main thread reads and writes (measured on 2 cores: a
    200 MiB ``export()`` read through takes ~600 ms, ~750-900 ms when hashed
    inline). At most ``_DEPTH`` chunks
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
        self._chunks = _streaming.iter_response(response)
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

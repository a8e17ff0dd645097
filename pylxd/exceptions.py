"""Exceptions raised by pylxd.

The hierarchy keeps pylxd's public classes so that existing ``except`` clauses
keep working; finer classes always subclass one of them::

    Exception
    ├── LXDAPIException(response)        an LXD answer that is an error
    │   ├── NotFound                     404
    │   │   ├── FileNotFound             a path (or its instance) that does not exist
    │   │   └── StorageObjectNotFound    a storage pool, volume or snapshot
    │   ├── Conflict                     409
    │   ├── PreconditionFailed           412: a stale If-Match ETag (nothing changed)
    │   ├── Forbidden                    403
    │   │   └── TrustRefused             a wrong trust password or token
    │   ├── FileError                    LXD refused a file operation
    │   │   └── FileReplaceFailed        put(atomic=True) could not rename into place
    │   ├── OperationTimeout             an operation wait that ran out of time
    │   ├── ImageExportError             an export that is not the image it claims to be
    │   ├── MalformedResponse            an answer that is not a valid LXD answer
    │   │   └── ResponseTooLarge         an answer over Client(max_response_size=)
    │   ├── InvalidArgument              refused before sending; also a ValueError
    │   └── InvalidArgumentType          refused before sending; also a TypeError
    ├── ClientConnectionFailed           the endpoint cannot be reached or served
    │   ├── ConnectionLost               the connection failed or broke mid-answer
    │   ├── RequestTimeout               no (whole) answer within Client(timeout=)
    │   ├── ExecTimeout                  a command outlived execute(timeout=); also a TimeoutError
    │   ├── WebSocketError               a websocket broke its protocol or size limits
    │   └── TransferIncomplete           a download or upload cut short (byte counts)
    ├── WaitTimeout                      a wait_until() condition not met in time; a TimeoutError
    └── LXDAPIExtensionNotAvailable      the server lacks an API extension

    UserWarning
    └── UnsafePathWarning                an entry a recursive transfer skipped

``ConnectionLost`` and ``RequestTimeout`` are also ``requests``'
``ConnectionError`` and ``Timeout``, as pylxd 2.4.2 let those through.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import requests

__all__ = [
    "LXDAPIException",
    "NotFound",
    "Conflict",
    "PreconditionFailed",
    "Forbidden",
    "FileNotFound",
    "FileError",
    "FileReplaceFailed",
    "StorageObjectNotFound",
    "TrustRefused",
    "OperationTimeout",
    "ImageExportError",
    "MalformedResponse",
    "ResponseTooLarge",
    "InvalidArgument",
    "InvalidArgumentType",
    "ClientConnectionFailed",
    "ConnectionLost",
    "RequestTimeout",
    "ExecTimeout",
    "WebSocketError",
    "UnsafePathWarning",
    "TransferIncomplete",
    "WaitTimeout",
    "LXDAPIExtensionNotAvailable",
]

_MAX_BODY_IN_MESSAGE = 500


class LXDAPIException(Exception):
    """A generic exception for representing unexpected LXD API responses.

    LXD answers are a standard return value, a background operation or an
    error. This exception is raised on an error, or when the status code is not
    the one expected. ``str()`` is the server's error message, after the
    object it is about when that is known (:attr:`about`).
    """

    #: What the failed call was about (e.g. ``"Instance 'c1'"``), shown in
    #: front of the message; set by :func:`naming`.
    about: str | None = None

    def __init__(self, response: requests.Response) -> None:
        super().__init__()
        self.response = response

    #: The name as LXD would quote it: when LXD's message already holds it,
    #: :attr:`about` is not repeated in front.
    _about_quoted: str | None = None

    def __str__(self) -> str:
        text = self._message()
        if not self.about or (self._about_quoted and self._about_quoted in text):
            return text
        return f"{self.about}: {text}"

    def _message(self) -> str:
        body = _json_body(self.response)
        if isinstance(body, dict):
            metadata = body.get("metadata")
            if isinstance(metadata, dict) and metadata.get("err"):
                return str(metadata["err"])
            if isinstance(metadata, dict) and metadata.get("status") == "Cancelled":
                return f"Operation {metadata.get('id', '')} was cancelled".replace(
                    "  ", " "
                )
            if body.get("error"):
                return str(body["error"])
        content = getattr(self.response, "content", b"") or b""
        text = content.decode("utf-8", "replace").strip()
        if not text:
            reason = getattr(self.response, "reason", "") or ""
            return f"HTTP {self.response.status_code} {reason}".strip()
        if len(text) > _MAX_BODY_IN_MESSAGE:
            text = text[:_MAX_BODY_IN_MESSAGE] + "..."
        return f"HTTP {self.response.status_code}: {text}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class NotFound(LXDAPIException):
    """An exception raised when an object is not found."""


class Conflict(LXDAPIException):
    """An exception raised when an object already exists (HTTP 409)."""


class Forbidden(LXDAPIException):
    """An exception raised when the client is not allowed to do this (HTTP 403)."""


class PreconditionFailed(LXDAPIException):
    """A change sent with ``If-Match`` was refused: the ETag is stale (HTTP 412).

    The object changed on the server since it was loaded, and LXD changed
    nothing. ``str()`` names the object; reload it (``sync()``) and apply the
    change again, or let ``update_with()`` do both.
    """

    def __init__(
        self, response: requests.Response, *, message: str | None = None
    ) -> None:
        super().__init__(response)
        self._detail = message

    def _message(self) -> str:
        if self._detail:  # raised by pylxd itself (see update_with)
            return self._detail
        return (
            "changed on the server since it was loaded, nothing was saved "
            f"({super()._message()}); sync() and apply the change again"
        )


class _FileContext:
    """The instance and path of a file operation (``instance``, ``path``)."""

    def __init__(
        self,
        response: requests.Response,
        instance: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(response)  # type: ignore[call-arg]
        self.instance = instance
        self.path = path


class FileNotFound(_FileContext, NotFound):
    """A file operation on a path (or an instance) that does not exist.

    ``str()`` is ``"Path '/etc/x' in instance 'c1': Not Found"``.
    """


class FileError(_FileContext, LXDAPIException):
    """LXD refused a file operation (e.g. "directory not empty", "file exists")."""


class FileReplaceFailed(FileError):
    """``files.put(..., atomic=True)`` uploaded the data but could not rename it
    into place; the original file is unchanged (and the upload removed).

    ``response`` is None; ``str()`` says what the rename reported.
    """

    def __init__(
        self, message: str, instance: str | None = None, path: str | None = None
    ) -> None:
        Exception.__init__(self, message)
        self.response = None  # type: ignore[assignment]
        self.instance = instance
        self.path = path

    def _message(self) -> str:
        return str(self.args[0])


class StorageObjectNotFound(NotFound):
    """A 404 about a storage object, naming the pool/volume that was asked for.

    ``str()`` is ``"<what>: <LXD's message>"``, e.g.
    ``"Storage pool 'p1': Storage pool not found"``.
    """

    def __init__(self, response: requests.Response, what: str | None = None) -> None:
        super().__init__(response)
        if what:
            self.about = what

    @property
    def what(self) -> str:
        """The storage object asked for (the subject of the message)."""
        return self.about or ""


class TrustRefused(Forbidden):
    """The server refused the trust password or token (HTTP 403)."""

    def _message(self) -> str:
        return (
            "LXD refused to trust the certificate: wrong trust password, or an "
            f"unknown, used or expired token ({super()._message()})"
        )


class OperationTimeout(LXDAPIException):
    """An exception raised when waiting for an operation ran out of time.

    ``response`` is LXD's answer to the last wait, holding the operation as it
    was when the wait gave up (still running).
    """

    def __init__(self, response: requests.Response, timeout: float) -> None:
        super().__init__(response)
        self.timeout = timeout

    def __str__(self) -> str:
        body = _json_body(self.response)
        op = body.get("metadata") if isinstance(body, dict) else None
        op_id = op.get("id", "?") if isinstance(op, dict) else "?"
        desc = op.get("description", "") if isinstance(op, dict) else ""
        return (
            f"Operation {op_id} ({desc}) did not finish within {self.timeout} seconds"
        )


class _Described(LXDAPIException):
    """An error about an answer whose ``str()`` is our own ``message``."""

    def __init__(self, response: requests.Response, message: str) -> None:
        super().__init__(response)
        self.message = message

    def _message(self) -> str:
        return self.message


class ImageExportError(_Described):
    """An export that is not the image it claims to be (fingerprint mismatch)."""


class MalformedResponse(_Described):
    """An answer that is not a valid LXD answer, naming the URL it came from.

    A broken envelope (no ``metadata``, an async answer without an
    ``operation`` string, ``metadata`` of the wrong type), a body that is not
    JSON or nests too deeply to decode. ``response`` is the answer.
    """


class ResponseTooLarge(MalformedResponse):
    """An answer larger than the client accepts (``Client(max_response_size=)``).

    The body is not read: ``response`` holds the status and headers only.
    """


class _Refused(LXDAPIException):
    """A call refused before anything was sent: ``str()`` is the message."""

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.response = None  # type: ignore[assignment]

    def _message(self) -> str:
        return str(self.args[0]) if self.args else "invalid argument"


class InvalidArgument(_Refused, ValueError):
    """A bad argument refused before anything was sent (nothing half-done).

    pylxd 2.4.2 sent such calls and LXD refused them with an error answer, so
    code written for it catches :class:`LXDAPIException`; code written for us
    catches :class:`ValueError`. Both work. ``response`` is None and ``str()``
    is the message, naming the object and what was wrong.
    """


class InvalidArgumentType(_Refused, TypeError):
    """An argument of the wrong type, refused before anything was sent.

    Both an :class:`LXDAPIException` (as LXD's refusal was for pylxd 2.4.2)
    and a :class:`TypeError`.
    """


def check_seconds(what: str, value: Any, *, optional: bool = True) -> None:
    """Refuse a timeout that is not a finite number of seconds above 0 (or
    None, when ``optional``), when the call is made, before anything is sent.

    :raises InvalidArgumentType: for something that is not a number.
    :raises InvalidArgument: for a number that is not finite and above 0.
    """
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentType(
            f"{what} must be a number of seconds{' or None' if optional else ''}, "
            f"not {value!r}"
        )
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgument(
            f"{what} must be a finite number of seconds above 0, not {value!r}"
        )


def check_bytes(what: str, value: Any, *, optional: bool = True) -> None:
    """Refuse a size that is not a positive int of bytes (or None, when
    ``optional``), when the call is made, before anything is sent.

    :raises InvalidArgumentType: for a bool or a non-int.
    :raises InvalidArgument: for zero or a negative size.
    """
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentType(
            f"{what} must be an int{' or None' if optional else ''}, not {value!r}"
        )
    if value <= 0:
        raise InvalidArgument(
            f"{what} must be a positive number of bytes, not {value!r}"
        )


class ClientConnectionFailed(Exception):
    """An exception raised when the Client connection fails."""


class ConnectionLost(ClientConnectionFailed, requests.exceptions.ConnectionError):
    """LXD could not be reached, or the connection broke before the whole answer.

    The message names the socket or URL and the reason (daemon gone, socket
    missing, TLS refused, a body shorter than announced).
    """


class RequestTimeout(ClientConnectionFailed, requests.exceptions.Timeout):
    """LXD did not send its whole answer within the client's ``timeout``.

    For a call that is not streamed, ``timeout`` bounds the whole answer (a
    server sending a byte at a time cannot hold it longer); for a streamed
    download it bounds each read.
    """


class WebSocketError(ClientConnectionFailed):
    """A websocket frame or message over the size limit, or a broken frame.

    Raised instead of reading (and allocating) what the header announced.
    """


class ExecTimeout(ClientConnectionFailed, TimeoutError):
    """A command run by ``Instance.execute(timeout=...)`` did not finish in time.

    The client gave up: it signalled the command (SIGKILL by default) through
    the control websocket and closed the streams. This is a client-side
    timeout, so it is not an :class:`LXDAPIException`; it is a
    :class:`ClientConnectionFailed` (like a request timeout) and a builtin
    :class:`TimeoutError`. The output received so far is kept.

    :ivar timeout: the timeout in seconds.
    :ivar operation_id: the exec operation's id.
    :ivar stdout: the output received before the timeout (None if unknown).
    :ivar stderr: the error output received before the timeout.
    """

    def __init__(
        self,
        message: str,
        *,
        timeout: float | None = None,
        operation_id: str | None = None,
        stdout: Any = None,
        stderr: Any = None,
    ) -> None:
        super().__init__(message)
        self.timeout = timeout
        self.operation_id = operation_id
        self.stdout = stdout
        self.stderr = stderr

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "command timed out"


class TransferIncomplete(ClientConnectionFailed):
    """A download or an upload that did not move every byte.

    Raised when a response body ends before the ``Content-Length`` LXD
    announced (or before the chunked terminator), when reading it fails
    midway (the daemon died, the connection broke or timed out), and when an
    upload stops midway. Nothing is returned as if complete: a download to a
    path leaves no file behind (and an existing one untouched).

    :ivar what: what was transferred (URL path, instance path, image...).
    :ivar received: bytes received (or sent, for an upload) before the end.
    :ivar expected: bytes announced, or None when the size was not known.
    """

    def __init__(
        self, what: str, received: int, expected: int | None, reason: str = ""
    ) -> None:
        self.what = what
        self.received = received
        self.expected = expected
        self.reason = reason
        of = f" of {expected}" if expected is not None else ""
        why = f": {reason}" if reason else ""
        super().__init__(f"{what}: transfer incomplete, {received}{of} bytes{why}")

    def __str__(self) -> str:
        return str(self.args[0])


class WaitTimeout(TimeoutError):
    """A condition waited for (``wait_until``) did not come true in time.

    A builtin :class:`TimeoutError`. Nothing was changed on the server.

    :ivar timeout: the timeout in seconds.
    :ivar last: what was seen last (e.g. the instance state), or None.
    """

    def __init__(self, message: str, *, timeout: float, last: Any = None) -> None:
        super().__init__(message)
        self.timeout = timeout
        self.last = last

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "condition not met in time"


class LXDAPIExtensionNotAvailable(Exception):
    """An exception raised when requested LXD API Extension is not present
    on current host.

    Given a bare extension name, as pylxd 2.4.2 code raises it, the message
    says so:

    >>> str(LXDAPIExtensionNotAvailable("projects"))
    "LXD API extension 'projects' is not available"
    """

    def __init__(self, name: str, *args: Any, **kwargs: Any) -> None:
        if not args and isinstance(name, str) and _is_extension_name(name):
            name = f"LXD API extension '{name}' is not available"
        super().__init__(name, *args, **kwargs)


def _is_extension_name(text: str) -> bool:
    return bool(text) and all(c.isalnum() or c == "_" for c in text)


class UnsafePathWarning(UserWarning):
    """An entry skipped by a recursive transfer because it would leave its root."""


def _json_body(response: Any) -> Any:
    """Return the decoded JSON body, or None for a body that is not JSON."""
    try:
        return response.json()
    except (ValueError, AttributeError, TypeError, RecursionError):
        return None


#: How :func:`naming` re-types an error of one exact class (e.g. NotFound
#: to FileNotFound): a subclass, or a callable building it from the response.
Refine = Mapping[
    type[LXDAPIException], Callable[["requests.Response"], LXDAPIException]
]


# The error mapping (status table, envelope checks, naming) is pylxd/_errors.py;
# its names stay importable from here. Imported last: it needs the classes above.
from pylxd._errors import (  # noqa: E402, F401  (re-exported)
    _check_response,
    envelope_of,
    error_for,
    malformed,
    metadata_of,
    naming,
    operation_of,
)

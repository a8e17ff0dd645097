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
    │   ├── OperationTimeout             an operation wait that ran out of time
    │   ├── InvalidArgument              refused before sending; also a ValueError
    │   └── InvalidArgumentType          refused before sending; also a TypeError
    ├── ClientConnectionFailed           the endpoint cannot be reached or served
    │   └── ExecTimeout                  a command outlived execute(timeout=); also a TimeoutError
    ├── WaitTimeout                      a wait_until() condition not met in time; a TimeoutError
    └── LXDAPIExtensionNotAvailable      the server lacks an API extension
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

if TYPE_CHECKING:  # pragma: no cover
    import requests

__all__ = [
    "LXDAPIException",
    "NotFound",
    "Conflict",
    "PreconditionFailed",
    "Forbidden",
    "FileNotFound",
    "FileError",
    "StorageObjectNotFound",
    "TrustRefused",
    "OperationTimeout",
    "InvalidArgument",
    "InvalidArgumentType",
    "ClientConnectionFailed",
    "ExecTimeout",
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


class ClientConnectionFailed(Exception):
    """An exception raised when the Client connection fails."""


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


_WHOLE_SUBJECT: Any = object()

#: How :func:`naming` re-types an error of one exact class (e.g. NotFound
#: to FileNotFound): a subclass, or a callable building it from the response.
Refine = Mapping[
    type[LXDAPIException], Callable[["requests.Response"], LXDAPIException]
]


@contextlib.contextmanager
def naming(
    kind: str, name: Any = _WHOLE_SUBJECT, *, refine: Refine | None = None
) -> Iterator[None]:
    """Name the object in LXD errors raised inside: ``Instance 'c1': Instance not found``.

    The subject is ``Kind 'name'``; without ``name``, ``kind`` is the whole
    subject (``"Network forward '10.0.0.1' of Network 'br1'"``). The exception
    keeps its class and response; only its message gains the subject, unless it
    has one already (the innermost naming wins) or LXD's message quotes
    ``name`` (or holds the whole subject) itself.

    :param kind: what the object is (``"Instance"``), or the whole subject.
    :param name: the object's name, quoted in the subject.
    :param refine: errors of exactly one of these classes are re-raised as
        the mapped subclass (same response, same subject rules), e.g.
        ``{NotFound: FileNotFound}``; other errors keep their class.
    """
    try:
        yield
    except LXDAPIException as err:
        # Only remembered here: the message is built (and LXD's answer read)
        # when the error is printed, so errors that are caught cost nothing.
        if err.about is None:
            err.about = kind if name is _WHOLE_SUBJECT else f"{kind} {str(name)!r}"
            err._about_quoted = err.about if name is _WHOLE_SUBJECT else repr(str(name))
        better = refine.get(type(err)) if refine else None
        if better is not None:
            new = better(err.response)
            new.about, new._about_quoted = err.about, err._about_quoted
            raise new from err
        raise


_BY_STATUS: dict[int, type[LXDAPIException]] = {
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
}


#: LXD 5.0 reports many name clashes as HTTP 400/500 or failed operations.
_DUPLICATE_MARKERS = (
    "already exists",
    "exists already",
    "already in use",
    "UNIQUE constraint failed",
)


def error_for(response: requests.Response) -> LXDAPIException:
    """Build the exception matching an LXD error answer or failed operation.

    The status picks the class (404 NotFound, 409 Conflict, 403 Forbidden);
    a name clash that LXD reports with another status is a Conflict too.
    """
    cls = _BY_STATUS.get(response.status_code, LXDAPIException)
    error = cls(response)
    if cls is LXDAPIException and any(m in str(error) for m in _DUPLICATE_MARKERS):
        return Conflict(response)
    return error


def _json_body(response: Any) -> Any:
    """Return the decoded JSON body, or None for a body that is not JSON."""
    try:
        return response.json()
    except (ValueError, AttributeError, TypeError):
        return None


def _json_type(response: Any) -> str | None:
    """Return the envelope ``type`` (None for non-JSON, "" when missing)."""
    body = _json_body(response)
    if not isinstance(body, dict):
        return None
    return str(body.get("type", ""))


def _check_response(
    response: requests.Response,
    *,
    ok: tuple[int, ...] = (200,),
    check_sync: bool = True,
) -> None:
    """Raise the exception matching an unexpected LXD answer.

    :raises NotFound: for a 404.
    :raises Conflict: for a 409, or a name clash reported with another status.
    :raises LXDAPIException: for any other status not in ``ok``, a 200 whose
        envelope is not ``sync``, a 200 whose body is not valid JSON, or an
        HTML page (never from LXD).
    """
    if response.status_code not in ok:
        raise error_for(response)
    if response.headers.get("Content-Type", "").startswith("text/html"):
        # LXD never serves HTML: a proxy or another server answered.
        raise LXDAPIException(response)
    if not check_sync or response.status_code != 200:
        return
    if "json" not in response.headers.get("Content-Type", "json"):
        return
    body_type = _json_type(response)
    if body_type is None and response.content:
        raise LXDAPIException(response)
    if body_type not in (None, "sync"):
        raise LXDAPIException(response)

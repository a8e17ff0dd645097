"""How LXD answers become pylxd exceptions: the one error table and envelope check.

:func:`error_for` picks the class of an error answer by its status (the
table :data:`_BY_STATUS`); :func:`_check_response` is the check every answer
passes through (:meth:`pylxd._transport._APINode._send`); :func:`envelope_of`,
:func:`metadata_of` and :func:`operation_of` read an answer's envelope, so
that a malformed one is a :class:`~pylxd.exceptions.MalformedResponse`
naming the URL; :func:`naming` puts the object a call was about in front of
the message.

Every name here is imported from :mod:`pylxd.exceptions` (which re-exports
them); the exception classes themselves live there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd.exceptions import Refine

_WHOLE_SUBJECT: Any = object()


def naming(
    kind: str, name: Any = _WHOLE_SUBJECT, *, refine: Refine | None = None
) -> _Naming:
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
    return _Naming(kind, name, refine)


class _Naming:
    """The context of :func:`naming`: a class, as every model read enters one
    (a ``contextlib.contextmanager`` generator costs several times more)."""

    __slots__ = ("kind", "name", "refine")

    def __init__(self, kind: str, name: Any, refine: Refine | None) -> None:
        self.kind, self.name, self.refine = kind, name, refine

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, err: BaseException | None, tb: Any) -> None:
        if not isinstance(err, LXDAPIException):
            return  # not ours to name: it goes on as it is
        # Only remembered here: the message is built (and LXD's answer read)
        # when the error is printed, so errors that are caught cost nothing.
        if err.about is None:
            whole = self.name is _WHOLE_SUBJECT
            err.about = self.kind if whole else f"{self.kind} {str(self.name)!r}"
            err._about_quoted = err.about if whole else repr(str(self.name))
        better = self.refine.get(type(err)) if self.refine else None
        if better is not None:
            new = better(err.response)
            new.about, new._about_quoted = err.about, err._about_quoted
            raise new from err


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
    cls = _BY_STATUS.get(_error_status(response), LXDAPIException)
    error = cls(response)
    if cls is LXDAPIException and any(m in str(error) for m in _DUPLICATE_MARKERS):
        return Conflict(response)
    return error


def _error_status(response: requests.Response) -> int:
    """The HTTP status, or for an error envelope sent with 200 its ``error_code``.

    Incus answers ``/wait`` on a failed operation that way (e.g. a 409 clash
    in a 200 answer); LXD puts the status on the answer itself.
    """
    if response.status_code == 200:
        body = _json_body(response)
        if isinstance(body, dict) and body.get("type") == "error":
            code = body.get("error_code")
            if isinstance(code, int) and code:
                return code
    return response.status_code


def _where(response: Any) -> str:
    from pylxd._transport import describe_url

    request = getattr(response, "request", None)
    method = getattr(request, "method", None) or ""
    return f"{method} {describe_url(getattr(response, 'url', None))}".strip()


def malformed(response: Any, what: str) -> MalformedResponse:
    """A :class:`MalformedResponse`: "LXD answered <method> <URL> with ``what``"."""
    content = getattr(response, "content", b"") or b""
    text = content[:200].decode("utf-8", "replace").strip()
    excerpt = (
        f"HTTP {response.status_code}: {text}{'...' if len(content) > 200 else ''}"
    )
    return MalformedResponse(
        response, f"LXD answered {_where(response)} with {what} ({excerpt})"
    )


def envelope_of(response: Any) -> Any:
    """The decoded JSON body of an LXD answer, checked to be an envelope.

    :raises MalformedResponse: for a body that is not JSON (or nests too
        deeply to decode), not an object, without ``metadata``, or async
        without an ``operation`` string.
    """
    try:
        body = response.json()
    except RecursionError:
        raise malformed(response, "JSON nested too deeply to decode") from None
    except (ValueError, TypeError) as err:
        raise malformed(response, f"a body that is not JSON ({err})") from None
    if not isinstance(body, dict):
        raise malformed(response, f"a JSON {type(body).__name__}, not an object")
    kind = body.get("type")
    if kind == "sync" and "metadata" not in body:
        raise malformed(response, "a sync answer without metadata")
    if kind == "async":
        operation = body.get("operation")
        if not isinstance(operation, str) or not operation:
            raise malformed(
                response, f"an async answer whose operation is {operation!r}"
            )
        # Only the operation is read from an async answer: its metadata
        # (the operation itself) may be left out, but not be anything else.
        if not isinstance(body.get("metadata"), (dict, type(None))):
            raise malformed(response, "an async answer whose metadata is not an object")
    return body


_KIND_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def metadata_of(
    response: Any,
    kind: type | tuple[type, ...] = dict,
    *,
    items: type | None = None,
    key: str | None = None,
) -> Any:
    """The ``metadata`` of an LXD answer, checked to be of ``kind``.

    Models read answers through this (and :func:`operation_of`), so that a
    malformed answer is a pylxd exception naming the URL, not a
    ``KeyError`` or ``TypeError`` deep in a model.

    :param items: for a list, the type each item must have.
    :param key: the field that names an object (``name``, ``fingerprint``):
        the object, or each object of a list, must have it as a non-empty
        string (an object without it could not be addressed again).
    :raises MalformedResponse: when it is missing or of another type.
    """
    metadata = envelope_of(response).get("metadata", _MISSING)
    if metadata is _MISSING:
        raise malformed(response, "an answer without metadata")
    if not isinstance(metadata, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        wanted = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
        raise malformed(
            response, f"metadata of type {type(metadata).__name__}, not {wanted}"
        )
    if items is not None and isinstance(metadata, list):
        for item in metadata:
            if not isinstance(item, items):
                wanted = _KIND_NAMES.get(items, items.__name__)
                raise malformed(
                    response,
                    f"a list holding a {type(item).__name__}, not {wanted}",
                )
    if key is not None:
        objects = metadata if isinstance(metadata, list) else [metadata]
        for obj in objects:
            if isinstance(obj, dict) and not (
                obj.get(key) and isinstance(obj[key], str)
            ):
                raise malformed(response, f"an object without its {key!r}")
    return metadata


def operation_of(response: Any) -> str:
    """The ``operation`` URL of an async LXD answer.

    :raises MalformedResponse: when the answer is not async or has none.
    """
    body = envelope_of(response)
    if body.get("type") != "async":
        raise malformed(response, f"a {body.get('type')!r} answer, not async")
    return str(body["operation"])


_MISSING: Any = object()


def _check_response(
    response: requests.Response,
    *,
    ok: tuple[int, ...] = (200,),
    check_sync: bool = True,
) -> None:
    """Raise the exception matching an unexpected LXD answer.

    :raises NotFound: for a 404.
    :raises Conflict: for a 409, or a name clash reported with another status.
    :raises MalformedResponse: for a 200 or 202 JSON answer that is not an
        LXD envelope (see :func:`envelope_of`).
    :raises LXDAPIException: for any other status not in ``ok``, a 200 whose
        envelope is not ``sync``, or an HTML page (never from LXD).
    """
    if response.status_code not in ok:
        raise error_for(response)
    content_type = response.headers.get("Content-Type")  # read once: hot path
    if content_type is not None and content_type.startswith("text/html"):
        # LXD never serves HTML: a proxy or another server answered.
        raise LXDAPIException(response)
    if not check_sync or response.status_code not in (200, 202):
        return
    if content_type is not None and "json" not in content_type:
        return
    if not response.content:
        return
    body_type = envelope_of(response).get("type")
    if body_type == "error":
        raise error_for(response)
    if response.status_code == 200 and body_type != "sync":
        raise LXDAPIException(response)


# The classes are imported last: pylxd.exceptions imports this module at its
# end, so whichever of the two is imported first, each finds what it needs.
from pylxd.exceptions import (  # noqa: E402
    Conflict,
    Forbidden,
    LXDAPIException,
    MalformedResponse,
    NotFound,
    PreconditionFailed,
    _json_body,
)

_BY_STATUS: dict[int, type[LXDAPIException]] = {
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
}

"""The fake LXD's wire: requests as handlers see them, replies, errors,
recorded requests and operations, and :func:`lookup`, the one way a handler
finds an object or answers 404."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

import requests
from requests.structures import CaseInsensitiveDict

from pylxd._types import JSONDict


def now() -> str:
    """An LXD timestamp for the current time."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class FakeRequest:
    """A request as a handler sees it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: CaseInsensitiveDict[str]
    prepared: requests.PreparedRequest

    @property
    def project(self) -> str:
        """The ``?project=`` of the request (``default`` when absent)."""
        return self.query.get("project") or "default"

    @property
    def recursion(self) -> int:
        """The ``?recursion=`` of the request (0 when absent)."""
        try:
            return int(self.query.get("recursion", "0"))
        except ValueError:
            return 0

    @property
    def json(self) -> Any:
        """The request body decoded as JSON (None when empty)."""
        raw = self.data
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise FakeError(400, "Invalid JSON in request body") from None

    @property
    def data(self) -> bytes:
        """The request body as bytes (streamed bodies read whole)."""
        body = self.body
        if body is None:
            return b""
        if isinstance(body, str):
            return body.encode("utf-8")
        if isinstance(body, (bytes, bytearray)):
            return bytes(body)
        if hasattr(body, "read"):
            chunk = body.read()
            read: bytes = chunk if isinstance(chunk, bytes) else chunk.encode("utf-8")
            self.body = read
            return read
        joined = b"".join(c if isinstance(c, bytes) else str(c).encode() for c in body)
        self.body = joined
        return joined


class FakeError(Exception):
    """Raise from a handler to answer with LXD's error envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Reply:
    """What a handler returns: a status, a body and headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterable[bytes] | None = None


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any

    @property
    def json(self) -> Any:
        if isinstance(self.body, (bytes, str)) and self.body:
            try:
                return json.loads(self.body)
            except ValueError:
                return None
        return None


@dataclass
class FakeOperation:
    """An operation as the fake keeps it."""

    id: str
    description: str
    resources: dict[str, list[str]]
    metadata: Any = None
    status: str = "Success"
    err: str = ""
    op_class: str = "task"
    project: str = "default"
    created_at: str = field(default_factory=now)
    #: Run when the operation is waited on or read while Running.
    on_wait: Callable[[], None] | None = None
    #: Set when a Running operation ends (``/wait`` blocks on it).
    done: threading.Event | None = None

    @property
    def status_code(self) -> int:
        return {
            "Pending": 105,
            "Running": 103,
            "Success": 200,
            "Failure": 400,
            "Cancelled": 401,
        }[self.status]

    def render(self) -> JSONDict:
        return {
            "id": self.id,
            "class": self.op_class,
            "description": self.description,
            "created_at": self.created_at,
            "updated_at": now(),
            "status": self.status,
            "status_code": self.status_code,
            "resources": self.resources,
            "metadata": self.metadata,
            "may_cancel": self.status == "Running",
            "err": self.err,
            "location": "none",
        }


def _lxd_header_names(headers: Any) -> CaseInsensitiveDict[str]:
    """The request headers, each ``X-Incus-<name>`` also as ``X-LXD-<name>``.

    pylxd sends Incus's names to an Incus server; the handlers read LXD's.
    """
    named = CaseInsensitiveDict(headers)
    for key in [k for k in named if k.lower().startswith("x-incus-")]:
        named.setdefault(f"X-LXD-{key[8:]}", named[key])
    return named


def lookup(
    store: Mapping[str, Any], name: str, message: str, status: int = 404
) -> JSONDict:
    """The object ``name`` of ``store``; a :class:`FakeError` with ``status``
    and ``message`` when there is none."""
    found: JSONDict | None = store.get(name)
    if found is None:
        raise FakeError(status, message)
    return found


def only(store: Mapping[str, Any], prefix: str, message: str) -> JSONDict:
    """The one object of ``store`` whose key starts with ``prefix`` (how LXD
    finds images and certificates by fingerprint); 404 with ``message`` when
    none or several do, or ``prefix`` is empty."""
    found: list[JSONDict] = [v for k, v in store.items() if k.startswith(prefix)]
    if not prefix or len(found) != 1:
        raise FakeError(404, message)
    return found[0]


def rename_in(store: dict[str, Any], old: str, new: str) -> None:
    """Move object ``old`` of ``store`` to key ``new``, renaming it too."""
    record = store.pop(old)
    record["name"] = new
    store[new] = record

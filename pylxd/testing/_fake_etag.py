"""ETags and ``If-Match`` in the fake, as LXD does them.

LXD sends an ``ETag`` with every object it answers a ``GET`` for, and
refuses a ``PUT``/``PATCH`` whose ``If-Match`` is not the ETag of the
object's current state with HTTP 412 ("ETag doesn't match"), changing
nothing. The fake's ETag is a hash of the object as a ``GET`` renders it,
minus what changes without a write (status, state, timestamps of use).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from requests.structures import CaseInsensitiveDict

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.testing._fake import FakeLXD, FakeRequest, Reply

#: Fields of a rendered object that are not part of its ETag.
_RUNTIME_FIELDS = frozenset(
    ("status", "status_code", "state", "last_used_at", "snapshots", "backups")
)


def etag_of(reply: Reply) -> str | None:
    """The ETag of an object ``reply`` (None for lists, errors, non-JSON)."""
    if reply.status != 200 or reply.stream is not None:
        return None
    if not reply.headers.get("Content-Type", "").startswith("application/json"):
        return None
    try:
        body = json.loads(reply.body)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("type") != "sync":
        return None
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        return None
    state = {k: v for k, v in metadata.items() if k not in _RUNTIME_FIELDS}
    digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
    return f'"{digest}"'


def add_etag(request: FakeRequest, reply: Reply) -> None:
    """Put the object's ``ETag`` on the answer to a ``GET`` of it."""
    if request.method != "GET" or request.query.get("recursion"):
        return
    etag = etag_of(reply)
    if etag is not None:
        reply.headers["ETag"] = etag


def refuse_stale(fake: FakeLXD, request: FakeRequest) -> Reply | None:
    """The 412 LXD answers a ``PUT``/``PATCH`` with a stale ``If-Match``."""
    match = request.headers.get("If-Match") if request.headers else None
    if not match or request.method not in ("PUT", "PATCH"):
        return None
    from pylxd.testing._fake import FakeRequest

    current = fake._dispatch(
        FakeRequest(
            method="GET",
            path=request.path,
            query={k: v for k, v in request.query.items() if k == "project"},
            body=None,
            headers=CaseInsensitiveDict(),
            prepared=request.prepared,
        )
    )
    etag = etag_of(current)
    if etag is None or _bare(match) == _bare(etag):
        return None
    return fake.error(412, f"ETag doesn't match: {_bare(etag)} vs {_bare(match)}")


def _bare(etag: Any) -> str:
    return str(etag).strip().strip('"')

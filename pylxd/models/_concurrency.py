"""Read-modify-write against concurrent writers: what ``Model.update_with`` does.

``If-Match`` makes LXD refuse a write based on a state that is no longer
current (HTTP 412). LXD 5.0 checks the ETag and then writes in separate
steps, though: two writes sent within the same few milliseconds with the
same, current ETag both pass, and the second undoes the first. Measured on
LXD 5.0.2 with two processes editing different keys of one profile in
step: about one edit in six was lost with ``If-Match`` alone. So after
saving, the object is read back (at once, and again after about twice the
time the save took, which covers a write that passed the check together
with ours) and the edit ``fn`` made is looked for; when it is gone it is
applied again, like after a 412.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, Callable

from pylxd import exceptions
from pylxd._types import JSONDict
from pylxd.models._model import _json_copy

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.models._model import Model  # noqa: F401

#: The shortest wait before the second read-back (seconds).
SETTLE_MIN = 0.02
#: How LXD 5.0 fails an instance update that overlaps another one (the
#: operation is refused before it changes anything): a conflict to retry.
_BUSY_MARKERS = ("non-reusable operation",)


def _conflict(err: exceptions.LXDAPIException) -> bool:
    if isinstance(err, exceptions.PreconditionFailed):
        return True
    return any(marker in str(err) for marker in _BUSY_MARKERS)


_ABSENT: Any = object()


def changes(before: JSONDict, after: JSONDict) -> dict[Any, Any]:
    """What ``after`` changed in ``before``: per key for dicts (``config``,
    ``devices``), whole values otherwise; removed keys map to ``_ABSENT``.

    >>> changes({"config": {"a": "1", "b": "2"}, "d": ""},
    ...         {"config": {"a": "1", "c": "3"}, "d": ""}) == {
    ...     ("config", "b"): _ABSENT, ("config", "c"): "3"}
    True
    """
    found: dict[Any, Any] = {}
    for key, value in after.items():
        old = before.get(key, _ABSENT)
        if isinstance(value, dict) and isinstance(old, dict):
            for sub in set(old) | set(value):
                if old.get(sub, _ABSENT) != value.get(sub, _ABSENT):
                    found[(key, sub)] = value.get(sub, _ABSENT)
        elif old != value:
            found[key] = value
    return found


def kept(edits: dict[Any, Any], now: JSONDict) -> bool:
    """True when the state ``now`` still holds every edit."""
    for path, value in edits.items():
        if isinstance(path, tuple):
            inner = now.get(path[0])
            current = (
                inner.get(path[1], _ABSENT) if isinstance(inner, dict) else _ABSENT
            )
        else:
            current = now.get(path, _ABSENT)
        if current != value:
            return False
    return True


def update_with(obj: Model, fn: Callable[[Any], Any], retries: int, wait: bool) -> None:
    """Reload ``obj``, apply ``fn``, save with If-Match and check the edit
    stayed; do it again on a 412, an overlapping update refused by LXD or a
    lost edit, ``retries`` times at most.

    :raises PreconditionFailed: when every try met a concurrent change.
    """
    for attempt in range(retries + 1):
        obj.sync(rollback=True)
        before = _json_copy(obj.marshall())
        fn(obj)
        edits = changes(before, obj.marshall())
        started = time.monotonic()
        try:
            obj.save(wait=wait, if_match=True)
        except exceptions.LXDAPIException as err:
            if attempt == retries or not _conflict(err):
                raise
        else:
            if _stayed(obj, edits, time.monotonic() - started):
                return
            if attempt == retries:
                raise exceptions.PreconditionFailed(
                    None,  # type: ignore[arg-type]
                    message=f"{obj._subject()}: a concurrent write undid the "
                    f"change each of the {retries + 1} times it was saved",
                )
        # Writers that met are likely to meet again: spread them.
        time.sleep(random.uniform(0, 0.05 * (attempt + 1)))


def _stayed(obj: Model, edits: dict[Any, Any], took: float) -> bool:
    """Read back (save() has just done it once) and after a settle time."""
    if not kept(edits, obj.marshall()):
        return False
    time.sleep(max(SETTLE_MIN, 2 * took))
    obj.sync(rollback=True)
    return kept(edits, obj.marshall())

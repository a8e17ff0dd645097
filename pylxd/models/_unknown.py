"""What a model does with what it does not know.

:data:`MISSING` is the value of a field the server did not send; a field the
server sends that this version does not declare is kept in the object's
``__extra__`` (read by :func:`extra_field`), with a warning once per class
and field (:func:`warn_unknown_attribute`, ``PYLXD_WARNINGS``).
"""

from __future__ import annotations

import os
import warnings
from typing import Any


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: A sentinel for "no value given", distinct from None.
MISSING: Any = _Missing()


def warn_unknown_attribute(cls_name: str, key: str, seen: set[str]) -> None:
    """Warn once per class and attribute (``PYLXD_WARNINGS``: unset, ``none``, ``always``)."""
    policy = os.environ.get("PYLXD_WARNINGS", "").lower()
    item = f"{cls_name}.{key}"
    if policy == "none" or (policy != "always" and item in seen):
        return
    seen.add(item)
    warnings.warn(
        f'Attempted to set unknown attribute "{key}" on instance of "{cls_name}"',
        stacklevel=4,
    )


def extra_field(obj: Any, name: str) -> Any:
    """The unknown server field ``name`` kept in ``obj.__extra__``, or :data:`MISSING`.

    :raises AttributeError: on an object whose ``__init__`` has not run (as
        ``copy`` and ``pickle`` make them), which has no ``__extra__`` yet.
    """
    try:
        extra = object.__getattribute__(obj, "__extra__")
    except AttributeError:
        raise AttributeError(name) from None
    return extra.get(name, MISSING)

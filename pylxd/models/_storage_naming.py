"""How storage calls name what failed in LXD's errors.

Shared by :mod:`pylxd.models.storage_pool` (pools, volumes, snapshots) and
:mod:`pylxd.models.storage_volume_backup` (importing a volume backup), so
that neither imports the other's private names.
"""

from __future__ import annotations

from typing import ContextManager

from pylxd import exceptions
from pylxd.exceptions import StorageObjectNotFound

#: A 404 inside a storage call becomes StorageObjectNotFound (a NotFound).
_REFINE: exceptions.Refine = {exceptions.NotFound: StorageObjectNotFound}


def naming(what: str) -> ContextManager[None]:
    """Name ``what`` in LXD's errors; a 404 is a :class:`StorageObjectNotFound`."""
    return exceptions.naming(what, refine=_REFINE)


def pool_label(name: str) -> str:
    """``Storage pool 'p1'``: how errors name a pool."""
    return f"Storage pool {name!r}"

"""Instance backups, logs, metadata and templates (mixed into ``Instance``)."""

from __future__ import annotations


class InstanceExtrasMixin:
    """Instance sub-resources beyond pylxd 2.4.2: backups, logs, metadata, templates."""

    __slots__ = ()

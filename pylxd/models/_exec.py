"""Exec, interactive sessions and console for instances (mixed into ``Instance``)."""

from __future__ import annotations


class ExecMixin:
    """Instance methods that run commands and attach consoles over websockets."""

    __slots__ = ()

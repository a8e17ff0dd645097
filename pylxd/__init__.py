"""pylxd: a Python client for the LXD REST API.

``from pylxd import Client`` is the entry point. Submodules are imported on
first use so that ``import pylxd`` costs little.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "3.0.0.dev0"

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._retry import Retry
    from pylxd.client import Client, EventType

__all__ = ["Client", "EventType", "Retry", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Client", "EventType"):
        from pylxd import client

        return getattr(client, name)
    if name == "Retry":
        from pylxd._retry import Retry

        return Retry
    if name in ("exceptions", "managers", "models", "client", "testing"):
        import importlib

        return importlib.import_module(f"pylxd.{name}")
    if name == "version":  # pylxd 2.4.2 holds importlib.metadata.version here
        from importlib.metadata import version

        return version
    raise AttributeError(f"module 'pylxd' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

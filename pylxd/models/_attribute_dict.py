"""State data readable as attributes: what ``instance.state()`` returns.

pylxd 2.4.2 users import :class:`AttributeDict` from
:mod:`pylxd.models._model`, which re-exports it.
"""

from __future__ import annotations

from typing import Any, Iterator


class _AttrAccessDict(dict):
    """A dict whose keys are also readable as attributes (nested state values)."""

    def __init__(self, dct: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__()
        for key, value in {**(dct or {}), **kwargs}.items():
            self[key] = _AttrAccessDict(value) if isinstance(value, dict) else value

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self) -> list[str]:
        keys = {k for k in self.keys() if isinstance(k, str)}
        return sorted(set(super().__dir__()) | keys)


class AttributeDict(_AttrAccessDict):
    """State data readable as attributes, items, or ``(key, value)`` pairs.

    As in pylxd, iterating yields ``(key, value)`` pairs (``dict(state)`` and
    ``for key, value in state`` work) and ``vars(state)`` holds the data;
    ``state["memory"]`` and ``state.memory["usage"]`` work too. Nested values
    are dicts that iterate over their keys (``for name in state.network``).
    """

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        if isinstance(key, str):
            self.__dict__[key] = value

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self.__dict__.pop(key, None)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return iter(list(self.items()))

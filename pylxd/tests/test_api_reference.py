"""The API reference (``doc/source/api.rst``) lists every public class.

Models, managers and exceptions added later must be added to the reference
too; this test names the ones missing.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import pkgutil
import re
import types

import pytest

import pylxd
import pylxd.models
from pylxd import managers

API_RST = pathlib.Path(pylxd.__file__).resolve().parent.parent / "doc/source/api.rst"
_DIRECTIVE = re.compile(r"^\.\. auto(?:class|exception|module):: (\S+)", re.M)


@pytest.fixture(scope="module")
def documented() -> set[str]:
    if not API_RST.exists():
        pytest.skip("no doc/source/api.rst (not a source checkout)")
    names = set(_DIRECTIVE.findall(API_RST.read_text()))
    for target in list(names):  # automodule documents the module's classes
        module = _module_or_none(target)
        if module is not None:
            names |= {
                f"{value.__module__}.{value.__qualname__}"
                for value in vars(module).values()
                if inspect.isclass(value) and value.__module__ == module.__name__
            }
    return names


def _module_or_none(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _exceptions() -> set[type]:
    found: set[type] = set()
    for info in pkgutil.walk_packages(pylxd.__path__, "pylxd."):
        if ".tests" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, Exception)
                and not name.startswith("_")
                and value.__module__ == info.name
                and not info.name.startswith("pylxd.testing")
            ):
                found.add(value)
    return found


def test_every_model_is_documented(documented: set[str]) -> None:
    missing = [
        _qualified(getattr(pylxd.models, name))
        for name in pylxd.models.__all__
        if _qualified(getattr(pylxd.models, name)) not in documented
    ]
    assert missing == []


def test_every_manager_is_documented(documented: set[str]) -> None:
    missing = [
        _qualified(cls)
        for cls in vars(managers).values()
        if inspect.isclass(cls)
        and issubclass(cls, managers.BaseManager)
        and _qualified(cls) not in documented
    ]
    assert missing == []


def test_every_exception_is_documented(documented: set[str]) -> None:
    missing = sorted(
        _qualified(cls) for cls in _exceptions() if _qualified(cls) not in documented
    )
    assert missing == []

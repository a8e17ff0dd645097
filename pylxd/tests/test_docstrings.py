"""Every public class, method and property of pylxd has a docstring.

The API reference (``doc/source/api.rst``) is generated from them, and they
are what ``help()`` shows at the REPL.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Iterator

import pylxd.models
from pylxd import managers
from pylxd.models import _model

#: Modules whose public classes are part of the API, besides pylxd.models.
MODULES = (
    "pylxd.client",
    "pylxd.exceptions",
    "pylxd.managers",
    "pylxd.testing",
    "pylxd._events",
    "pylxd.models._exec",
    "pylxd.models.exec_streams",
    "pylxd.models.files",
    "pylxd.models._instance_subresources",
    "pylxd.models._instance_bulk",
    "pylxd.models._instance_logs",
    "pylxd.models._instance_metadata",
    "pylxd.models.instance_backup",
    "pylxd.models.metrics",
    "pylxd.models.operation",
)
#: Names a class gets from Python or from the model machinery.
_DECLARATIONS = (_model.Attribute, _model.Manager, _model.Parent)


def public_classes() -> Iterator[type]:
    """The public classes: every model, and those of :data:`MODULES`."""
    seen: set[type] = set()
    for name in pylxd.models.__all__:
        cls = getattr(pylxd.models, name)
        seen.add(cls)
        yield cls
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or dir(module)
        for name in names:
            value = getattr(module, name, None)
            if (
                inspect.isclass(value)
                and not name.startswith("_")
                and value.__module__.startswith("pylxd")
                and value not in seen
            ):
                seen.add(value)
                yield value


def public_members(cls: type) -> Iterator[tuple[str, Any]]:
    """The public methods and properties ``cls`` defines itself (pylxd code)."""
    for klass in cls.__mro__:
        if not klass.__module__.startswith("pylxd"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or isinstance(value, _DECLARATIONS):
                continue
            if isinstance(value, (classmethod, staticmethod, property)) or (
                inspect.isfunction(value)
            ):
                yield name, getattr(cls, name, value)


def test_the_walk_finds_the_api() -> None:
    classes = set(public_classes())
    assert pylxd.models.Instance in classes
    assert managers.InstanceManager in classes
    names = dict(public_members(pylxd.models.Instance))
    assert {"execute", "start", "save", "api"} <= set(names)
    assert "snapshots" not in names  # a declared sub-manager, not a method


def test_every_public_class_has_a_docstring() -> None:
    missing = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in public_classes()
        if not (cls.__doc__ or "").strip() and not issubclass(cls, managers.BaseManager)
    ]
    assert missing == [], f"classes without a docstring: {missing}"


def test_every_public_method_has_a_docstring() -> None:
    missing = sorted(
        {
            f"{cls.__module__}.{cls.__qualname__}.{name}"
            for cls in public_classes()
            for name, member in public_members(cls)
            if not (inspect.getdoc(member) or "").strip()
        }
    )
    assert missing == [], "public methods without a docstring:\n" + "\n".join(missing)


def test_every_public_function_has_a_docstring() -> None:
    missing = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", None) or dir(module):
            value = getattr(module, name, None)
            if (
                inspect.isfunction(value)
                and not name.startswith("_")
                and value.__module__.startswith("pylxd")
                and not (value.__doc__ or "").strip()
            ):
                missing.append(f"{module_name}.{name}")
    assert missing == [], f"functions without a docstring: {missing}"

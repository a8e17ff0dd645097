"""The compatibility gate: every call pylxd 2.4.2 accepts, we accept.

The data file ``compat/pylxd-2.4.2-surface.json`` holds pylxd 2.4.2's public
surface, read from its PyPI release by ``compat/read_242_surface.py``. This
test fails on any module, name, method, model attribute or manager we lack,
and on any call shape pylxd accepts that we refuse: the same positional
parameters in the same order, the same defaults, every keyword accepted.

The only exceptions are :data:`DELIBERATE`, each a difference documented on
``doc/source/compatibility.rst``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
from typing import Any

import pytest

from pylxd.testing import FakeLXD

SURFACE_FILE = os.path.join(
    os.path.dirname(__file__), "compat", "pylxd-2.4.2-surface.json"
)
with open(SURFACE_FILE, encoding="utf-8") as _handle:
    SURFACE: dict[str, Any] = json.load(_handle)

#: Private names that user code and tests import or ``mock.patch``.
PATCHED_PRIVATE = {
    "pylxd.client": {
        "_APINode",
        "_is_a_token",
        "_WebsocketClient",
        "_ws_exclude_origin",
    },
    "pylxd.models.instance": {
        "_InstanceExecuteResult",
        "_CommandWebsocketClient",
        "_StdinWebsocket",
    },
    "pylxd.models.image": {"_image_create_from_config"},
    "pylxd.models.operation": {"_seen_attribute_warnings"},
    "pylxd.models._model": {"_seen_attribute_warnings"},
}

#: Names pylxd 2.4.2's modules hold that come from elsewhere (the stdlib,
#: ws4py, cryptography...) and that user code patches through pylxd's
#: module: ``mock.patch("pylxd.client.urllib3...")``. Other such imports
#: (``typing.Optional``, ``contextlib.contextmanager``...) are not API.
REEXPORTS = {
    "pylxd": {"version"},
    "pylxd.client": {
        "WebSocketBaseClient",
        "base64",
        "hashes",
        "json",
        "os",
        "parse",
        "re",
        "requests",
        "socket",
        "urllib3",
        "x509",
    },
    "pylxd.models.instance": {
        "BinaryMessage",
        "WebSocketBaseClient",
        "WebSocketManager",
        "errno",
        "json",
        "logging",
        "os",
        "parse",
        "stat",
        "suppress",
        "time",
        "warnings",
    },
}

#: Deliberate differences, each on the docs' compatibility page
#: (doc/source/compatibility.rst). Key: "<module>:<name>[.<member>]".
DELIBERATE: dict[str, str] = {
    # requests_toolbelt is not a dependency: uploads are streamed by our own
    # multipart encoder.
    "pylxd.models.image:MultipartEncoder": "compatibility.rst#image-multipartencoder",
    # pylxd's Unix transport classes over urllib3; ours is one adapter in
    # pylxd._transport (patch pylxd._transport._UnixAdapter instead).
    "pylxd.client:_UnixAdapter": "compatibility.rst#unix-transport",
    "pylxd.client:_UnixSocketHTTPConnection": "compatibility.rst#unix-transport",
    "pylxd.client:_UnixSocketHTTPConnectionPool": "compatibility.rst#unix-transport",
    # Our exec stream classes end on LXD's empty message by themselves and
    # take their options by keyword.
    "pylxd.models.instance:_CommandWebsocketClient.__init__": "compatibility.rst#exec-streams",
    "pylxd.models.instance:_CommandWebsocketClient.finish_soon": "compatibility.rst#exec-streams",
    # Server-set fields pylxd declares writable: ours are readonly, so save()
    # does not send them back (LXD ignores them); assigning still works.
    **{
        f"pylxd.models.{key}": "compatibility.rst#readonly-fields"
        for key in (
            "certificate:Certificate.fingerprint",
            *(
                f"{mod}:{cls}.{name}"
                for mod, cls in (
                    ("instance", "Instance"),
                    ("container", "Container"),
                    ("virtual_machine", "VirtualMachine"),
                )
                for name in ("created_at", "expanded_config", "expanded_devices")
            ),
            "instance:Snapshot.created_at",
            "instance:Snapshot.name",
            "instance:Snapshot.stateful",
            "network:Network.name",
            "network:Network.type",
            "network:NetworkForward.listen_address",
            "network:NetworkForward.location",
            "storage_pool:StorageVolumeSnapshot.config",
        )
    },
    # save(wait=False) with a fixed signature instead of (*args, **kwargs).
    "pylxd.models.network:NetworkForward.save": "compatibility.rst#network-forward-save",
}

#: Defaults that differ but accept every call pylxd's did (documented):
#: ``{"Class.method": {"param": repr(our default)}}``, each on the page at
#: :data:`COMPATIBLE_DEFAULTS_DOCS`.
COMPATIBLE_DEFAULTS: dict[str, dict[str, str]] = {
    # One request that loads every object (pylxd: names, then N requests).
    "Instance.all": {"recursion": "1"},
    "Container.all": {"recursion": "1"},
    "VirtualMachine.all": {"recursion": "1"},
    # LXD 5.0 deletes volume snapshots in an operation: wait for it.
    "StorageVolumeSnapshot.delete": {"wait": "True"},
}
COMPATIBLE_DEFAULTS_DOCS = {
    "Instance.all": "compatibility.rst#instances-all",
    "Container.all": "compatibility.rst#instances-all",
    "VirtualMachine.all": "compatibility.rst#instances-all",
    "StorageVolumeSnapshot.delete": "compatibility.rst#volume-snapshot-delete",
}


def _deliberate(key: str) -> bool:
    return key in DELIBERATE


def _is_pylxds(info: dict[str, Any]) -> bool:
    return str(info.get("module") or "pylxd").split(".")[0] == "pylxd"


def _wanted_names(modname: str, names: dict[str, Any]) -> list[str]:
    """pylxd's own public names, the patched private ones and :data:`REEXPORTS`.

    Its test packages (``pylxd.tests``, ``pylxd.models.tests``) are not API.
    """
    private = PATCHED_PRIVATE.get(modname, set())
    return sorted(
        n
        for n, info in names.items()
        if n != "tests"
        and (not n.startswith("_") or n in private)
        and (_is_pylxds(info) or n in REEXPORTS.get(modname, set()))
    )


def _module_params() -> list[tuple[str, str]]:
    return [
        (modname, name)
        for modname, entry in SURFACE["modules"].items()
        for name in _wanted_names(modname, entry["names"])
        if not _deliberate(f"{modname}:{name}")
    ]


def _class_params() -> list[tuple[str, str]]:
    return [
        (modname, cls)
        for modname, entry in SURFACE["modules"].items()
        for cls in entry["classes"]
        if (not cls.startswith("_") or cls in PATCHED_PRIVATE.get(modname, set()))
        and not _deliberate(f"{modname}:{cls}")
    ]


def _ours(modname: str, name: str) -> Any:
    module = importlib.import_module(modname)
    return getattr(module, name)


@pytest.mark.parametrize("modname", sorted(SURFACE["modules"]))
def test_module_imports(modname: str) -> None:
    """Every module of pylxd 2.4.2 imports (and is an attribute of its package)."""
    importlib.import_module(modname)
    package, _, leaf = modname.rpartition(".")
    if package:
        import pylxd  # noqa: F401  (fresh attribute access, not the import system)

        parent = importlib.import_module(package)
        assert hasattr(parent, leaf), f"{package}.{leaf} is not reachable"


@pytest.mark.parametrize("modname,name", _module_params())
def test_module_name_exists(modname: str, name: str) -> None:
    """Every name user code reaches in a pylxd 2.4.2 module is there."""
    module = importlib.import_module(modname)
    assert hasattr(module, name), f"{modname}.{name} is missing"
    expected = SURFACE["modules"][modname]["names"][name]
    value = getattr(module, name)
    if expected["kind"] == "module":
        assert inspect.ismodule(value), f"{modname}.{name} is not a module"
    elif expected["kind"] == "class":
        assert isinstance(value, type), f"{modname}.{name} is not a class"
    elif expected["kind"] == "function":
        assert callable(value), f"{modname}.{name} is not callable"


def _positional(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        p for p in params if p["kind"] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
    ]


def call_shape_problems(
    upstream: list[dict[str, Any]], ours: inspect.Signature, where: str
) -> list[str]:
    """What pylxd's call shapes (``upstream``) would break with ``ours``.

    >>> sig = inspect.signature(lambda a, b=1, *, c=2: None)
    >>> call_shape_problems([{"name": "a", "kind": "POSITIONAL_OR_KEYWORD",
    ...     "default": None, "has_default": False}], sig, "f")
    []
    >>> for problem in call_shape_problems([{"name": "x", "kind": "POSITIONAL_OR_KEYWORD",
    ...     "default": None, "has_default": False}], sig, "f"):
    ...     print(problem)
    f: positional #0 is 'a', pylxd's is 'x'
    f: keyword 'x' is not accepted
    f: 'a' is required, pylxd has no such parameter
    """
    problems: list[str] = []
    mine = list(ours.parameters.values())
    var_pos = any(p.kind is p.VAR_POSITIONAL for p in mine)
    var_kw = any(p.kind is p.VAR_KEYWORD for p in mine)
    my_pos = [p for p in mine if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    by_name = {p.name: p for p in mine}
    compatible = COMPATIBLE_DEFAULTS.get(where, {})
    for index, theirs in enumerate(_positional(upstream)):
        if index >= len(my_pos):
            if not var_pos:
                problems.append(
                    f"{where}: pylxd's positional #{index} {theirs['name']!r} is not accepted"
                )
            continue
        mp = my_pos[index]
        if mp.name != theirs["name"] and theirs["kind"] == "POSITIONAL_OR_KEYWORD":
            problems.append(
                f"{where}: positional #{index} is {mp.name!r}, pylxd's is {theirs['name']!r}"
            )
    for theirs in upstream:
        if theirs["kind"] in ("VAR_POSITIONAL", "VAR_KEYWORD"):
            kind = (
                inspect.Parameter.VAR_POSITIONAL
                if theirs["kind"] == "VAR_POSITIONAL"
                else inspect.Parameter.VAR_KEYWORD
            )
            if not any(p.kind is kind for p in mine):
                problems.append(
                    f"{where}: pylxd accepts {theirs['kind']} ({theirs['name']})"
                )
            continue
        name = theirs["name"]
        found = by_name.get(name)
        if found is None or found.kind is found.POSITIONAL_ONLY:
            if theirs["kind"] != "POSITIONAL_ONLY" and not var_kw:
                problems.append(f"{where}: keyword {name!r} is not accepted")
            continue
        mp = found
        if theirs["has_default"]:
            if mp.default is mp.empty:
                problems.append(
                    f"{where}: {name!r} has no default (pylxd's: {theirs['default']})"
                )
            elif repr(mp.default) != theirs["default"] and compatible.get(name) != repr(
                mp.default
            ):
                problems.append(
                    f"{where}: default of {name!r} is {mp.default!r}, pylxd's is {theirs['default']}"
                )
    upstream_names = {p["name"] for p in upstream}
    for mp in mine:
        required = mp.default is mp.empty and mp.kind not in (
            mp.VAR_POSITIONAL,
            mp.VAR_KEYWORD,
        )
        if required and mp.name not in upstream_names:
            problems.append(
                f"{where}: {mp.name!r} is required, pylxd has no such parameter"
            )
    return problems


def _signature(value: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(value)
    except (TypeError, ValueError):
        return None


_CLASSES: dict[str, dict[str, Any]] = {
    cls: info
    for entry in SURFACE["modules"].values()
    for cls, info in entry["classes"].items()
}


def _forwards(params: list[dict[str, Any]]) -> bool:
    return [p["kind"] for p in params[1:]] == ["VAR_POSITIONAL", "VAR_KEYWORD"]


def _effective_init(info: dict[str, Any]) -> list[dict[str, Any]] | None:
    """pylxd's ``__init__`` parameters, seen through ``(*args, **kwargs)`` forwarders.

    A forwarding ``__init__`` accepts what the next base's does: that of a
    pylxd base (e.g. ``Model``) when one defines it, nothing to check when it
    forwards to a third-party class (ws4py, Exception), and itself when it
    consumes the arguments (``BaseManager``).
    """
    params = info["members"]["__init__"].get("params")
    if params is None or not _forwards(params):
        return params
    for base in info["bases"]:
        if base == "object":
            return params
        if base not in _CLASSES:
            return None  # forwards to a third-party class
        inherited = _CLASSES[base]["members"].get("__init__", {}).get("params")
        if inherited is not None and not _forwards(inherited):
            return inherited
    return params


def _has_member(cls: type, name: str) -> bool:
    if hasattr(cls, name) or name in getattr(cls, "__attributes__", {}):
        return True
    return any(
        name in getattr(k, "__slots__", ()) or name in getattr(k, "__annotations__", {})
        for k in cls.__mro__
    )


def _member_problems(
    cls: type, name: str, info: dict[str, Any], where: str
) -> list[str]:
    if not _has_member(cls, name):
        return [f"{where} is missing"]
    if "params" not in info or info["params"] is None:
        return []
    upstream = info["params"]
    raw = inspect.getattr_static(cls, name)
    if info["kind"] == "method":
        func = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
        if isinstance(raw, classmethod):
            return [f"{where} is a classmethod, pylxd's is an instance method"]
    else:  # classmethod/staticmethod: called on the class, no self
        func = getattr(cls, name)
        upstream = upstream[1:] if info["kind"] == "classmethod" else upstream
    sig = _signature(func)
    if sig is None:
        return []
    return call_shape_problems(upstream, sig, where)


@pytest.mark.parametrize("modname,clsname", _class_params())
def test_class_members_accept_pylxd_calls(modname: str, clsname: str) -> None:
    """Every method of pylxd 2.4.2's classes exists and accepts its call shapes."""
    cls = _ours(modname, clsname)
    info = SURFACE["modules"][modname]["classes"][clsname]
    problems: list[str] = []
    for name, member in info["members"].items():
        key = f"{modname}:{clsname}.{name}"
        if (name.startswith("_") and name != "__init__") or _deliberate(key):
            continue
        if name == "__init__":
            member = {**member, "params": _effective_init(info)}
        problems += _member_problems(cls, name, member, f"{clsname}.{name}")
    assert not problems, "\n".join(problems)


def _models() -> list[tuple[str, str]]:
    return [
        (modname, cls)
        for modname, cls in _class_params()
        if "attributes" in SURFACE["modules"][modname]["classes"][cls]
    ]


@pytest.mark.parametrize("modname,clsname", _models())
def test_model_attributes_and_managers(modname: str, clsname: str) -> None:
    """Model attributes are declared, never stricter (readonly) than pylxd's."""
    cls = _ours(modname, clsname)
    info = SURFACE["modules"][modname]["classes"][clsname]
    ours = getattr(cls, "__attributes__", {})
    problems = []
    for name, flags in info["attributes"].items():
        if _deliberate(f"{modname}:{clsname}.{name}"):
            continue
        if name not in ours:
            problems.append(f"{clsname}.{name} is not a declared attribute")
        elif ours[name].readonly and not flags["readonly"]:
            problems.append(f"{clsname}.{name} is readonly, pylxd's is writable")
    for name in info["managers"]:
        if name not in ours and not hasattr(cls, name):
            problems.append(f"{clsname}.{name} (a sub-manager) is missing")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "modname,funcname",
    [
        (m, f)
        for m, e in SURFACE["modules"].items()
        for f in e["functions"]
        if (not f.startswith("_") or f in PATCHED_PRIVATE.get(m, set()))
        and not _deliberate(f"{m}:{f}")
    ],
)
def test_functions_accept_pylxd_calls(modname: str, funcname: str) -> None:
    """Module-level functions accept pylxd 2.4.2's call shapes."""
    sig = _signature(_ours(modname, funcname))
    assert sig is not None
    problems = call_shape_problems(
        SURFACE["modules"][modname]["functions"][funcname], sig, funcname
    )
    assert not problems, "\n".join(problems)


def test_client_carries_pylxd_managers() -> None:
    """A connected Client has every manager pylxd 2.4.2's has, of the same class."""
    client = FakeLXD().client()
    for name, manager in SURFACE["client_managers"].items():
        assert type(getattr(client, name)).__name__ == manager, name


def test_deliberate_differences_are_documented() -> None:
    """Every exception of the gate names a section of the compatibility page."""
    page = os.path.join(
        os.path.dirname(__file__), "..", "..", "doc", "source", "compatibility.rst"
    )
    with open(page, encoding="utf-8") as handle:
        text = handle.read()
    assert set(COMPATIBLE_DEFAULTS) == set(COMPATIBLE_DEFAULTS_DOCS)
    for key, anchor in {**DELIBERATE, **COMPATIBLE_DEFAULTS_DOCS}.items():
        label = anchor.split("#", 1)[1]
        assert f".. _{label}:" in text, f"{key}: {anchor} is not on the page"

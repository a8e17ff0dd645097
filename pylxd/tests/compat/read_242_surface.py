"""Read pylxd 2.4.2's public surface from its PyPI release into a data file.

Run it from the repository root when the reference release changes::

    python pylxd/tests/compat/read_242_surface.py [--python /path/to/venv/bin/python]

It makes a throwaway virtualenv, ``pip install pylxd==2.4.2`` into it (or
uses the interpreter given with ``--python``, which must already have that
release), imports every module of the release *inside that venv* and writes
``pylxd-2.4.2-surface.json`` next to this script: modules and the names they
hold, classes with their methods' signatures (as data: parameter names,
kinds and default reprs), model attributes with their readonly/optional
flags, model sub-managers and the managers a ``Client`` carries.

Only facts about the API are recorded, never code. The unit test
``pylxd/tests/test_compat_gate.py`` reads the file; it needs no network.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import venv

RELEASE = "pylxd==2.4.2"
HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "pylxd-2.4.2-surface.json")

# Run by the release's own interpreter: it prints the surface as JSON.
_EXTRACTOR = r'''
import importlib, inspect, json, pkgutil, sys
import requests, requests.adapters
import pylxd
from pylxd.models import _model

def params(func):
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    out = []
    for p in sig.parameters.values():
        out.append({
            "name": p.name,
            "kind": p.kind.name,
            "default": None if p.default is p.empty else repr(p.default),
            "has_default": p.default is not p.empty,
        })
    return out

def member(cls, name):
    raw = inspect.getattr_static(cls, name)
    if isinstance(raw, classmethod):
        return {"kind": "classmethod", "params": params(raw.__func__)}
    if isinstance(raw, staticmethod):
        return {"kind": "staticmethod", "params": params(raw.__func__)}
    if isinstance(raw, property):
        return {"kind": "property"}
    if inspect.isfunction(raw):
        return {"kind": "method", "params": params(raw)}
    if isinstance(raw, type):
        return {"kind": "class"}
    return {"kind": "attribute"}

def describe_class(cls):
    info = {"bases": [b.__name__ for b in cls.__mro__[1:]], "members": {}}
    for name in sorted(set(dir(cls))):
        if name.startswith("__") and name != "__init__":
            continue
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if owner is None or owner.__module__.split(".")[0] != "pylxd":
            continue  # inherited from Exception, Enum, requests, ...
        info["members"][name] = member(cls, name)
    attributes = getattr(cls, "__attributes__", None)
    if isinstance(attributes, dict):
        info["attributes"] = {
            k: {"readonly": bool(a.readonly), "optional": bool(a.optional)}
            for k, a in sorted(attributes.items())
        }
        info["managers"] = sorted(
            k for k, v in vars(cls).items() if isinstance(v, (_model.Manager, _model.Parent))
        )
    if "__init__" not in info["members"] and cls.__init__ is not object.__init__:
        info["init"] = params(cls)
    return info

def kind_of(value):
    if inspect.ismodule(value):
        return {"kind": "module", "module": value.__name__}
    if isinstance(value, type):
        return {"kind": "class", "module": value.__module__}
    if callable(value):
        return {"kind": "function", "module": getattr(value, "__module__", None)}
    return {"kind": "value", "type": type(value).__name__}

modules = {}
names = ["pylxd"] + [
    m.name for m in pkgutil.walk_packages(pylxd.__path__, "pylxd.")
    if ".tests" not in m.name
]
for modname in sorted(names):
    module = importlib.import_module(modname)
    entry = {"names": {}, "classes": {}, "functions": {}}
    for name, value in sorted(vars(module).items()):
        if name.startswith("__") and name != "__version__":
            continue
        entry["names"][name] = kind_of(value)
        if isinstance(value, type) and value.__module__ == modname:
            entry["classes"][name] = describe_class(value)
        elif inspect.isfunction(value) and value.__module__ == modname:
            entry["functions"][name] = params(value)
    modules[modname] = entry

class _Answer(requests.adapters.BaseAdapter):
    """GET /1.0 of a trusted, unclustered server: enough for Client()."""
    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps({"type": "sync", "metadata": {
            "api_extensions": [], "auth": "trusted", "environment": {}}}).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = request.url
        return response
    def close(self):
        pass

session = requests.Session()
session.mount("http://", _Answer())
client = pylxd.Client("http://pylxd-surface.invalid", session=session)
client_managers = {
    k: type(v).__name__ for k, v in sorted(vars(client).items())
    if type(v).__module__ == "pylxd.managers"
}
print(json.dumps({
    "release": pylxd.__version__,
    "python": sys.version.split()[0],
    "modules": modules,
    "client_managers": client_managers,
}, indent=1, sort_keys=True))
'''


def _throwaway_python(workdir: str) -> str:
    env_dir = os.path.join(workdir, "venv")
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = os.path.join(env_dir, "bin", "python")
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            RELEASE,
        ],
        check=True,
    )
    return python


def read_surface(python: str) -> dict:
    """Run the extractor with ``python`` (which has pylxd 2.4.2) and parse its output."""
    result = subprocess.run(
        [python, "-c", _EXTRACTOR],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),  # never import the pylxd of this checkout
        env={**os.environ, "PYTHONPATH": ""},
    )
    return json.loads(result.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="an interpreter that already has pylxd 2.4.2")
    parser.add_argument("--output", default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pylxd-242-") as workdir:
        python = args.python or _throwaway_python(workdir)
        surface = read_surface(python)
    if surface["release"] != RELEASE.split("==")[1]:
        print(f"expected {RELEASE}, found {surface['release']}", file=sys.stderr)
        return 1
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(surface, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print(f"wrote {args.output}: {len(surface['modules'])} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())

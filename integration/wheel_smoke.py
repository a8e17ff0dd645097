"""Smoke test of an installed pylxd wheel (run by ``tox -e package``).

Run with the Python of a fresh virtualenv the wheel was installed into, from
outside the checkout: checks that ``pylxd`` comes from that environment,
ships ``py.typed``, and works against the fake LXD; then, when a local LXD
answers, runs ``examples/quickstart.py`` with it.
"""

from __future__ import annotations

import importlib.resources
import pathlib
import runpy
import sys

import pylxd
from pylxd import exceptions
from pylxd.testing import FakeLXD


def main() -> int:
    if (
        not pylxd.__file__
        or pathlib.Path(sys.prefix) not in pathlib.Path(pylxd.__file__).parents
    ):
        raise SystemExit(f"pylxd imported from {pylxd.__file__}, not {sys.prefix}")
    if not importlib.resources.files("pylxd").joinpath("py.typed").is_file():
        raise SystemExit("the wheel has no pylxd/py.typed")
    client = FakeLXD().client()
    client.profiles.create("web", config={"limits.cpu": "1"})
    names = [profile.name for profile in client.profiles.all()]
    sys.stdout.write(f"pylxd {pylxd.__version__} from the wheel: profiles {names}\n")
    try:
        pylxd.Client()
    except exceptions.ClientConnectionFailed as err:
        sys.stdout.write(f"no local LXD ({err}): quickstart skipped\n")
        return 0
    quickstart = pathlib.Path(__file__).resolve().parent.parent / "examples"
    sys.argv = [str(quickstart / "quickstart.py")]
    runpy.run_path(sys.argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())

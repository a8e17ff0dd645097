"""Fixtures for the cluster tests: the two-member test cluster and spare daemons.

``integration/lxd-env cluster-up`` forms the cluster c1 and c2 of the daemon
under test (``PYLXD_IT_DAEMON``: LXD on 127.0.0.1:8445/8446, ``cluster.json``;
Incus on 127.0.0.1:8452/8453, ``incus-cluster.json``); ``cluster-down`` removes
it at the end of the session. Without it the tests skip, or fail with
``CI=true``. Spare daemons (standalone, in their own ``LXD_DIR`` or
``INCUS_DIR``) are started for the tests that bootstrap and join clusters, and
stopped by their process id.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

from pylxd import Client, exceptions

HERE = Path(__file__).resolve().parent
LXD_ENV = HERE.parent / "lxd-env"
CLUSTER_UP_TIMEOUT = 300  # seconds (packages may need installing)
DAEMON_TIMEOUT = 60


def _integration_conftest() -> ModuleType:
    """integration/conftest.py as a module (its helpers are plain functions)."""
    spec = importlib.util.spec_from_file_location(
        "pylxd_integration_conftest", HERE.parent / "conftest.py"
    )
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {HERE.parent / 'conftest.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_base = _integration_conftest()
unavailable = _base.unavailable
unique_name = _base.unique_name
force_delete_instance = _base.force_delete_instance
#: trust_secret(cluster_env["members"], "c1"): a member's password, on Incus a token
trust_secret = _base.trust_secret
STATE_DIR: Path = _base.STATE_DIR
WAIT: int = _base.WAIT
ON_INCUS: bool = _base.ON_INCUS
DAEMON: str = _base.DAEMON
CLUSTER_JSON = "incus-cluster.json" if ON_INCUS else "cluster.json"


def _lxd_env(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LXD_ENV), command, DAEMON],
        check=True,
        timeout=CLUSTER_UP_TIMEOUT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def cluster_env() -> Iterator[dict[str, Any]]:
    """Form the test cluster for the session; remove it afterwards."""
    try:
        _lxd_env("cluster-up")
    except subprocess.CalledProcessError as err:
        unavailable(f"lxd-env cluster-up failed: {(err.stderr or '').strip()[-800:]}")
    except (OSError, subprocess.TimeoutExpired) as err:
        unavailable(f"lxd-env cluster-up did not run: {err}")
    env = json.loads((STATE_DIR / CLUSTER_JSON).read_text())
    yield env
    _lxd_env("cluster-down")


def _member_client(env: dict[str, Any], name: str) -> Client:
    try:
        return Client(endpoint=env["members"][name]["socket"])
    except exceptions.ClientConnectionFailed as err:
        unavailable(f"cluster member {name}: {err}")
        raise


@pytest.fixture(scope="session")
def c1(cluster_env: dict[str, Any]) -> Client:
    """A client on member c1's Unix socket."""
    return _member_client(cluster_env, "c1")


@pytest.fixture(scope="session")
def c2(cluster_env: dict[str, Any]) -> Client:
    """A client on member c2's Unix socket."""
    return _member_client(cluster_env, "c2")


@pytest.fixture
def make_instance(c1: Client, cluster_env: dict[str, Any]) -> Iterator[Any]:
    """A factory of stopped busybox containers on a member, deleted afterwards."""
    made: list[str] = []

    def make(target: str) -> Any:
        name = unique_name()
        made.append(name)
        config = {
            "name": name,
            "source": {"type": "image", "alias": cluster_env["image_alias"]},
        }
        return c1.instances.create(config, wait=True, target=target)

    yield make
    for name in made:
        force_delete_instance(c1, name)


# -- spare daemons -------------------------------------------------------------
def _incusd() -> str:
    """Debian keeps incusd out of PATH."""
    for path in ("/usr/libexec/incus/incusd", "/usr/lib/incus/incusd"):
        if os.access(path, os.X_OK):
            return path
    return shutil.which("incusd") or "incusd"


#: how a spare daemon is started, and its CLI's admin command
DAEMON_COMMAND = [_incusd()] if ON_INCUS else ["lxd"]
ADMIN_COMMAND = ["incus", "admin"] if ON_INCUS else ["lxd"]
DIR_VARIABLE = "INCUS_DIR" if ON_INCUS else "LXD_DIR"


@dataclass
class SpareDaemon:
    """A standalone LXD or Incus this session started (stopped by its pid)."""

    lxd_dir: Path
    address: str
    process: subprocess.Popen[bytes]

    @property
    def socket(self) -> str:
        return str(self.lxd_dir / "unix.socket")

    def run(self, *args: str) -> None:
        subprocess.run(
            [*ADMIN_COMMAND, *args],
            env={**os.environ, DIR_VARIABLE: str(self.lxd_dir)},
            check=True,
            timeout=DAEMON_TIMEOUT + 10,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )

    def wait_ready(self) -> None:
        """Block until the daemon answers (``lxd waitready``)."""
        self.run("waitready", f"--timeout={DAEMON_TIMEOUT}")

    def client(self) -> Client:
        return Client(endpoint=self.socket)


def _free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def _start_spare() -> SpareDaemon:
    lxd_dir = Path(tempfile.mkdtemp(prefix="pylxd-it-spare-", dir=STATE_DIR))
    process = subprocess.Popen(
        [*DAEMON_COMMAND, "--group", "root", "--logfile", str(lxd_dir / "daemon.log")],
        env={**os.environ, DIR_VARIABLE: str(lxd_dir)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd="/",
    )
    daemon = SpareDaemon(lxd_dir, _free_address(), process)
    try:
        daemon.wait_ready()
    except (OSError, subprocess.SubprocessError):
        _stop_spare(daemon)
        raise
    return daemon


def _stop_spare(daemon: SpareDaemon) -> None:
    """Stop the daemon we started, unmount what it left, delete its dir."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        daemon.run("shutdown", f"--timeout={DAEMON_TIMEOUT}")
    try:
        daemon.process.wait(timeout=DAEMON_TIMEOUT)
    except subprocess.TimeoutExpired:
        daemon.process.kill()  # our own child, by its pid
        daemon.process.wait(timeout=DAEMON_TIMEOUT)
    for mount in _mounts_under(daemon.lxd_dir):
        subprocess.run(["umount", "-l", mount], check=False, timeout=30)
    shutil.rmtree(daemon.lxd_dir, ignore_errors=True)


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path)
    with open("/proc/self/mountinfo") as info:
        points = [line.split()[4] for line in info]
    inside = [p for p in points if p == prefix or p.startswith(prefix + "/")]
    return sorted(inside, reverse=True)


@pytest.fixture
def spare_daemons(cluster_env: dict[str, Any]) -> Iterator[list[SpareDaemon]]:
    """Two fresh standalone daemons, stopped and removed after the test."""
    started: list[SpareDaemon] = []
    try:
        for _ in range(2):
            started.append(_start_spare())
        yield started
    finally:
        for daemon in reversed(started):
            _stop_spare(daemon)

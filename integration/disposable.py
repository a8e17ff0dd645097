"""A throwaway LXD daemon that fault tests may kill, freeze or restart.

The shared daemons of ``integration/lxd-env`` serve every other test; a test
that kills its daemon mid-transfer must not take them down. ``Disposable``
starts its own ``lxd`` (own ``LXD_DIR`` under the state dir, HTTPS on a free
loopback port, a ``dir`` pool, the busybox image) in a few seconds, and
removes all of it afterwards. Only the process it started is ever signalled.
``kind="incus"`` makes it an ``incusd`` (own ``INCUS_DIR``) instead: Incus has
no trust password, so its clients get trusted with :meth:`Disposable.token`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

START_TIMEOUT = 120  # seconds for lxd to answer on its socket

#: How each daemon kind is run: its binary, its dir and client-config
#: variables, its CLI, and how the CLI waits for it and shuts it down.
KINDS: dict[str, dict[str, Any]] = {
    "lxd": {
        "daemon": ["lxd"],
        "dir_var": "LXD_DIR",
        "conf_var": "LXD_CONF",
        "cli": "lxc",
        "waitready": ["lxd", "waitready"],
        "shutdown": ["lxd", "shutdown"],
    },
    "incus": {
        "daemon": ["/usr/libexec/incus/incusd"],
        "dir_var": "INCUS_DIR",
        "conf_var": "INCUS_CONF",
        "cli": "incus",
        "waitready": ["incus", "admin", "waitready"],
        "shutdown": ["incus", "admin", "shutdown"],
    },
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Disposable:
    """One ``lxd`` (or ``incusd``) process of ours: its socket, HTTPS URL and signals."""

    def __init__(self, state_dir: Path, image_tarball: str, kind: str = "lxd") -> None:
        self.kind = kind
        self._kind = KINDS[kind]
        state_dir.mkdir(parents=True, exist_ok=True)
        self.lxd_dir = Path(tempfile.mkdtemp(prefix="disposable-", dir=state_dir))
        self.lxd_dir.chmod(0o755)
        self.socket = str(self.lxd_dir / "unix.socket")
        self.address = f"127.0.0.1:{_free_port()}"
        self.https = f"https://{self.address}"
        self.server_cert = str(self.lxd_dir / "server.crt")
        self.log = self.lxd_dir.parent / f"{self.lxd_dir.name}.log"
        self._image_tarball = image_tarball
        self._conf = tempfile.mkdtemp(prefix="lxc-conf-", dir=state_dir)
        self.process: subprocess.Popen[bytes] | None = None

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        """Start the daemon (again) and wait until it answers."""
        env = {**os.environ, self._kind["dir_var"]: str(self.lxd_dir)}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [*self._kind["daemon"], "--group", "root", "--logfile", str(self.log)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
                cwd="/",
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            ready = subprocess.run(
                [*self._kind["waitready"], "--timeout=3"],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited during startup, see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} not ready after {START_TIMEOUT} s")

    def setup(self) -> None:
        """First start: HTTPS, a dir pool, a root disk, the busybox image."""
        self.start()
        self.lxc("config", "set", "core.https_address", self.address)
        if self.kind == "lxd":  # Incus trusts by token only (see token())
            self.lxc("config", "set", "core.trust_password", "disposable")
        self.lxc("storage", "create", "default", "dir")
        self.lxc(
            "profile",
            "device",
            "add",
            "default",
            "root",
            "disk",
            "path=/",
            "pool=default",
        )
        self.lxc("image", "import", self._image_tarball, "--alias", "busybox")

    def lxc(self, *args: str) -> str:
        """Run ``lxc`` (``incus`` for an Incus daemon) against it; its stdout."""
        env = {
            **os.environ,
            self._kind["dir_var"]: str(self.lxd_dir),
            self._kind["conf_var"]: self._conf,
        }
        done = subprocess.run(
            [self._kind["cli"], "--force-local", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(
                f"{self._kind['cli']} {' '.join(args)}: {done.stderr.strip()}"
            )
        return done.stdout

    def token(self, name: str = "disposable") -> str:
        """A new single-use trust token (the way to trust a client on Incus)."""
        # lxc 5.0 takes the name as --name, incus as an argument
        named = ["--name", name] if self.kind == "lxd" else [name]
        out = self.lxc("config", "trust", "add", *named)
        return out.strip().splitlines()[-1]

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the daemon (what a crash looks like) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP: the daemon holds its sockets open but answers nothing."""
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def restart(self) -> None:
        """Kill and start again (a package upgrade, as clients see it)."""
        self.kill()
        self.start()

    def stop(self) -> None:
        """Stop the daemon and delete everything it had."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGCONT)
            env = {**os.environ, self._kind["dir_var"]: str(self.lxd_dir)}
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(
                    [*self._kind["shutdown"], "--timeout=30"],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=40,
                )
            self.kill()
        _remove_tree(self.lxd_dir)
        shutil.rmtree(self._conf, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            self.log.unlink()


def _remove_tree(path: Path) -> None:
    """Unmount whatever LXD left mounted below ``path``, then delete it."""
    mounts = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            point = line.split()[4]
            if point == str(path) or point.startswith(f"{path}/"):
                mounts.append(point)
    for point in sorted(mounts, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def disposable_daemon(
    lxd_env: dict[str, Any], state_dir: Path, kind: str = "lxd"
) -> Iterator[Disposable]:
    """A set-up :class:`Disposable`, stopped and removed afterwards."""
    daemon = Disposable(state_dir, lxd_env["image_tarball"], kind)
    try:
        daemon.setup()
        yield daemon
    finally:
        daemon.stop()

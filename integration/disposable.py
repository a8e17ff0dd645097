"""A throwaway LXD daemon that fault tests may kill, freeze or restart.

The shared daemons of ``integration/lxd-env`` serve every other test; a test
that kills its daemon mid-transfer must not take them down. ``Disposable``
starts its own ``lxd`` (own ``LXD_DIR`` under the state dir, HTTPS on a free
loopback port, a ``dir`` pool, the busybox image) in a few seconds, and
removes all of it afterwards. Only the process it started is ever signalled.
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Disposable:
    """One ``lxd`` process of ours: its socket, HTTPS URL and signals."""

    def __init__(self, state_dir: Path, image_tarball: str) -> None:
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
        env = {**os.environ, "LXD_DIR": str(self.lxd_dir)}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                ["lxd", "--group", "root", "--logfile", str(self.log)],
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
                ["lxd", "waitready", "--timeout=3"],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"lxd exited during startup, see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"lxd not ready after {START_TIMEOUT} s")

    def setup(self) -> None:
        """First start: HTTPS, a dir pool, a root disk, the busybox image."""
        self.start()
        self.lxc("config", "set", "core.https_address", self.address)
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
        """Run ``lxc`` against this daemon; its stdout."""
        env = {**os.environ, "LXD_DIR": str(self.lxd_dir), "LXD_CONF": self._conf}
        done = subprocess.run(
            ["lxc", "--force-local", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(f"lxc {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

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
            env = {**os.environ, "LXD_DIR": str(self.lxd_dir)}
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(
                    ["lxd", "shutdown", "--timeout=30"],
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
def disposable_daemon(lxd_env: dict[str, Any], state_dir: Path) -> Iterator[Disposable]:
    """A set-up :class:`Disposable`, stopped and removed afterwards."""
    daemon = Disposable(state_dir, lxd_env["image_tarball"])
    try:
        daemon.setup()
        yield daemon
    finally:
        daemon.stop()

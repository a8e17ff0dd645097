"""Transfers when the daemon dies or freezes midway (a disposable daemon).

For a 200 MB ``files.put``, ``files.get_to`` (to a path), ``Image.export_to``
and a ``wait=True``-style operation wait, the daemon is killed (SIGKILL) or
frozen (SIGSTOP, the client has ``timeout=5``) while the call runs. Each case
asserts the pylxd exception, that it came within a generous bound, that no
partial local file is left, and that the client leaked no sockets or threads
once dropped. The daemon is restarted between cases (containers come back).
"""

from __future__ import annotations

import gc
import io
import os
import tarfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from integration.conftest import force_delete_instance, unique_name
from pylxd import Client, exceptions

pytestmark = pytest.mark.integration

MiB = 1 << 20
SIZE = 200 * 1000 * 1000
CUT_AT = 32 * MiB  # bytes moved before the fault
CLIENT_TIMEOUT = 5
BOUND = 60  # seconds: a generous bound on the time to fail


class _Daemon:
    """The disposable daemon with what the cases need on it."""

    def __init__(self, disposable: Any, tmp: Path) -> None:
        self.d = disposable
        self.tmp = tmp
        self.name = unique_name("pylxd-it-faults")
        self.fingerprint = ""

    def client(self) -> Client:
        return Client(endpoint=self.d.socket, timeout=CLIENT_TIMEOUT)

    def revive(self) -> None:
        """Thaw (if frozen) and restart the daemon, then wait for the container."""
        try:
            self.d.thaw()
        except (ProcessLookupError, AssertionError):
            pass
        self.d.restart()


def _open_fds() -> dict[str, str]:
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the descriptor listdir itself used
            pass
    return fds


def _forget_frames(error: BaseException | None) -> None:
    """Drop the tracebacks of an error chain: their frames hold the response."""
    while error is not None:
        error.__traceback__ = None
        error = error.__cause__ or error.__context__


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


@pytest.fixture(scope="module")
def daemon(
    disposable: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_Daemon]:
    daemon = _Daemon(disposable, tmp_path_factory.mktemp("faults"))
    client = daemon.client()
    instance = client.instances.create(
        {"name": daemon.name, "source": {"type": "image", "alias": "busybox"}},
        wait=True,
    )
    big = daemon.tmp / "big"
    with open(big, "wb") as out:
        out.truncate(SIZE)
    with open(big, "rb") as source:
        instance.files.put("/big", source)
    daemon.fingerprint = _big_image(client, daemon.tmp)
    yield daemon
    daemon.revive()
    client = daemon.client()
    force_delete_instance(client, daemon.name)
    client.images.get(daemon.fingerprint).delete(wait=True)


def _big_image(client: Client, tmp: Path) -> str:
    """A 200 MB unified image (uncompressed tar: quick to build)."""
    path = tmp / "image.tar"
    metadata = b"architecture: x86_64\ncreation_date: 1700000000\nproperties: {}\n"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("metadata.yaml")
        info.size = len(metadata)
        tar.addfile(info, io.BytesIO(metadata))
        info = tarfile.TarInfo("rootfs/filler")
        info.size = SIZE
        with open(tmp / "big", "rb") as filler:
            tar.addfile(info, filler)
    with open(path, "rb") as data:
        image = client.images.create(data, wait=True)
    path.unlink()
    return str(image.fingerprint)


def _fault_after(
    daemon: _Daemon, fault: str, at: int = CUT_AT
) -> Callable[[int, int | None], None]:
    """A progress callback that kills or freezes the daemon once ``at`` bytes moved."""
    fired = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done >= at and not fired.is_set():
            fired.set()
            daemon.d.kill() if fault == "kill" else daemon.d.freeze()

    return progress


def _run_case(
    daemon: _Daemon, call: Callable[[Client], Any]
) -> tuple[BaseException, float]:
    """Run ``call`` on a fresh client; return its exception and time to fail."""
    gc.collect()
    fds, threads = _open_fds(), _threads()
    client = daemon.client()
    started = time.monotonic()
    try:
        with pytest.raises(exceptions.ClientConnectionFailed) as err:
            call(client)
        elapsed = time.monotonic() - started
    finally:
        del client
        daemon.revive()
    error = err.value
    _forget_frames(error)
    del err
    gc.collect()
    leaked = {fd: target for fd, target in _open_fds().items() if fd not in fds}
    assert leaked == {}, "sockets or files leaked"
    assert _threads() <= threads, f"threads leaked: {_threads() - threads}"
    return error, elapsed


FAULTS = ["kill", "freeze"]


@pytest.mark.parametrize("fault", FAULTS)
def test_put_of_200_mb_fails_with_a_pylxd_error(daemon: _Daemon, fault: str) -> None:
    def call(client: Client) -> None:
        files = client.instances.get(daemon.name).files
        with open(daemon.tmp / "big", "rb") as source:
            files.put("/upload", source, progress=_fault_after(daemon, fault))

    error, elapsed = _run_case(daemon, call)
    assert elapsed < BOUND
    assert isinstance(error, exceptions.TransferIncomplete)
    assert error.expected == SIZE and error.received < SIZE
    assert "LXD keeps what it received" in str(error)


@pytest.mark.parametrize("fault", FAULTS)
def test_get_to_a_path_fails_and_leaves_no_file(daemon: _Daemon, fault: str) -> None:
    out = daemon.tmp / "out"
    out.mkdir(exist_ok=True)
    (out / "existing").write_bytes(b"kept")

    def call(client: Client) -> None:
        files = client.instances.get(daemon.name).files
        files.get_to(
            "/big", str(out / "existing"), progress=_fault_after(daemon, fault)
        )

    error, elapsed = _run_case(daemon, call)
    assert elapsed < BOUND
    assert isinstance(error, exceptions.TransferIncomplete)
    assert error.expected == SIZE and CUT_AT <= error.received < SIZE
    assert os.listdir(out) == ["existing"]
    assert (out / "existing").read_bytes() == b"kept"


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("verify", [True, False])
def test_image_export_to_fails_with_the_byte_counts(
    daemon: _Daemon, fault: str, verify: bool
) -> None:
    sink = open(os.devnull, "wb")

    def call(client: Client) -> None:
        image = client.images.get(daemon.fingerprint)
        image.export_to(sink, progress=_fault_after(daemon, fault), verify=verify)

    try:
        error, elapsed = _run_case(daemon, call)
    finally:
        sink.close()
    assert elapsed < BOUND
    assert isinstance(error, exceptions.TransferIncomplete)
    assert error.expected is not None and error.received < error.expected


@pytest.mark.parametrize("fault", FAULTS)
def test_an_operation_wait_fails_with_a_pylxd_error(
    daemon: _Daemon, fault: str
) -> None:
    def call(client: Client) -> None:
        instance = client.instances.get(daemon.name)
        if instance.status != "Running":
            instance.start(wait=True)
        response = instance.api.exec.post(
            json={
                "command": ["sleep", "120"],
                "wait-for-websocket": False,
                "interactive": False,
            }
        )
        operation = client.operations.get(response.json()["operation"])
        timer = threading.Timer(
            1.0, daemon.d.kill if fault == "kill" else daemon.d.freeze
        )
        timer.start()
        try:
            # A frozen daemon never answers: the wait's own timeout bounds it.
            operation.wait(timeout=None if fault == "kill" else 10)
        finally:
            timer.join()

    error, elapsed = _run_case(daemon, call)
    assert elapsed < BOUND
    assert isinstance(error, exceptions.ClientConnectionFailed)

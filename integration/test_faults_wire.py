"""Faults on the wire: a throwaway daemon killed or frozen mid-call.

Streaming exec (``execute_stream``), ``events_iter`` and a long ``execute``
against the ``disposable`` daemon (the shared ones are never touched). Each
test asserts the outcome (a pylxd exception, or the stream's end), that it
came within a generous bound, and that no thread or socket was left behind.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from typing import Any, Callable, Iterator

import pytest

from integration.conftest import unique_name
from pylxd import Client, EventType, exceptions
from pylxd.tests.hostile import wait_until

#: Seconds a failing call may take on top of what the client allows (2 cores
#: shared by many: generous, far below the minutes the bugs held calls).
SLACK = 15.0
LOOP = ["sh", "-c", "while true; do echo tick; sleep 0.1; done"]


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _leaves_nothing(threads: int, fds: int) -> None:
    gc.collect()  # the clients the test dropped (their idle HTTP connections)
    assert wait_until(lambda: threading.active_count() <= threads, 20), (
        threading.active_count(),
        threads,
    )
    assert wait_until(lambda: _fds() <= fds, 20), (_fds(), fds)


@pytest.fixture
def daemon(disposable: Any) -> Iterator[Any]:
    """The disposable daemon, running and thawed before and after the test."""
    _revive(disposable)
    yield disposable
    _revive(disposable)


def _revive(disposable: Any) -> None:
    process = disposable.process
    if process is None or process.poll() is not None:
        disposable.start()
    else:
        disposable.thaw()


@pytest.fixture
def box(daemon: Any) -> Iterator[Any]:
    """A running busybox container on the disposable daemon."""
    client = Client(endpoint=daemon.socket, timeout=30)
    name = unique_name("wire-fault")
    box = client.instances.create(
        {"name": name, "source": {"type": "image", "alias": "busybox"}}, wait=True
    )
    box.start(wait=True)
    yield box
    _revive(daemon)
    again = Client(endpoint=daemon.socket, timeout=30)
    try:
        again.instances.get(name).stop(force=True, wait=True)
    except exceptions.LXDAPIException:
        pass
    again.instances.get(name).delete(wait=True)


def _baseline() -> tuple[int, int]:
    return threading.active_count(), _fds()


def test_execute_stream_ends_when_the_daemon_is_killed(daemon: Any, box: Any) -> None:
    threads, fds = _baseline()
    stream = box.execute_stream(LOOP)
    assert next(stream)[0] == "stdout"
    started = time.monotonic()
    daemon.kill()
    with pytest.raises(exceptions.ClientConnectionFailed):
        for _ in stream:
            pass  # the output ends with the daemon ...
        stream.wait(timeout=10)  # ... and the exit code cannot be had
    assert time.monotonic() - started < SLACK
    stream.close()
    _leaves_nothing(threads, fds)


def test_execute_stream_wait_is_bounded_when_the_daemon_freezes(
    daemon: Any, box: Any
) -> None:
    threads, fds = _baseline()
    with box.execute_stream(LOOP) as stream:
        assert next(stream)[0] == "stdout"
        daemon.freeze()
        started = time.monotonic()
        with pytest.raises(exceptions.ClientConnectionFailed) as info:
            stream.wait(timeout=2)
        assert time.monotonic() - started < 2 + SLACK
        assert isinstance(info.value, TimeoutError) or "within" in str(info.value)
        daemon.thaw()
    _leaves_nothing(threads, fds)


def test_events_iter_ends_when_the_daemon_is_killed(daemon: Any) -> None:
    threads, fds = _baseline()
    client = Client(endpoint=daemon.socket, timeout=10)
    events = client.events_iter(timeout=60)
    started = time.monotonic()
    daemon.kill()
    for _ in events:  # what came before the end, then the end
        pass
    assert time.monotonic() - started < SLACK
    assert events.timed_out is False
    assert "closed" in repr(events)
    del client
    _leaves_nothing(threads, fds)


def test_events_iter_times_out_when_the_daemon_freezes(daemon: Any) -> None:
    threads, fds = _baseline()
    client = Client(endpoint=daemon.socket, timeout=10)
    with client.events_iter([EventType.Lifecycle], timeout=2) as events:
        daemon.freeze()
        started = time.monotonic()
        assert list(events) == []
        assert time.monotonic() - started < 2 + SLACK
        assert events.timed_out is True
    daemon.thaw()
    del client
    _leaves_nothing(threads, fds)


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as err:  # noqa: BLE001 (asserted by the test)
            outcome["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_long_execute_fails_when_the_daemon_is_killed(daemon: Any, box: Any) -> None:
    threads, fds = _baseline()
    thread, outcome = _in_thread(lambda: box.execute(["sleep", "60"]))
    time.sleep(2)  # the command is running, execute() waits for it
    started = time.monotonic()
    daemon.kill()
    thread.join(SLACK)
    assert not thread.is_alive(), "execute() still waiting after the daemon died"
    assert time.monotonic() - started < SLACK
    assert isinstance(outcome.get("error"), exceptions.ClientConnectionFailed), outcome
    del thread
    _leaves_nothing(threads, fds)


def test_a_long_execute_with_timeout_fails_when_the_daemon_freezes(
    daemon: Any, box: Any
) -> None:
    threads, fds = _baseline()
    client = Client(endpoint=daemon.socket, timeout=3)
    quick = client.instances.get(box.name)
    thread, outcome = _in_thread(lambda: quick.execute(["sleep", "60"], timeout=2))
    time.sleep(1)
    started = time.monotonic()
    daemon.freeze()
    thread.join(2 + 3 + SLACK)
    assert not thread.is_alive(), "execute(timeout=2) still waiting on a frozen daemon"
    assert time.monotonic() - started < 2 + 3 + SLACK
    assert isinstance(outcome.get("error"), exceptions.ClientConnectionFailed), outcome
    daemon.thaw()
    del thread, client
    _leaves_nothing(threads, fds)


def test_https_answers_are_capped_and_streams_are_not(lxd_env: Any) -> None:
    from integration.conftest import https_client_for

    with pytest.raises(exceptions.ClientConnectionFailed) as info:
        https_client_for(lxd_env, "main", max_response_size=1000)
    assert isinstance(info.value.__cause__, exceptions.ResponseTooLarge)
    assert "1000-byte limit" in str(info.value)
    https = https_client_for(lxd_env, "main", timeout=30, max_response_size=64 * 1024)
    image = https.images.get_by_alias(lxd_env["image_alias"])
    exported = image.export()
    assert len(exported.read()) > 64 * 1024  # a download is not capped


def _running(box: Any, program: bytes) -> bool:
    script = "for f in /proc/[0-9]*/cmdline; do cat $f; echo; done"
    out = box.execute(["sh", "-c", script], decode=False).stdout
    return any(line.startswith(program) for line in out.split(b"\n"))


def test_exec_streams_dropped_without_close_end_their_commands(box: Any) -> None:
    threads, fds = _baseline()
    for _ in range(5):
        stream = box.execute_stream(["yes"])  # fills its queue, then blocks
        next(stream)
        del stream
    gc.collect()
    _leaves_nothing(threads, fds)
    assert wait_until(lambda: not _running(box, b"yes"), 20), "yes is still running"

"""Bad exec and events arguments on the real daemon: refused before LXD sees them.

And ``execute(timeout=1, timeout_signal="KILL")`` really signals the command:
``sleep 30`` ends within a few seconds and is gone from the container.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from pylxd import exceptions


def _execs_on(client: Any, name: str) -> list[Any]:
    """LXD's exec operations (running or just finished) on instance ``name``."""
    found = []
    for operation in client.operations.all():
        if "Executing" not in (operation.description or ""):
            continue
        resources = operation.resources or {}
        urls = [url for urls in resources.values() for url in urls or ()]
        if any(url.rstrip("/").endswith(f"/instances/{name}") for url in urls):
            found.append(operation)
    return found


BAD = [
    ({"timeout": "5"}, exceptions.InvalidArgumentType),
    ({"timeout": math.nan}, exceptions.InvalidArgument),
    ({"timeout": math.inf}, exceptions.InvalidArgument),
    ({"timeout": -1}, exceptions.InvalidArgument),
    ({"encoding": "nope"}, exceptions.InvalidArgument),
    ({"stdin_encoding": "nope"}, exceptions.InvalidArgument),
    ({"timeout": 1, "timeout_signal": "NOPE"}, exceptions.InvalidArgument),
    ({"environment": {"A": 1}}, exceptions.InvalidArgumentType),
    ({"cwd": 5}, exceptions.InvalidArgumentType),
    ({"user": 2**32 + 5}, exceptions.InvalidArgument),
    ({"group": "root"}, exceptions.InvalidArgumentType),
]


@pytest.mark.parametrize(
    "kwargs, exc",
    BAD,
    ids=[",".join(f"{k}={v!r}" for k, v in b[0].items()) for b in BAD],
)
def test_bad_exec_arguments_start_nothing(
    running_container: Any, kwargs: dict[str, Any], exc: type[BaseException]
) -> None:
    with pytest.raises(exc) as info:
        running_container.execute(["true"], **kwargs)
    assert isinstance(info.value, exceptions.LXDAPIException)
    assert _execs_on(running_container.client, running_container.name) == []


def test_bad_commands_start_nothing(running_container: Any) -> None:
    for commands in ("ls -l", [], ["ls", 1]):
        with pytest.raises(exceptions.LXDAPIException):
            running_container.execute(commands)
    assert _execs_on(running_container.client, running_container.name) == []


@pytest.mark.parametrize("timeout", [-1, math.nan, "5"])
def test_events_iter_bad_timeout_is_refused_at_the_call(
    client: Any, timeout: Any
) -> None:
    with pytest.raises((exceptions.InvalidArgument, exceptions.InvalidArgumentType)):
        client.events_iter(timeout=timeout)


def _sleepers(box: Any) -> bytes:
    """The command lines of every process in ``box`` that runs ``sleep``."""
    script = "for f in /proc/[0-9]*/cmdline; do cat $f; echo; done"
    out = box.execute(["sh", "-c", script], decode=False).stdout
    return b"\n".join(line for line in out.split(b"\n") if line.startswith(b"sleep"))


@pytest.mark.parametrize("signal_name", ["KILL", "SIGTERM"])
def test_timeout_signal_is_sent_and_the_command_is_gone(
    running_container: Any, signal_name: str
) -> None:
    started = time.monotonic()
    with pytest.raises(exceptions.ExecTimeout) as info:
        running_container.execute(
            ["sleep", "30"], timeout=1, timeout_signal=signal_name
        )
    took = time.monotonic() - started
    assert took < 10, f"ExecTimeout after {took:.1f} s"
    assert "it was sent signal" in str(info.value)
    assert info.value.timeout == 1
    deadline = time.monotonic() + 10
    while _sleepers(running_container) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _sleepers(running_container) == b""


def test_the_exec_operation_check_sees_a_real_exec(running_container: Any) -> None:
    # The counterpart of the tests above: a good call does show up.
    assert running_container.execute(["true"]).exit_code == 0
    assert _execs_on(running_container.client, running_container.name) != []

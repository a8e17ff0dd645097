"""The console of a container against the real LXD, over the Unix socket and HTTPS."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any, Iterator

import pytest

from integration.conftest import busybox_container
from pylxd import Client


@pytest.fixture(scope="module")
def console_container(client: Client, image_alias: str) -> Iterator[str]:
    """A running busybox container whose console runs a shell (deleted after)."""
    with busybox_container(client, image_alias, "pylxd-it-console", start=True) as name:
        yield name


@pytest.fixture(params=["unix", "https"])
def instance(
    request: pytest.FixtureRequest,
    console_container: str,
    client: Client,
    https_client: Client,
) -> Any:
    chosen = client if request.param == "unix" else https_client
    return chosen.instances.get(console_container)


def _run_in_console(console: Any, marker: str) -> bytes:
    """Type a command until its output shows: LXD drops what is written before
    it has attached the console, and ash may be waiting for a reply to ESC[6n."""
    for _ in range(20):
        console.write(f"\x1b[1;1R\necho {marker}-$((6*7))\n")
        with contextlib.suppress(TimeoutError):
            return console.read_until(f"{marker}-42", timeout=1)  # type: ignore[no-any-return]
    raise AssertionError(f"the console never ran the command for {marker}")


def test_console_session_log_and_clear(instance: Any) -> None:
    marker = f"console-{uuid.uuid4().hex[:8]}"
    with instance.interactive_console(width=100, height=30) as console:
        assert f"{marker}-42".encode() in _run_in_console(console, marker)
        console.resize(120, 40)
        assert console.wait(timeout=30) is None  # detaches; a console has no exit code
    log = instance.console_log()
    assert isinstance(log, str) and f"{marker}-42" in log
    instance.clear_console_log()
    assert f"{marker}-42" not in instance.console_log()


def test_console_can_be_attached_again_after_detaching(instance: Any) -> None:
    for attach in range(2):
        try:
            console = instance.interactive_console()
            _run_in_console(console, f"again-{uuid.uuid4().hex[:6]}")
        except (
            Exception
        ) as err:  # once in CI (Incus) the container had stopped: say how
            raise AssertionError(
                f"attach {attach + 1}: {_what_became_of(instance)}"
            ) from err
        console.close()
        assert console.wait(timeout=30) is None


def _what_became_of(instance: Any) -> str:
    """The container's status and the end of its console log, for a failure."""
    try:
        instance.sync()
        log = instance.console_log()
    except Exception as err:  # the diagnosis must not hide the failure
        return f"(could not read the container: {err})"
    return f"status {instance.status!r}, console log ends with {log[-500:]!r}"

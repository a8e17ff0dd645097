"""Fixtures for the integration tests: a real LXD daemon set up by ``integration/lxd-env``.

Without a daemon the tests skip with the reason; with ``CI=true`` (or
``PYLXD_REQUIRE_LXD=1``) they fail instead, so CI cannot go green by skipping.
Every object a test creates has a unique name and is deleted by its fixture.

``PYLXD_IT_DAEMON=incus`` runs the same tests against the Incus 6.0 daemons
``lxd-env`` starts beside LXD (default: ``lxd``). The fixtures then hand out
the Incus daemons under the same keys (``lxd_env["main"]``, ``["second"]``,
``["bridge"]``), so a test is written once; Incus has no trust password
(``trust_password`` is ``None`` there), clients are trusted with a token
(:func:`trust_secret`). A test skips on one daemon only where that daemon
lacks the feature: :func:`skip_on_incus` / :func:`skip_on_lxd`, with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from pylxd import Client, exceptions

STATE_DIR = Path(os.environ.get("PYLXD_IT_STATE", "/var/lib/pylxd-it"))
REQUIRE_LXD = (
    os.environ.get("CI") == "true" or os.environ.get("PYLXD_REQUIRE_LXD") == "1"
)
WAIT = 120  # seconds any operation in a test may take at most
#: Which daemon kind the suite runs against: "lxd" (default) or "incus".
DAEMON = os.environ.get("PYLXD_IT_DAEMON", "lxd")
if DAEMON not in ("lxd", "incus"):
    raise pytest.UsageError(f"PYLXD_IT_DAEMON must be lxd or incus, not {DAEMON!r}")
ON_INCUS = DAEMON == "incus"


def skip_on_incus(reason: str) -> pytest.MarkDecorator:
    """Skip a test on Incus only, because Incus lacks what it tests (``reason``)."""
    return pytest.mark.skipif(ON_INCUS, reason=f"not on Incus: {reason}")


def skip_on_lxd(reason: str) -> pytest.MarkDecorator:
    """Skip a test on LXD 5.0 only, because LXD lacks what it tests (``reason``)."""
    return pytest.mark.skipif(not ON_INCUS, reason=f"not on LXD 5.0.2: {reason}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration)


def unavailable(reason: str) -> None:
    """Skip (locally) or fail (in CI) because the daemon is not there."""
    if REQUIRE_LXD:
        pytest.fail(
            f"LXD is required here (CI=true) but unavailable: {reason}", pytrace=False
        )
    pytest.skip(f"LXD not available: {reason} (run: sudo integration/lxd-env setup)")


def unique_name(prefix: str = "pylxd-it") -> str:
    """A name no other test or user object has."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _incus_daemon(info: dict[str, Any]) -> dict[str, Any]:
    """An Incus entry of env.json in the shape of an LXD one (no password)."""
    return {**info, "lxd_dir": info["incus_dir"], "trust_password": None}


def select_daemon(env: dict[str, Any], daemon: str) -> dict[str, Any]:
    """``env`` with ``main``/``second``/``bridge`` naming ``daemon``'s daemons.

    The LXD entries stay reachable as ``env["lxd"]`` either way; ``daemon``
    tells the tests which kind they run against.
    """
    lxd = {"main": env["main"], "second": env["second"], "bridge": env["bridge"]}
    if daemon == "lxd":
        return {**env, "daemon": "lxd", "lxd": lxd}
    if "incus" not in env or "incus_second" not in env:
        unavailable(
            "env.json has no Incus daemons (lxd-env ran with PYLXD_IT_INCUS=0?)"
        )
    return {
        **env,
        "daemon": "incus",
        "lxd": lxd,
        "main": _incus_daemon(env["incus"]),
        "second": _incus_daemon(env["incus_second"]),
        "bridge": env["incus"]["bridge"],
    }


@pytest.fixture(scope="session")
def lxd_env() -> dict[str, Any]:
    """What ``integration/lxd-env setup`` wrote: sockets, URLs, secrets, image.

    For the daemon kind under test (``PYLXD_IT_DAEMON``): see :func:`select_daemon`.
    """
    path = STATE_DIR / "env.json"
    if not path.exists():
        unavailable(f"{path} is missing")
    return select_daemon(json.loads(path.read_text()), DAEMON)


def new_token(lxd_env: dict[str, Any], daemon: str = "main") -> str:
    """A fresh single-use trust token of ``daemon``, asked for on its Unix socket."""
    local = Client(endpoint=lxd_env[daemon]["socket"])
    return local.certificates.create_token(unique_name("pylxd-it-token"))


def trust_secret(lxd_env: dict[str, Any], daemon: str = "main") -> str:
    """What makes ``daemon`` trust a client: its trust password, or on Incus a token."""
    return lxd_env[daemon]["trust_password"] or new_token(lxd_env, daemon)


@pytest.fixture(scope="session")
def client(lxd_env: dict[str, Any]) -> Client:
    """A client on the main daemon's Unix socket (default socket discovery)."""
    try:
        return Client(endpoint=lxd_env["main"]["socket"])
    except exceptions.ClientConnectionFailed as err:
        unavailable(str(err))
        raise


@pytest.fixture(scope="session")
def second_client(lxd_env: dict[str, Any]) -> Client:
    """A client on the second daemon's Unix socket."""
    try:
        return Client(endpoint=lxd_env["second"]["socket"])
    except exceptions.ClientConnectionFailed as err:
        unavailable(f"second daemon: {err}")
        raise


def https_client_for(
    lxd_env: dict[str, Any], daemon: str = "main", **kwargs: Any
) -> Client:
    """A trusted HTTPS client on ``daemon``, verifying its pinned certificate."""
    info = lxd_env[daemon]
    cert = (lxd_env["client_cert"], lxd_env["client_key"])
    https = Client(
        endpoint=info["https"], cert=cert, verify=info["server_cert"], **kwargs
    )
    if not https.trusted:
        https.authenticate(trust_secret(lxd_env, daemon))
    return https


@pytest.fixture(scope="session")
def https_client(lxd_env: dict[str, Any], client: Client) -> Client:
    """A trusted client on the main daemon over HTTPS (127.0.0.1:8443)."""
    return https_client_for(lxd_env, "main")


@pytest.fixture(scope="session")
def second_https_client(lxd_env: dict[str, Any], second_client: Client) -> Client:
    """A trusted client on the second daemon over HTTPS (127.0.0.1:8444)."""
    return https_client_for(lxd_env, "second")


@pytest.fixture(scope="session")
def image_alias(lxd_env: dict[str, Any]) -> str:
    return str(lxd_env["image_alias"])


def delete_quietly(obj: Any, **kwargs: Any) -> None:
    """Delete what a test created, ignoring that it may be gone already."""
    with contextlib.suppress(exceptions.NotFound):
        obj.delete(**kwargs)


def force_delete_instance(client: Client, name: str) -> None:
    """Stop (forcefully) and delete instance ``name`` if it exists."""
    api = client.api.instances[name]
    with contextlib.suppress(exceptions.NotFound):
        for attempt in range(3):
            state = api.get().json()["metadata"]
            if state["status"] != "Stopped":
                response = api.state.put(
                    json={"action": "stop", "force": True, "timeout": 30}
                )
                client.operations.wait_for_operation(
                    response.json()["operation"], timeout=WAIT
                )
            try:
                response = api.delete()
            except exceptions.LXDAPIException as err:
                # Incus may show "Stopped" while a failed start still winds down
                if "is running" not in str(err) or attempt == 2:
                    raise
                continue
            client.operations.wait_for_operation(
                response.json()["operation"], timeout=WAIT
            )
            return


@contextlib.contextmanager
def busybox_container(
    client: Client, image_alias: str, prefix: str, *, start: bool = False
) -> Iterator[str]:
    """A new busybox container (running if ``start``); its name.

    Made with the raw API, so a module's shared fixture does not depend on
    the pylxd code it tests; force-deleted afterwards, even on failure.
    """
    name = unique_name(prefix)
    try:
        source = {"type": "image", "alias": image_alias}
        response = client.api.instances.post(json={"name": name, "source": source})
        client.operations.wait_for_operation(response.json()["operation"], timeout=WAIT)
        if start:
            response = client.api.instances[name].state.put(json={"action": "start"})
            client.operations.wait_for_operation(
                response.json()["operation"], timeout=WAIT
            )
        yield name
    finally:
        force_delete_instance(client, name)


@pytest.fixture
def make_container(client: Client, image_alias: str) -> Iterator[Callable[..., Any]]:
    """A factory of stopped busybox containers, all deleted after the test."""
    made: list[tuple[Client, str]] = []

    def make(on: Client | None = None, name: str | None = None, **config: Any) -> Any:
        target = on or client
        name = name or unique_name()
        body = {
            "name": name,
            "source": {"type": "image", "alias": image_alias},
            **config,
        }
        made.append((target, name))
        response = target.api.instances.post(json=body)
        target.operations.wait_for_operation(response.json()["operation"], timeout=WAIT)
        return target.instances.get(name)

    yield make
    for target, name in made:
        force_delete_instance(target, name)


@pytest.fixture
def container(make_container: Callable[..., Any]) -> Any:
    """One stopped busybox container, deleted after the test."""
    return make_container()


@pytest.fixture
def running_container(container: Any) -> Any:
    """One running busybox container, deleted after the test."""
    container.start(wait=True)
    return container


@pytest.fixture(scope="module")
def disposable(lxd_env: dict[str, Any]) -> Iterator[Any]:
    """A throwaway LXD daemon of this module's own, to kill, freeze or restart.

    See ``integration/disposable.py``: the shared daemons stay untouched.
    """
    from integration.disposable import disposable_daemon

    try:
        with disposable_daemon(lxd_env, STATE_DIR, DAEMON) as daemon:
            yield daemon
    except RuntimeError as err:
        unavailable(f"disposable daemon: {err}")

"""The contract suite: the same scenarios against ``pylxd.testing.FakeLXD`` and LXD.

Every test takes the ``backend`` fixture, which runs it twice: once on a
fake seeded like the test daemon (``busybox`` image alias, ``default`` pool
with a root disk in the ``default`` profile) and once on the real daemon
(the ``client`` fixture of ``integration/conftest.py``). The assertions are
what LXD 5.0.2 does, or with ``PYLXD_IT_DAEMON=incus`` what Incus 6.0.4 does
where it words or shapes the same answer differently (:func:`said`), so a
test that passes on both proves the fake behaves like the daemon for that
scenario. What the fake cannot imitate is listed in
``pylxd/testing/__init__.py``.

Objects get unique names and are deleted by the backend at teardown, even
when the test fails; nothing else on the daemon is touched.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any, Callable, Iterator

import pytest

from integration.conftest import ON_INCUS
from pylxd import Client, exceptions
from pylxd.testing import FakeLXD

WAIT = 120  # seconds any operation may take at most
#: The properties of the busybox image ``integration/lxd-env`` imports.
BUSYBOX_PROPERTIES = {
    "description": "busybox test image",
    "os": "busybox",
    "release": "1.35.0",
}


class Backend:
    """A client on the fake or on the daemon, and what a test made there."""

    def __init__(
        self, kind: str, client: Client, image_alias: str, fake: FakeLXD | None
    ) -> None:
        self.kind = kind
        self.client = client
        self.image_alias = image_alias
        self.fake = fake
        self._cleanups: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"Backend({self.kind})"

    @staticmethod
    def name(prefix: str = "pylxd-ct") -> str:
        """A name no other object has."""
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def defer(self, cleanup: Callable[[], None]) -> None:
        """Run ``cleanup`` at teardown (last deferred first; NotFound ignored)."""
        self._cleanups.append(cleanup)

    def instance(self, name: str | None = None, **config: Any) -> Any:
        """A stopped busybox container, deleted at teardown."""
        name = name or self.name()
        body = {
            "name": name,
            "source": {"type": "image", "alias": self.image_alias},
            **config,
        }
        self.defer(lambda: force_delete_instance(self.client, name))
        return self.client.instances.create(body, wait=True)

    def close(self) -> None:
        for cleanup in reversed(self._cleanups):
            with contextlib.suppress(exceptions.NotFound):
                cleanup()
        self._cleanups.clear()


def force_delete_instance(client: Client, name: str) -> None:
    """Stop (forcefully) and delete instance ``name`` if it exists."""
    api = client.api.instances[name]
    with contextlib.suppress(exceptions.NotFound):
        if api.get().json()["metadata"]["status"] != "Stopped":
            response = api.state.put(json={"action": "stop", "force": True})
            client.operations.wait_for_operation(
                response.json()["operation"], timeout=WAIT
            )
        response = api.delete()
        client.operations.wait_for_operation(response.json()["operation"], timeout=WAIT)


def said(lxd: Any, incus: Any) -> Any:
    """What the daemon under test answers where LXD 5.0.2 and Incus 6.0.4
    behave alike but word (or shape) the answer differently."""
    return incus if ON_INCUS else lxd


def not_found(name: str) -> str:
    """The error of a missing instance ``name`` in the default project."""
    return said(
        "Instance not found",
        f'Failed to fetch instance "{name}" in project "default": Instance not found',
    )


def seeded_fake() -> FakeLXD:
    """A fake set up like ``integration/lxd-env`` sets up the daemon.

    With ``PYLXD_IT_DAEMON=incus`` it presents itself as Incus 6.0, so that
    both backends are the same kind of server.
    """
    fake = FakeLXD(server="incus") if ON_INCUS else FakeLXD()
    fake.add_root_disk()
    fake.add_image(
        "busybox", properties=dict(BUSYBOX_PROPERTIES), filename="busybox.tar.gz"
    )
    return fake


@pytest.fixture
def make_fake() -> Callable[[], FakeLXD]:
    """Make another fake seeded like the backend's (e.g. an untrusted one)."""
    return seeded_fake


@pytest.fixture(params=["fake", "real"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The fake, then the real daemon: every contract test runs on both."""
    if request.param == "fake":
        with seeded_fake() as fake:
            made = Backend("fake", fake.client(), "busybox", fake)
            yield made
            made.close()
        return
    client = request.getfixturevalue("client")
    made = Backend("real", client, request.getfixturevalue("image_alias"), None)
    yield made
    made.close()

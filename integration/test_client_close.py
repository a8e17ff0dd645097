"""Clients release their sockets on ``close()``, on ``with`` and when dropped.

Against the real daemons, over the Unix socket and HTTPS: 100 clients made,
used and dropped with the cyclic garbage collector off leave no socket open
in this process (the daemon's own sockets are in its process).
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from integration.conftest import https_client_for
from pylxd import Client, exceptions
from pylxd.tests.test_client_close import _open_sockets, no_cyclic_gc  # noqa: F401


@pytest.fixture(params=["unix", "https"])
def make_client(
    request: pytest.FixtureRequest, lxd_env: dict[str, Any], https_client: Client
) -> Callable[[], Client]:
    if request.param == "unix":
        return lambda: Client(endpoint=lxd_env["main"]["socket"])
    return lambda: https_client_for(lxd_env, "main")


def test_100_dropped_clients_leave_no_socket_open(
    make_client: Callable[[], Client], no_cyclic_gc: None  # noqa: F811
) -> None:
    before = _open_sockets()
    for _ in range(100):
        client = make_client()
        assert client.profiles.exists("default")
        client.instances.all()
        del client
    assert _open_sockets() - before == 0


def test_close_and_with_release_the_sockets(make_client: Callable[[], Client]) -> None:
    before = _open_sockets()
    with make_client() as client:
        assert client.profiles.get("default").name == "default"
        assert _open_sockets() > before
    assert _open_sockets() == before
    with pytest.raises(exceptions.ClientConnectionFailed, match="is closed"):
        client.profiles.get("default")
    assert _open_sockets() == before

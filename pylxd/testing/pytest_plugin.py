"""pytest fixtures for code that talks to LXD through pylxd.

Installed with pylxd, this plugin is loaded by pytest automatically (the
``pytest11`` entry point ``pylxd_testing``); without the entry point, load it
with ``pytest_plugins = ["pylxd.testing.pytest_plugin"]`` in a
``conftest.py``.

* ``fake_lxd``: a fresh :class:`~pylxd.testing.FakeLXD` for each test, set up
  like ``lxd init`` leaves a server (a ``default`` storage pool and a root
  disk in the ``default`` profile). Its :attr:`~pylxd.testing.FakeLXD.endpoint`
  works with ``Client(endpoint=...)``.
* ``fake_client``: a :class:`pylxd.Client` connected to ``fake_lxd``.

Mark a test with ``@pytest.mark.fake_lxd(...)`` to pass keyword arguments to
``FakeLXD`` (``extensions=``, ``trusted=``, ``server_version=``,
``clustered=``)::

    def test_deploy(fake_lxd, fake_client):
        fake_lxd.add_image("ubuntu/22.04")
        fake_lxd.on_exec(["cloud-init", "status"], stdout="status: done\\n")
        deploy(fake_client)  # the code under test
        instance = fake_client.instances.get("web")
        assert instance.status == "Running"
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from pylxd.testing._fake import FakeLXD


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fake_lxd(**kwargs): keyword arguments for the fake_lxd fixture"
    )


@pytest.fixture
def fake_lxd(request: pytest.FixtureRequest) -> Iterator[FakeLXD]:
    """A fresh in-memory LXD, set up like ``lxd init`` leaves a server."""
    marker = request.node.get_closest_marker("fake_lxd")
    kwargs: dict[str, Any] = dict(marker.kwargs) if marker else {}
    fake = FakeLXD(**kwargs)
    fake.add_root_disk()
    yield fake


@pytest.fixture
def fake_client(fake_lxd: FakeLXD) -> Any:
    """A :class:`pylxd.Client` connected to ``fake_lxd``."""
    return fake_lxd.client()

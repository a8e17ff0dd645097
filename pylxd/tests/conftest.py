"""Fixtures shared by the unit tests: a fresh fake LXD and a client of it.

A test module may override ``fake`` (e.g. with other extensions), or
``lxd``; ``client`` follows ``lxd``, which is ``fake`` unless overridden.
"""

from __future__ import annotations

import pytest

from pylxd.client import Client
from pylxd.testing import FakeLXD


@pytest.fixture
def fake() -> FakeLXD:
    """A fresh fake LXD 5.0.2."""
    return FakeLXD()


@pytest.fixture
def lxd(fake: FakeLXD) -> FakeLXD:
    """The same fake LXD, under the name some modules use."""
    return fake


@pytest.fixture
def client(lxd: FakeLXD) -> Client:
    """A client of the fake LXD (its default project)."""
    return lxd.client()

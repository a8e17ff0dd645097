"""A stateful, in-memory fake LXD for testing code that uses pylxd.

>>> from pylxd.testing import FakeLXD
>>> fake = FakeLXD()
>>> client = fake.client()
>>> client.profiles.create("web", config={"limits.cpu": "1"}).config
{'limits.cpu': '1'}
>>> fake.last_body("POST", "/1.0/profiles")
{'name': 'web', 'config': {'limits.cpu': '1'}}

The fake plugs into :class:`pylxd.Client` through its ``session=`` argument;
nothing is patched globally.
"""

from __future__ import annotations

from pylxd.testing._fake import FakeError, FakeLXD, FakeRequest, Reply, on_init, route
from pylxd.testing._fake_exec import CommandNotFound, ExecCall, ExecResult

__all__ = [
    "FakeLXD",
    "FakeError",
    "FakeRequest",
    "Reply",
    "route",
    "on_init",
    "ExecCall",
    "ExecResult",
    "CommandNotFound",
]

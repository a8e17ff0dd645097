"""Names pylxd 2.4.2's model modules hold that come from elsewhere.

User code and tests reach (and ``mock.patch``) them through pylxd's modules,
e.g. ``pylxd.models.instance.Operation`` or ``...instance.time``. The cheap
ones are plain imports here; ws4py's and the models' own are imported when
first used (see :func:`lazy`).
"""

from __future__ import annotations

import errno  # noqa: F401
import importlib
import json  # noqa: F401
import logging  # noqa: F401
import os  # noqa: F401
import stat  # noqa: F401
import time  # noqa: F401
import warnings  # noqa: F401
from contextlib import suppress  # noqa: F401
from typing import Any
from urllib import parse  # noqa: F401

from pylxd.exceptions import LXDAPIException  # noqa: F401

#: Name -> (module, attribute), imported on first use.
LAZY = {
    "Operation": ("pylxd.models.operation", "Operation"),
    "WebSocketBaseClient": ("ws4py.client", "WebSocketBaseClient"),
    "WebSocketManager": ("ws4py.manager", "WebSocketManager"),
    "BinaryMessage": ("ws4py.messaging", "BinaryMessage"),
}


def lazy(name: str) -> Any:
    """Import and return the :data:`LAZY` name ``name``."""
    module, attribute = LAZY[name]
    return getattr(importlib.import_module(module), attribute)

"""The one check of a ``json=`` body: what in it JSON cannot carry.

requests encodes ``json=`` with ``json.dumps(allow_nan=False)``, so a
``date``, a ``set``, a ``Decimal`` or NaN in a body fails inside requests
with json's ``TypeError`` (or requests' ``InvalidJSONError``), which names
neither the field nor the request. :func:`pylxd._http.transport_error` asks
:func:`not_json` when a request with a body failed (never on the way of a
request that works) and refuses it as ``InvalidArgumentType`` naming the value.
"""

from __future__ import annotations

import math
from typing import Any


def not_json(value: Any, where: str = "body") -> str | None:
    """What in ``value`` JSON cannot carry (nor NaN, as requests sends), or None."""
    if isinstance(value, (dict, list, tuple)):
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in pairs:
            if not isinstance(key, (str, int, float, type(None))):
                return f"a key of {where} is a {type(key).__name__}"
            found = not_json(item, f"{where}[{key!r}]")
            if found is not None:
                return found
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} is {value}, which JSON cannot carry"
    if isinstance(value, (str, int, float, type(None))):
        return None
    return f"{where} is a {type(value).__name__}, which JSON cannot carry"

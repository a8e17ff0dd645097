"""The types shared by every layer of pylxd."""

from __future__ import annotations

from typing import Any

#: A JSON object as LXD sends and receives it (a request body, an answer's metadata).
JSONDict = dict[str, Any]

"""Checking and completing the ``config`` of ``Instance.create`` before it is sent.

``POST /1.0/instances`` answers a bad name or source synchronously, but a
copy without ``profiles`` only fails later, inside the operation; checking
here gives a clear ``ValueError`` naming the problem, with nothing sent.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pylxd import exceptions
from pylxd.models import _mixins
from pylxd.models._mixins import check_name, quote
from pylxd.models._model import JSONDict

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd.client import Client

#: ``source`` types of ``POST /1.0/instances`` and the keys each needs (any one).
_SOURCE_NEEDS: dict[str, tuple[str, ...]] = {
    "none": (),
    "image": ("alias", "fingerprint", "properties"),
    "copy": ("source",),
    "migration": ("operation", "mode"),
}

_NAME_CHARS = re.compile(r"^[-a-zA-Z0-9]*$")


def name_problem(name: object) -> str | None:
    """Tell what is wrong with an instance name, as LXD words it (None: valid).

    >>> name_problem("web-1") is None
    True
    >>> name_problem("1web")
    'Name must not start with a number'
    """
    if not isinstance(name, str):
        return f"Name must be a string, not {type(name).__name__}"
    if not 1 <= len(name) <= 63:
        return "Name must be 1-63 characters long"
    if name[0].isdigit():
        return "Name must not start with a number"
    for end, where in ((name[0], "start with"), (name[-1], "end with")):
        if end == "-":
            return f'Name must not {where} "-" character'
    if not _NAME_CHARS.match(name):
        return "Name can only contain alphanumeric and hyphen characters"
    return None


def check_instance_name(owner: str, name: object) -> None:
    """Refuse what LXD refuses as an instance name (a hostname), before sending.

    :raises InvalidArgumentType: when ``name`` is not a string.
    :raises InvalidArgument: naming ``owner`` and the problem.
    """
    check_name(f"{owner}: Instance", name)
    problem = name_problem(name)
    if problem is not None:
        raise exceptions.InvalidArgument(
            f"{owner}: invalid instance name {name!r}: {problem}"
        )


def check_source(owner: str, source: object) -> JSONDict:
    """Check the shape of ``config['source']`` before anything is sent."""
    if not isinstance(source, dict):
        raise exceptions.InvalidArgument(
            f"{owner}.create: config['source'] must be a dict such as "
            f"{{'type': 'image', 'alias': 'ubuntu'}}, got {source!r}"
        )
    kind = source.get("type")
    if kind not in _SOURCE_NEEDS:
        raise exceptions.InvalidArgument(
            f"{owner}.create: unknown source type {kind!r} "
            f"(expected one of {', '.join(sorted(_SOURCE_NEEDS))})"
        )
    needs = _SOURCE_NEEDS[kind]
    if needs and not any(source.get(key) for key in needs):
        raise exceptions.InvalidArgument(
            f"{owner}.create: a {kind!r} source needs {' or '.join(needs)!s}: {source!r}"
        )
    return source


def created_name(response: requests.Response) -> str:
    """The name LXD gave a new instance, from its creation operation."""
    return _mixins.created_name(response, "instance", "instances", "containers")


def copy_source_profiles(client: Client, source: JSONDict) -> list[str]:
    """The profiles of a copy's source instance or snapshot (``GET``)."""
    instance, _, snapshot = str(source["source"]).partition("/")
    node = client.api.instances[quote(instance, "Instance")]
    if snapshot:
        node = node.snapshots[quote(snapshot, "Snapshot")]
    params = {"project": source["project"]} if source.get("project") else None
    metadata = exceptions.metadata_of(node.get(params=params))
    return list(metadata.get("profiles") or [])

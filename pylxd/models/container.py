"""LXD containers: instances of type ``container`` (``/1.0/containers``)."""

from __future__ import annotations

from pylxd.models.instance import Instance


class Container(Instance):
    """Flavour of :class:`~pylxd.models.instance.Instance` for containers."""

    _endpoint = "containers"
    _instance_type = "container"

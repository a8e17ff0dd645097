"""LXD containers: instances of type ``container``.

Listed and created through ``/1.0/instances`` with the type, which LXD 5.0
and Incus (that has no ``/1.0/containers``) both serve.
"""

from __future__ import annotations

from pylxd.models.instance import Instance


class Container(Instance):
    """Flavour of :class:`~pylxd.models.instance.Instance` for containers."""

    _instance_type = "container"

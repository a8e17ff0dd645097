"""LXD virtual machines: instances of type ``virtual-machine``.

Listed and created through ``/1.0/instances`` with the type, which LXD 5.0
and Incus (that has no ``/1.0/virtual-machines``) both serve.
"""

from __future__ import annotations

from pylxd.models.instance import Instance


class VirtualMachine(Instance):
    """Flavour of :class:`~pylxd.models.instance.Instance` for VMs."""

    _instance_type = "virtual-machine"

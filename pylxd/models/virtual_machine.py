"""LXD virtual machines: instances of type ``virtual-machine`` (``/1.0/virtual-machines``)."""

from __future__ import annotations

from pylxd.models.instance import Instance


class VirtualMachine(Instance):
    """Flavour of :class:`~pylxd.models.instance.Instance` for VMs."""

    _endpoint = "virtual-machines"
    _instance_type = "virtual-machine"

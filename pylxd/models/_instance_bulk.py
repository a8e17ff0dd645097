"""Every instance of a project at once: ``PUT /1.0/instances`` (bulk state)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pylxd import exceptions
from pylxd.models import _model as model
from pylxd.models._mixins import is_incus, listed_names

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client
    from pylxd.models.operation import Operation

#: The actions ``PUT /1.0/instances`` accepts.
BULK_ACTIONS = ("start", "stop", "restart", "freeze", "unfreeze")


def set_all_states(
    cls: Any,
    client: Client,
    action: str,
    force: bool = False,
    timeout: int = 30,
    stateful: bool = False,
    wait: bool = False,
) -> Operation:
    """Change the state of every instance of the client's project at once.

    Implements ``PUT /1.0/instances`` (``client.containers`` uses
    ``/1.0/containers``, which acts on containers only; neither LXD nor
    Incus filters this call on ``?instance-type=``).

    :param action: ``start``, ``stop``, ``restart``, ``freeze`` or ``unfreeze``.
    :param timeout: seconds LXD waits for a clean stop before giving up.
    :returns: the operation (finished when ``wait``).
    :raises ValueError: for an unknown action.
    :raises LXDAPIExtensionNotAvailable: for ``client.containers`` or
        ``client.virtual_machines`` on Incus while the project holds
        instances of the other type: Incus has no typed collection, and
        ``PUT /1.0/instances`` would change those too.
    :raises LXDAPIException: when any instance failed to change (LXD
        lists them in the message).
    """
    if action not in BULK_ACTIONS:
        raise exceptions.InvalidArgument(
            f"Bulk state action must be one of {', '.join(BULK_ACTIONS)}, not {action!r}"
        )
    client.assert_has_api_extension("instance_bulk_state_change")
    collection = _bulk_collection(cls)
    if collection != "instances" and is_incus(client):
        _check_only_this_type(client, cls)
        collection = "instances"
    state = {
        "action": action,
        "timeout": timeout,
        "force": force,
        "stateful": stateful,
    }
    response = client.api[collection].put(json={"state": state})
    done = model.wait_for(client, response, wait)
    if done is not None:
        return done
    from pylxd.models.operation import Operation

    metadata = exceptions.metadata_of(response, (dict, type(None))) or {}
    return Operation._from_metadata(client, metadata)


_OTHER_TYPE = {"container": "virtual-machine", "virtual-machine": "container"}
#: Collections that only hold one instance type (``PUT`` acts on that type only).
_TYPED_COLLECTIONS = {"container": "containers", "virtual-machine": "virtual-machines"}


def _check_only_this_type(client: Client, cls: Any) -> None:
    """Refuse an Incus bulk change that would reach instances of another type.

    Incus serves no ``/1.0/containers``, and neither it nor LXD filters
    ``PUT /1.0/instances`` on ``?instance-type=``: acting on one type is only
    possible when the project holds no other.
    """
    other = _OTHER_TYPE[cls._instance_type]
    response = client.api.instances.get(params={"instance-type": other})
    others = listed_names(response)
    if others:
        raise exceptions.LXDAPIExtensionNotAvailable(
            f"{cls.__name__}.set_all_states: Incus has no /1.0/"
            f"{_bulk_collection(cls)} and PUT /1.0/instances would change "
            f"{', '.join(sorted(others))} too; use client.instances.set_all_states"
        )


def _bulk_collection(cls: type) -> str:
    """``containers`` for ``Container``, ``virtual-machines`` for ``VirtualMachine``."""
    return _TYPED_COLLECTIONS.get(
        getattr(cls, "_instance_type", None) or "", "instances"
    )

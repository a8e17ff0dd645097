"""An instance's runtime state and lifecycle (mixed into ``Instance``).

``state()`` and ``wait_until()`` read ``GET /1.0/instances/<name>/state``;
``start``, ``stop``, ``restart``, ``freeze`` and ``unfreeze`` are one
``PUT /1.0/instances/<name>/state`` each, through :meth:`_set_state`, which
also records the status an action waited on leaves (no second request).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pylxd import exceptions
from pylxd.models import _model as model

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._transport import _APINode
    from pylxd.client import Client


STATUS_STOPPED = 102
STATUS_RUNNING = 103
STATUS_FROZEN = 110

#: The status an instance has once a state action succeeded.
_STATUS_AFTER: dict[str, tuple[str, int]] = {
    "start": ("Running", STATUS_RUNNING),
    "restart": ("Running", STATUS_RUNNING),
    "unfreeze": ("Running", STATUS_RUNNING),
    "freeze": ("Frozen", STATUS_FROZEN),
    "stop": ("Stopped", STATUS_STOPPED),
}


class InstanceLifecycleMixin:
    """``state``, ``wait_until`` and the state actions of an instance."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by Instance (model.Model)
        client: Client
        name: str
        __dirty__: set[str]

        @property
        def api(self) -> _APINode: ...

        def _invalidate(self, *names: str) -> None: ...

        def _subject(self) -> str: ...

        def _raw_attr(self, name: str) -> Any: ...

    def state(self) -> model.AttributeDict:
        """Get the runtime state: status, memory, network, pid, processes, disk, cpu.

        Implements ``GET /1.0/instances/<name>/state``.
        """
        return model.AttributeDict(exceptions.metadata_of(self.api.state.get()))

    def wait_until(
        self,
        status: str | None = None,
        *,
        ipv4: bool | str | None = None,
        ipv6: bool | str | None = None,
        interface: str | None = None,
        agent: bool = False,
        timeout: float = 60.0,
    ) -> model.AttributeDict:
        """Wait until the instance is in a state, and return that state.

        Reads ``GET /1.0/instances/<name>/state``. A ``status`` alone is
        waited for on LXD's ``lifecycle`` events (no polling); addresses and
        the VM agent have no event and are polled, less often as time goes by.
        Every condition given must hold at once.

        >>> instance.wait_until("Running", ipv4=True, timeout=30)  # doctest: +SKIP

        :param status: e.g. ``"Running"``, ``"Stopped"``, ``"Frozen"``.
        :param ipv4: True for any global IPv4 address, or one address.
        :param ipv6: True for any global IPv6 address, or one address.
        :param interface: where the address must be (e.g. ``"eth0"``; any
            address of its family counts then). By default any interface but
            ``lo``, with a global address.
        :param agent: a virtual machine's agent answers (LXD then reports the
            guest's processes; it reports -1 until then).
        :param timeout: seconds to wait at most.
        :returns: the state that met the condition.
        :raises WaitTimeout: (a ``TimeoutError``) when it is not met in time.
        :raises InvalidArgument: when no condition is given.
        """
        from pylxd.models import _conditions  # on first use: few callers wait

        condition = _conditions.InstanceCondition(status, ipv4, ipv6, interface, agent)
        state = _conditions.wait_for_instance(self, condition, timeout)
        return model.AttributeDict(state)

    def start(self, timeout: int = 30, force: bool = True, wait: bool = False) -> None:
        """Start the instance (``PUT /1.0/instances/<name>/state``)."""
        self._set_state("start", timeout, force, wait)

    def stop(self, timeout: int = 30, force: bool = True, wait: bool = False) -> None:
        """Stop the instance (``PUT /1.0/instances/<name>/state``).

        An ephemeral instance is deleted by LXD when it stops: once waited on,
        the object is detached from its client (when ``ephemeral`` was loaded).
        """
        self._set_state("stop", timeout, force, wait)

    def restart(
        self, timeout: int = 30, force: bool = True, wait: bool = False
    ) -> None:
        """Restart the instance (``PUT /1.0/instances/<name>/state``)."""
        self._set_state("restart", timeout, force, wait)

    def freeze(self, timeout: int = 30, force: bool = True, wait: bool = False) -> None:
        """Freeze the instance (``PUT /1.0/instances/<name>/state``)."""
        self._set_state("freeze", timeout, force, wait)

    def unfreeze(
        self, timeout: int = 30, force: bool = True, wait: bool = False
    ) -> None:
        """Unfreeze the instance (``PUT /1.0/instances/<name>/state``)."""
        self._set_state("unfreeze", timeout, force, wait)

    def _set_state(self, action: str, timeout: int, force: bool, wait: bool) -> None:
        body = {"action": action, "timeout": timeout, "force": force}
        response = self.api.state.put(json=body)
        if not wait:
            return
        model.wait_for(self.client, response, wait)
        # The new status is known: no GET needed.
        status, code = _STATUS_AFTER[action]
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "status_code", code)
        self.__dirty__.difference_update(("status", "status_code"))
        # LXD rewrites volatile.* keys on state changes: a later save() must
        # send them back, so they are re-read lazily if used.
        self._invalidate("config", "expanded_config", "last_used_at")
        if action == "stop" and self._raw_attr("ephemeral") is True:
            object.__setattr__(self, "client", None)  # LXD deleted it

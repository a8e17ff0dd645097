"""Waiting for conditions: an instance's status, address or agent; an operation.

What LXD announces is waited for on its event stream (``lifecycle`` events
for status changes, ``operation`` events for operations), opened before the
current state is read so that nothing is missed in between. What it does
not announce (an address appearing, a VM agent answering) is polled with a
growing pause, within the same timeout. Both end in
:class:`~pylxd.exceptions.WaitTimeout` when the time is up.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from pylxd import exceptions
from pylxd._types import JSONDict
from pylxd.models._mixins import name_from_url

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._events import EventStream
    from pylxd.client import Client
    from pylxd.models._instance_lifecycle import InstanceLifecycleMixin
    from pylxd.models.operation import Operation


#: The first and the longest pause between two polls (seconds).
POLL_FIRST = 0.1
POLL_MAX = 1.0
#: Operation status codes from which an operation is over (LXD: >= 200).
OPERATION_FINAL = 200


@contextlib.contextmanager
def _events(client: Client, kind: str) -> Iterator[EventStream | None]:
    """The event stream of ``kind``, or None when it cannot be opened (poll)."""
    try:
        stream = client.events_iter([kind])
    except exceptions.ClientConnectionFailed:
        yield None
        return
    with stream:
        yield stream


def _wait_for_event(
    stream: EventStream | None, predicate: Callable[[JSONDict], bool], left: float
) -> None:
    """Block until a matching event comes, ``left`` seconds at most; without
    a stream (or once it ended) pause for up to :data:`POLL_MAX` instead."""
    if stream is not None:
        try:
            stream.until(predicate, left)
            return
        except (TimeoutError, EOFError):
            pass
    time.sleep(min(POLL_MAX, max(left, 0)))


# -- instances ----------------------------------------------------------------
def _check_address(value: Any, family: str) -> None:
    if value is not None and not isinstance(value, (bool, str)):
        raise exceptions.InvalidArgumentType(
            f"wait_until: {family} must be True or an address string, "
            f"not {type(value).__name__}"
        )


def _addresses(state: JSONDict, interface: str | None, family: str) -> list[str]:
    """Global addresses of ``family`` (``inet``/``inet6``) on ``interface``
    (every interface but ``lo`` when None)."""
    found = []
    for name, nic in (state.get("network") or {}).items():
        if (interface is None and name == "lo") or (interface not in (None, name)):
            continue
        for address in (nic or {}).get("addresses") or ():
            if address.get("family") == family and (
                interface is not None or address.get("scope") == "global"
            ):
                found.append(str(address.get("address")))
    return found


class InstanceCondition:
    """What ``Instance.wait_until`` waits for, checked against a state."""

    def __init__(
        self,
        status: str | None,
        ipv4: bool | str | None,
        ipv6: bool | str | None,
        interface: str | None,
        agent: bool,
    ) -> None:
        if status is not None and not isinstance(status, str):
            raise exceptions.InvalidArgumentType(
                f"wait_until: status must be a string such as 'Running', not {status!r}"
            )
        _check_address(ipv4, "ipv4")
        _check_address(ipv6, "ipv6")
        if not (status or ipv4 or ipv6 or agent):
            raise exceptions.InvalidArgument(
                "wait_until: give a status, ipv4=, ipv6= or agent=True to wait for"
            )
        self.status = status
        self.wanted = [(f, v) for f, v in (("inet", ipv4), ("inet6", ipv6)) if v]
        self.interface = interface
        self.agent = agent

    @property
    def announced(self) -> bool:
        """True when LXD sends an event for every change this waits for."""
        return not (self.wanted or self.agent)

    def met(self, state: JSONDict) -> bool:
        if self.status is not None and state.get("status") != self.status:
            return False
        for family, value in self.wanted:
            addresses = _addresses(state, self.interface, family)
            if not addresses or (isinstance(value, str) and value not in addresses):
                return False
        # LXD counts the guest's processes through the VM agent; without an
        # agent answering it reports -1.
        if self.agent and (state.get("processes") or -1) <= 0:
            return False
        return True

    def describe(self) -> str:
        parts = [f"status {self.status!r}"] if self.status else []
        for family, value in self.wanted:
            what = "an IPv4" if family == "inet" else "an IPv6"
            what = f"address {value}" if isinstance(value, str) else f"{what} address"
            parts.append(what + (f" on {self.interface}" if self.interface else ""))
        if self.agent:
            parts.append("its VM agent ready")
        return " and ".join(parts)


def wait_for_instance(
    instance: InstanceLifecycleMixin, condition: InstanceCondition, timeout: float
) -> Any:
    """Return the instance state once ``condition`` holds.

    :raises WaitTimeout: when it does not within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    name = instance.name

    def about_it(event: JSONDict) -> bool:
        source = str((event.get("metadata") or {}).get("source") or "")
        return "/instances/" in source and name_from_url(source) == name

    kind = "lifecycle" if condition.announced else None
    pause = POLL_FIRST
    with _events(instance.client, kind) if kind else contextlib.nullcontext() as ev:
        state = instance.state()
        while not condition.met(state):
            left = deadline - time.monotonic()
            if left <= 0:
                raise exceptions.WaitTimeout(
                    f"{instance._subject()} did not get {condition.describe()} within "
                    f"{timeout} s (status {state.get('status')!r})",
                    timeout=timeout,
                    last=state,
                )
            if kind:
                _wait_for_event(ev, about_it, left)
            else:  # no event for this: poll, less often as time goes by
                time.sleep(min(pause, left))
                pause = min(pause * 1.5, POLL_MAX)
            state = instance.state()
    return state


# -- operations ---------------------------------------------------------------
class OperationFilter:
    """Which operation ``client.operations.wait_until`` waits for."""

    def __init__(
        self,
        description: str | None,
        resource: str | None,
        operation_class: str | None,
        predicate: Callable[[JSONDict], bool] | None,
    ) -> None:
        if predicate is not None and not callable(predicate):
            raise exceptions.InvalidArgumentType(
                f"wait_until: predicate must be callable, not {type(predicate).__name__}"
            )
        if not (description or resource or operation_class or predicate):
            raise exceptions.InvalidArgument(
                "wait_until: give description=, resource=, operation_class= or "
                "predicate= to choose the operation"
            )
        self.description = description
        self.resource = resource
        self.operation_class = operation_class
        self.predicate = predicate

    def matches(self, op: JSONDict) -> bool:
        if self.description is not None and op.get("description") != self.description:
            return False
        if self.operation_class not in (None, op.get("class")):
            return False
        if self.resource is not None and not self._touches(op):
            return False
        return self.predicate is None or bool(self.predicate(op))

    def _touches(self, op: JSONDict) -> bool:
        wanted = str(self.resource)
        for urls in (op.get("resources") or {}).values():
            for url in urls or ():
                if url.split("?")[0] == wanted or name_from_url(url) == wanted:
                    return True
        return False

    def describe(self) -> str:
        parts = [
            f"{key} {value!r}"
            for key, value in (
                ("description", self.description),
                ("resource", self.resource),
                ("class", self.operation_class),
            )
            if value is not None
        ]
        return ", ".join(parts + (["a predicate"] if self.predicate else []))


def wait_for_operation_matching(
    client: Client,
    wanted: OperationFilter,
    timeout: float,
    existing: bool,
    cls: type[Operation],
) -> Operation:
    """Return the first matching operation once it is over.

    :raises WaitTimeout: when none ends within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    seen: list[JSONDict] = []

    def finished(event: JSONDict) -> bool:
        op = event.get("metadata") or {}
        if wanted.matches(op) and int(op.get("status_code") or 0) >= OPERATION_FINAL:
            seen.append(op)
            return True
        return False

    with _events(client, "operation") as stream:
        listed = [op for op in cls.all(client) if wanted.matches(vars_of(op))]
        if existing and listed:
            op = listed[0]
            if int(op.status_code or 0) >= OPERATION_FINAL:
                return op
            left = max(deadline - time.monotonic(), 0)
            return cls.wait_for_operation(client, op.id, timeout=left)
        known = {op.id for op in listed}
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise exceptions.WaitTimeout(
                    f"No operation with {wanted.describe()} finished within {timeout} s",
                    timeout=timeout,
                )
            if stream is not None:
                try:
                    stream.until(finished, left)
                    return cls._from_metadata(client, seen[0])
                except TimeoutError:
                    continue
                except EOFError:  # the stream ended: poll for the rest
                    stream = None
            time.sleep(min(POLL_MAX, left))
            for op in cls.all(client):
                if op.id not in known and wanted.matches(vars_of(op)):
                    if int(op.status_code or 0) >= OPERATION_FINAL:
                        return op


def vars_of(op: Operation) -> JSONDict:
    """An operation's fields as LXD sent them (for the filters)."""
    return {key: getattr(op, key, None) for key in type(op).__slots__ if key[0] != "_"}

"""Fake LXD: fault injection, mixed into :class:`~pylxd.testing.FakeLXD`.

Each fault applies once, to the next request matching ``method`` (any when
None) and ``path`` (the exact path without the query; any when None).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING, Any, Callable

import requests

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.testing._fake import FakeRequest, Reply


class FaultsMixin:
    """``fail_next``, ``reply_next``, ``fail_operation_next``, ``timeout_next``,
    ``disconnect_next`` and ``truncate_next``."""

    if TYPE_CHECKING:  # provided by FakeLXD
        lock: threading.RLock
        faults: list[Callable[[FakeRequest], Reply | None]]
        _op_faults: list[tuple[str | None, str | None, str]]
        _armed: Any

        @staticmethod
        def error(status: int, message: str) -> Reply: ...

        def _dispatch(self, request: FakeRequest) -> Reply: ...

    def fail_next(
        self,
        status: int = 500,
        message: str = "Injected failure",
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next matching request with LXD's error envelope.

        The client raises ``NotFound`` (404), ``Conflict`` (409),
        ``Forbidden`` (403) or ``LXDAPIException`` whose str is ``message``.
        Nothing in the fake changes.
        """
        self._inject(lambda req: self.error(status, message), method, path)

    def reply_next(
        self, reply: Reply, method: str | None = None, path: str | None = None
    ) -> None:
        """Answer the next matching request with ``reply`` as given
        (e.g. ``FakeLXD.sync({...})``, ``FakeLXD.raw(b"...")``)."""
        self._inject(lambda req: reply, method, path)

    def fail_operation_next(
        self,
        message: str = "Injected operation failure",
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Make the next operation started by a matching request fail.

        The request is answered (202 with the operation) but the operation
        ends in ``Failure`` with ``err`` = ``message`` and changes nothing:
        ``wait=True`` callers get ``LXDAPIException(message)``. Requests that
        start no operation leave the fault armed.
        """
        with self.lock:
            self._op_faults.append((method, path, message))

    def _arm_operation_fault(self, request: FakeRequest) -> None:
        self._armed.fault = None
        for fault in self._op_faults:
            method, path, _ = fault
            if (method is None or request.method == method.upper()) and (
                path is None or request.path == path
            ):
                self._armed.fault = fault
                return

    def _take_operation_fault(self) -> str | None:
        fault = getattr(self._armed, "fault", None)
        if fault is None:
            return None
        self._armed.fault = None
        with self.lock:
            if fault in self._op_faults:
                self._op_faults.remove(fault)
        return fault[2]

    def timeout_next(self, method: str | None = None, path: str | None = None) -> None:
        """Make the next matching request time out (``ReadTimeout``; the
        client raises ``pylxd._transport.RequestTimeout``)."""

        def fault(req: FakeRequest) -> Reply:
            raise requests.exceptions.ReadTimeout(
                f"Injected timeout on {req.method} {req.path}"
            )

        self._inject(fault, method, path)

    def disconnect_next(
        self, method: str | None = None, path: str | None = None
    ) -> None:
        """Make the next matching request fail to connect (the client raises
        ``ConnectionLost``, a ``ClientConnectionFailed``)."""

        def fault(req: FakeRequest) -> Reply:
            raise requests.exceptions.ConnectionError(
                f"Injected connection failure on {req.path}"
            )

        self._inject(fault, method, path)

    def truncate_next(
        self,
        keep: int = 0,
        method: str | None = None,
        path: str | None = None,
        query: dict[str, str] | None = None,
    ) -> None:
        """Answer the next matching request as usual, but cut its body after
        ``keep`` bytes while its ``Content-Length`` still announces the whole
        body: what a client sees when the daemon dies mid-download.

        :param query: also match these query parameters (e.g. ``{"path": "/f"}``).
        """

        def fault(req: FakeRequest) -> Reply | None:
            if (method and req.method != method.upper()) or (path and req.path != path):
                return None
            if query and any(req.query.get(k) != v for k, v in query.items()):
                return None
            self.faults.remove(fault)
            reply = self._dispatch(req)
            headers = {"Content-Length": str(len(reply.body)), **reply.headers}
            return dataclasses.replace(reply, body=reply.body[:keep], headers=headers)

        self.faults.append(fault)

    def _inject(
        self, make: Callable[[FakeRequest], Reply], method: str | None, path: str | None
    ) -> None:
        def fault(req: FakeRequest) -> Reply | None:
            if (method and req.method != method.upper()) or (path and req.path != path):
                return None
            self.faults.remove(fault)
            return make(req)

        self.faults.append(fault)

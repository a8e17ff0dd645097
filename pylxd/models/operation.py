"""LXD background operations: ``/1.0/operations``."""

from __future__ import annotations

import contextlib
import contextvars
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from pylxd import exceptions
from pylxd.models._mixins import check_name, name_from_url, quote
from pylxd.models._unknown import MISSING, extra_field, warn_unknown_attribute

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd.client import Client

#: "Operation.attribute" names already warned about (separate from the models').
_seen_attribute_warnings: set[str] = set()

OPERATION_RUNNING = 103
OPERATION_PENDING = 105
OPERATION_SUCCESS = 200
OPERATION_FAILURE = 400
OPERATION_CANCELLED = 401
_UNFINISHED = ("Running", "Pending", "Cancelling")
_FAILED = ("Failure", "Cancelled")

#: Seconds added to the HTTP timeout of a ``/wait`` beyond its own timeout.
_WAIT_MARGIN = 10.0

#: Seconds of each ``/wait`` while progress is reported (LXD counts whole seconds).
PROGRESS_INTERVAL = 1

#: ``progress(metadata)``: called with an operation's ``metadata`` as it changes.
OperationProgress = Callable[[dict[str, Any]], Any]

_progress: contextvars.ContextVar[OperationProgress | None] = contextvars.ContextVar(
    "pylxd_operation_progress", default=None
)


@contextlib.contextmanager
def operation_progress(callback: OperationProgress) -> Iterator[None]:
    """Report the progress of every operation waited for inside the block.

    Methods that wait for LXD (``wait=True``) take no progress argument of
    their own; inside this block (in this thread or task) their waits call
    ``callback(metadata)`` as :meth:`Operation.wait_for_operation` does with
    ``progress=``.

    >>> with operation_progress(print):  # doctest: +SKIP
    ...     client.instances.create(config, wait=True)
    {'create_instance_from_image_unpack_progress': 'Unpack: 100% (4.75MB/s)', ...}
    """
    token = _progress.set(callback)
    try:
        yield
    finally:
        _progress.reset(token)


class Operation:
    """An LXD operation.

    If the LXD server sends attributes that this version of pylxd is unaware
    of, a warning is issued once per attribute (see ``PYLXD_WARNINGS``).
    """

    __slots__ = [
        "_client",
        "__extra__",
        "class",
        "created_at",
        "description",
        "err",
        "id",
        "location",
        "may_cancel",
        "metadata",
        "resources",
        "secret",  # pylxd's: None unless LXD sends it
        "status",
        "status_code",
        "updated_at",
    ]

    @classmethod
    def extract_operation_id(cls, s: str) -> str:
        """``/1.0/operations/<id>?project=p`` -> ``<id>``.

        :raises InvalidArgumentType: when ``s`` is not a string.
        """
        return name_from_url(check_name("Operation", s, slash=True))

    @classmethod
    def get(cls, client: Client, operation_id: str) -> Operation:
        """Get an operation (``GET /1.0/operations/<id>``).

        :raises NotFound: when LXD does not know it (finished operations are
            forgotten after a few seconds).
        """
        operation_id = cls.extract_operation_id(operation_id)
        with exceptions.naming("Operation", operation_id):
            response = client.api.operations[quote(operation_id, "Operation")].get()
        return cls._from_metadata(client, exceptions.metadata_of(response))

    @classmethod
    def all(cls, client: Client) -> list[Operation]:
        """List the operations LXD knows about, of every status.

        Implements ``GET /1.0/operations?recursion=1``.
        """
        response = client.api.operations.get(params={"recursion": 1})
        by_status = exceptions.metadata_of(response, (dict, type(None))) or {}
        listed = [ops or [] for ops in by_status.values()]
        for ops in listed:
            if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
                raise exceptions.malformed(response, "statuses not listing objects")
        return [cls._from_metadata(client, op) for ops in listed for op in ops]

    @classmethod
    def wait_for_operation(
        cls,
        client: Client,
        operation_id: str,
        timeout: float | None = None,
        progress: OperationProgress | None = None,
    ) -> Operation:
        """Wait for an operation to finish and return it in its final state.

        Blocks on LXD's ``GET /1.0/operations/<id>/wait``.

        :param timeout: seconds to wait at most (None: as long as it takes).
        :param progress: called as ``progress(metadata)`` with the operation's
            ``metadata`` each time it changed (e.g. ``{"progress": {"stage":
            "create_instance_from_image_unpack", "percent": "45", ...}, ...}``),
            the final one included. The wait then blocks on ``/wait`` in slices
            of :data:`PROGRESS_INTERVAL` seconds to read it. Inside
            :func:`operation_progress` its callback is the default.
        :raises LXDAPIException: with LXD's error when the operation failed.
        :raises OperationTimeout: when it is still running after ``timeout``.
        """
        operation_id = cls.extract_operation_id(operation_id)
        progress = progress or _progress.get()
        if progress is None:
            response = cls._wait_response(client, operation_id, timeout)
        else:
            response = _wait_reporting(client, operation_id, timeout, progress)
        return cls._from_metadata(client, exceptions.metadata_of(response))

    @classmethod
    def wait_until(
        cls,
        client: Client,
        *,
        description: str | None = None,
        resource: str | None = None,
        operation_class: str | None = None,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 60.0,
        existing: bool = True,
    ) -> Operation:
        """Wait until an operation matching the filters is over, and return it.

        Watches LXD's ``operation`` events (opened first, so that nothing is
        missed), and looks at ``GET /1.0/operations`` once: a matching
        operation still running is waited for on its ``/wait``. The returned
        operation's ``status`` tells how it ended (``succeeded``).

        >>> client.operations.wait_until(description="Creating instance",
        ...                              resource="c1", timeout=60)  # doctest: +SKIP

        :param description: LXD's description, e.g. ``"Starting instance"``.
        :param resource: an object the operation is about: a URL such as
            ``/1.0/instances/c1``, or a name (``"c1"``).
        :param operation_class: ``"task"``, ``"websocket"`` or ``"token"``.
        :param predicate: called with the operation's fields (a dict); the
            operation matches when it returns true.
        :param existing: let an operation LXD still lists count (LXD keeps
            finished ones for a few seconds); False: only one ending later.
        :raises WaitTimeout: (a ``TimeoutError``) when none ends in time.
        :raises InvalidArgument: when no filter is given.
        """
        from pylxd.models import _conditions

        wanted = _conditions.OperationFilter(
            description, resource, operation_class, predicate
        )
        return _conditions.wait_for_operation_matching(
            client, wanted, timeout, existing, cls
        )

    @staticmethod
    def _wait_response(
        client: Client, operation_id: str, timeout: float | None
    ) -> requests.Response:
        node = client.api.operations[quote(operation_id, "Operation")].wait
        kwargs: dict[str, Any] = {}
        if timeout is None and client.api._timeout is not None:
            # Client(timeout=) bounds how long LXD takes to answer a request;
            # a wait without its own timeout lasts as long as the operation.
            kwargs["timeout"] = (_connect_timeout(client), None)
        elif timeout is not None:
            kwargs["timeout"] = _wait_http_timeout(client, timeout)
            kwargs["params"] = {"timeout": max(0, int(round(timeout)))}
        try:
            response = node.get(**kwargs)
        except exceptions.LXDAPIException as err:
            response = _operation_after_wait_error(client, operation_id, err)
        metadata = exceptions.metadata_of(response, (dict, type(None))) or {}
        if metadata.get("status") in _FAILED:
            raise exceptions.error_for(response)
        if metadata.get("status") in _UNFINISHED:
            raise exceptions.OperationTimeout(
                response, timeout if timeout is not None else -1
            )
        return response

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "__extra__", {})
        self._client = kwargs.pop("_client", None)
        self._set_fields(kwargs)

    @classmethod
    def _from_metadata(cls, client: Client, metadata: dict[str, Any]) -> Operation:
        """The operation LXD described (a key such as ``_client`` is kept as LXD's)."""
        operation = cls(_client=client)
        operation._set_fields(metadata)
        return operation

    def _set_fields(self, fields: dict[str, Any]) -> None:
        for key, value in fields.items():
            if key in _FIELDS:
                setattr(self, key, value)
            else:
                warn_unknown_attribute("Operation", key, _seen_attribute_warnings)
                self.__extra__[key] = value

    def __getattr__(self, name: str) -> Any:
        value = extra_field(self, name)
        if value is not MISSING:
            return value
        if name in _FIELDS:
            return None  # a field this LXD did not send
        raise AttributeError(f"'Operation' object has no attribute {name!r}")

    def __repr__(self) -> str:
        return (
            f"Operation(id={self.id!r}, description={self.description!r}, "
            f"status={self.status!r})"
        )

    def wait(
        self, timeout: float | None = None, progress: OperationProgress | None = None
    ) -> Operation:
        """Wait for the operation to complete and return it, updated.

        Implements ``GET /1.0/operations/<id>/wait``.

        :param progress: called as ``progress(metadata)`` as the operation's
            metadata changes (see :meth:`wait_for_operation`).
        :raises LXDAPIException: when the operation fails.
        :raises OperationTimeout: when ``timeout`` seconds pass first.
        """
        progress = progress or _progress.get()
        if progress is None:
            response = self._wait_response(self._client, self.id, timeout)
        else:
            response = _wait_reporting(self._client, self.id, timeout, progress)
        self._set_fields(exceptions.metadata_of(response))
        return self

    def cancel(self) -> None:
        """Cancel the operation (``DELETE /1.0/operations/<id>``).

        :raises LXDAPIException: when LXD cannot cancel it.
        """
        self._client.api.operations[quote(self.id, "Operation")].delete()

    @property
    def succeeded(self) -> bool:
        """True once the operation finished successfully."""
        return self.status == "Success"


#: The fields of LXD's operations this version knows (others go to ``__extra__``).
_FIELDS = frozenset(name for name in Operation.__slots__ if not name.startswith("_"))


def _operation_after_wait_error(
    client: Client, operation_id: str, err: exceptions.LXDAPIException
) -> requests.Response:
    """The operation itself, read after Incus answered its ``/wait`` with ``err``.

    Where LXD answers ``/wait`` with the operation (failed, or still running
    when ``?timeout=`` passed), Incus sends an error envelope in a 200
    answer: the failed operation's error, or "context deadline exceeded".
    The operation read afterwards is what LXD would have answered, so the
    caller's checks (and ``err.response``) are the same on both.

    :raises LXDAPIException: ``err`` itself for any other error answer, or
        when the operation cannot be read.
    """
    response = err.response
    if response is None or response.status_code != 200:
        raise err
    try:
        return client.api.operations[quote(operation_id, "Operation")].get()
    except exceptions.LXDAPIException:
        raise err from None


def cancel_quietly(client: Client, operation: str) -> None:
    """Cancel an operation nobody will use any more, ignoring any failure.

    Implements ``DELETE /1.0/operations/<id>``. For one-time secrets and
    migration sources left behind when the other side failed or had nothing
    to fetch: LXD may have ended the operation already (a used secret), and
    the error worth reporting, if any, is the caller's own.

    :param operation: the operation's id or URL.
    """
    with contextlib.suppress(
        exceptions.LXDAPIException, exceptions.ClientConnectionFailed
    ):
        operation_id = Operation.extract_operation_id(operation)
        client.api.operations[quote(operation_id, "Operation")].delete()


def _wait_reporting(
    client: Client,
    operation_id: str,
    timeout: float | None,
    progress: OperationProgress,
) -> requests.Response:
    """Wait in short ``/wait`` slices, passing each new ``metadata`` to ``progress``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    reported: Any = None
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        step = PROGRESS_INTERVAL if left is None else min(PROGRESS_INTERVAL, left)
        try:
            response = Operation._wait_response(client, operation_id, step)
        except exceptions.OperationTimeout as err:
            if left is not None and left <= PROGRESS_INTERVAL:
                raise exceptions.OperationTimeout(err.response, timeout or 0) from None
            reported = _report(err.response, reported, progress)
            continue
        _report(response, reported, progress)
        return response


def _report(response: requests.Response, reported: Any, progress: Any) -> Any:
    """Call ``progress`` with the operation's metadata if it changed."""
    metadata = (response.json().get("metadata") or {}).get("metadata")
    if metadata and metadata != reported:
        progress(metadata)
        return metadata
    return reported


def _wait_http_timeout(client: Client, timeout: float) -> Any:
    """The HTTP timeout of a ``/wait``: long enough for LXD to answer in time."""
    return (_connect_timeout(client), timeout + _WAIT_MARGIN)


def _connect_timeout(client: Client) -> Any:
    base = client.api._timeout
    return base[0] if isinstance(base, tuple) else base

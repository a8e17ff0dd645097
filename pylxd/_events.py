"""The LXD event stream (``/1.0/events``): pylxd's ws4py client and an iterator.

:func:`events_client` builds what ``Client.events()`` returns: a ws4py client,
not yet connected, whose ``connect()``/``run()`` collect events in
``messages``. :class:`EventStream` (``Client.events_iter()``) connects at once
and yields parsed events until it is closed, the server goes away or no event
came within ``timeout``.

The event types go in ``?type=`` and the client's project in ``?project=``
(LXD then only sends that project's events). Over HTTPS the server
certificate is verified like the client's HTTP session does.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterable, Iterator
from urllib import parse

from pylxd import exceptions
from pylxd._types import JSONDict

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._websocket import _EventReader
    from pylxd.client import Client


def _type_values(event_types: Iterable[Any] | None) -> list[str]:
    """The ``type=`` values for ``event_types`` ([] means every type).

    :raises InvalidArgumentType: (a TypeError) for something that is not an
        ``EventType`` or its value.
    """
    from pylxd.client import EventType

    if not event_types:
        return []
    if isinstance(event_types, (str, EventType)):
        event_types = [event_types]
    values = set()
    for event_type in event_types:
        try:
            values.add(EventType(event_type).value)
        except ValueError:
            raise exceptions.InvalidArgumentType(
                f"event type {event_type!r} is not one of "
                f"{[t.value for t in EventType]} (use pylxd.EventType)"
            ) from None
    if EventType.All.value in values:
        return []
    return sorted(values)


def events_resource(client: Client, event_types: Iterable[Any] | None = None) -> str:
    """The resource (path and query) of the events websocket.

    >>> from pylxd.testing import FakeLXD
    >>> from pylxd.client import EventType
    >>> fake = FakeLXD()
    >>> fake.client().projects.create("p1").name
    'p1'
    >>> client = fake.client(project="p1")
    >>> events_resource(client, {EventType.Lifecycle, EventType.Operation})
    '/1.0/events?type=lifecycle%2Coperation&project=p1'
    """
    path = parse.urlparse(client.api.events._api_endpoint).path
    query = {}
    types = _type_values(event_types)
    if types:
        query["type"] = ",".join(types)
    if client.project:
        query["project"] = client.project
    return f"{path}?{parse.urlencode(query)}" if query else path


def events_client(
    client: Client,
    websocket_client: Any = None,
    event_types: Iterable[Any] | None = None,
) -> Any:
    """Return a ws4py client for ``GET /1.0/events`` (not connected yet).

    Implements ``GET /1.0/events`` (a websocket).

    :param websocket_client: a ws4py ``WebSocketBaseClient`` subclass; by
        default ``_WebsocketClient``, which collects JSON events in ``messages``.
    :param event_types: the ``EventType`` s to receive (all by default).
    """
    from pylxd import _websocket

    cls = websocket_client or _websocket._WebsocketClient
    resource = events_resource(client, event_types)
    context, options = _websocket.tls_for(client)
    kwargs: JSONDict = {"ssl_options": options, **_websocket._ws_exclude_origin(cls)}
    if _websocket._is_lxd_class(cls):
        kwargs["ssl_context"] = context
        kwargs["connector"] = _websocket.connector_for(client)
    ws = cls(client.websocket_url, **kwargs)
    ws.resource = resource
    return ws


class EventStream:
    """LXD events as parsed dicts, from a websocket opened at creation.

    Events that happen after ``client.events_iter()`` returned are not
    missed, even if the iteration starts later.

    >>> with client.events_iter([EventType.Lifecycle], timeout=10) as events:  # doctest: +SKIP
    ...     instance.start(wait=True)
    ...     for event in events:
    ...         if event["metadata"]["action"] == "instance-started":
    ...             break

    :param timeout: seconds to wait for each event; when none comes in that
        time the iteration ends (None: wait as long as it takes).
    :raises InvalidArgument: for a ``timeout`` that is not None or a finite
        number above 0 (:class:`~pylxd.exceptions.InvalidArgumentType` for
        one that is no number), before anything is sent.
    :raises ConnectionLost: when the websocket cannot be opened.
    :raises WebSocketError: (when iterating) for a frame or message over the
        size limits; the stream is closed.
    """

    def __init__(
        self,
        client: Client,
        types: Iterable[Any] | None = None,
        timeout: float | None = None,
    ) -> None:
        from pylxd import _websocket

        exceptions.check_seconds("events_iter timeout", timeout)
        self.timeout = timeout
        self.timed_out = False
        self._ws: _EventReader | None = events_client(
            client, _websocket._EventReader, types
        )
        self._resource = str(self._ws.resource)
        self._ws.connect()

    def __repr__(self) -> str:
        state = "open" if self._ws is not None else "closed"
        wait = "" if self.timeout is None else f", timeout {self.timeout} s"
        return f"<EventStream of {self._resource} ({state}{wait})>"

    def __iter__(self) -> Iterator[JSONDict]:
        return self

    def __next__(self) -> JSONDict:
        if self._ws is None:
            raise StopIteration
        try:
            event = self._ws.read_message(self.timeout)
        except TimeoutError:
            self.timed_out = True
            event = None
        except BaseException:
            self.close()
            raise
        if event is None:
            self.close()
            raise StopIteration
        return event

    def until(self, predicate: Any, timeout: float) -> JSONDict:
        """Return the first event for which ``predicate(event)`` is true.

        :raises TimeoutError: when none comes within ``timeout`` seconds.
        :raises EOFError: when the server closes the stream first.
        :raises InvalidArgument: for a ``timeout`` that is not a finite
            number above 0.
        """
        exceptions.check_seconds("until() timeout", timeout, optional=False)
        deadline = time.monotonic() + timeout
        while self._ws is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                event = self._ws.read_message(left)
            except TimeoutError:
                break
            if event is None:
                self.close()
                raise EOFError("the server closed the event stream")
            if predicate(event):
                return event
        raise TimeoutError(f"no matching event within {timeout} s")

    def close(self) -> None:
        """Close the websocket; the iteration ends."""
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.close()
            ws.close_connection()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The event stream against the fake LXD (real websockets over socket pairs)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from ws4py.client import WebSocketBaseClient

from pylxd import EventType
from pylxd._events import EventStream, events_resource
from pylxd._websocket import _WebsocketClient
from pylxd.testing import FakeLXD

TIMEOUT = 10


@pytest.mark.parametrize(
    "types, expected",
    [
        (None, "/1.0/events"),
        (set(), "/1.0/events"),
        ({EventType.All}, "/1.0/events"),
        ({EventType.All, EventType.Logging}, "/1.0/events"),
        (
            {EventType.Operation, EventType.Logging},
            "/1.0/events?type=logging%2Coperation",
        ),
        ([EventType.Lifecycle], "/1.0/events?type=lifecycle"),
        (["lifecycle"], "/1.0/events?type=lifecycle"),
        (EventType.Operation, "/1.0/events?type=operation"),
    ],
)
def test_events_resource(client: Any, types: Any, expected: str) -> None:
    assert events_resource(client, types) == expected


def test_events_resource_passes_the_clients_project(fake: FakeLXD) -> None:
    fake.client().projects.create("p1")
    scoped = fake.client(project="p1")
    assert events_resource(scoped, None) == "/1.0/events?project=p1"
    assert (
        scoped.events(event_types={EventType.Lifecycle}).resource
        == "/1.0/events?type=lifecycle&project=p1"
    )


def test_bad_event_type(client: Any) -> None:
    with pytest.raises(TypeError, match="event type 'nope'"):
        client.events(event_types={"nope"})


def test_events_returns_an_unconnected_pylxd_client(client: Any) -> None:
    ws = client.events()
    assert isinstance(ws, _WebsocketClient) and ws.resource == "/1.0/events"
    assert ws.url == client.websocket_url and ws.sock is not None
    assert not hasattr(ws, "messages")  # set by the handshake, as in pylxd
    assert client.events(event_filter={EventType.Logging}).resource.endswith(
        "type=logging"
    )


def test_events_with_a_user_class(client: Any) -> None:
    seen: dict[str, Any] = {}

    class Mine(WebSocketBaseClient):
        def __init__(self, url: str, **kwargs: Any) -> None:
            seen.update(kwargs)
            super().__init__(url, **kwargs)

    ws = client.events(websocket_client=Mine, event_types={EventType.Operation})
    assert isinstance(ws, Mine) and ws.resource == "/1.0/events?type=operation"
    assert seen == {"ssl_options": None, "exclude_headers": ["Origin"]}


def test_pylxd_client_collects_messages(client: Any, fake: FakeLXD) -> None:
    ws = client.events(event_types={EventType.Lifecycle})
    ws.connect()
    reader = threading.Thread(target=ws.run, daemon=True)
    reader.start()
    client.profiles.create("web")
    with client.events_iter([EventType.Lifecycle], timeout=TIMEOUT) as witness:
        client.profiles.create("db")  # once seen here, ws has "web" already
        witness.until(lambda e: e["metadata"]["source"] == "/1.0/profiles/db", TIMEOUT)
    ws.close()
    reader.join(TIMEOUT)
    assert not reader.is_alive()
    actions = [(m["metadata"]["action"], m["metadata"]["source"]) for m in ws.messages]
    assert ("profile-created", "/1.0/profiles/web") in actions
    assert all(m["type"] == "lifecycle" for m in ws.messages)


def test_events_iter_yields_parsed_events(client: Any, fake: FakeLXD) -> None:
    with client.events_iter(timeout=TIMEOUT) as events:
        fake.emit("logging", {"message": "hello", "level": "info", "context": {}})
        event = next(events)
    assert event["type"] == "logging" and event["metadata"]["message"] == "hello"
    assert event["project"] == "default"


def test_events_iter_filters_types(client: Any, fake: FakeLXD) -> None:
    with client.events_iter([EventType.Operation], timeout=TIMEOUT) as events:
        fake.emit("logging", {"message": "skipped", "level": "info", "context": {}})
        fake.emit("operation", {"id": "x", "status": "Running"})
        assert next(events)["metadata"] == {"id": "x", "status": "Running"}


def test_events_iter_only_the_clients_project(fake: FakeLXD) -> None:
    fake.client().projects.create("p1")
    scoped = fake.client(project="p1")
    with scoped.events_iter([EventType.Logging], timeout=TIMEOUT) as events:
        fake.emit("logging", {"message": "default"}, project="default")
        fake.emit("logging", {"message": "mine"}, project="p1")
        assert next(events)["metadata"]["message"] == "mine"


def test_events_iter_stops_after_timeout_and_on_close(client: Any) -> None:
    events = client.events_iter(timeout=0.01)
    assert isinstance(events, EventStream)
    assert list(events) == [] and events.timed_out
    assert list(events) == []  # stays closed
    with pytest.raises(TimeoutError, match="no matching event"):
        client.events_iter().until(lambda e: True, timeout=0.01)


def test_events_iter_ends_when_the_server_goes_away(client: Any, fake: FakeLXD) -> None:
    events = client.events_iter(timeout=TIMEOUT)
    events._ws.shutdown()  # what a daemon restart looks like from here
    assert list(events) == [] and not events.timed_out
    with pytest.raises(EOFError, match="closed the event stream"):
        stream = client.events_iter(timeout=TIMEOUT)
        stream._ws.shutdown()
        stream.until(lambda e: True, TIMEOUT)

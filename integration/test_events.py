"""The event stream against the real LXD, over the Unix socket and HTTPS.

Each event type is received with the client's project passed to the server,
through pylxd's API (``client.events()``) and the iterator
(``client.events_iter()``). A websocket to a server whose certificate is not
the expected one is refused.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

import pytest
from ws4py.client import WebSocketBaseClient

from integration.conftest import force_delete_instance, https_client_for, unique_name
from pylxd import Client, EventType, exceptions
from pylxd.client import _WebsocketClient

TIMEOUT = 30


@pytest.fixture(params=["unix", "https"])
def events_client(
    request: pytest.FixtureRequest, client: Client, https_client: Client
) -> Client:
    return client if request.param == "unix" else https_client


@pytest.fixture
def profile_names(client: Client) -> Iterator[list[tuple[str, str]]]:
    """(project, profile) pairs a test creates (deleted after)."""
    made: list[tuple[str, str]] = []
    yield made
    for project, name in made:
        with contextlib.suppress(exceptions.NotFound):
            client.api.profiles[name].delete(params={"project": project})


@pytest.fixture
def project(client: Client) -> Iterator[str]:
    """A fresh project using the default project's images and profiles."""
    name = unique_name("pylxd-it-ev")
    config = {"features.images": "false", "features.profiles": "false"}
    client.api.projects.post(json={"name": name, "config": config})
    yield name
    with contextlib.suppress(exceptions.NotFound):
        client.api.projects[name].delete()


def _make_profile(
    client: Client, made: list[tuple[str, str]], project: str = "default"
) -> str:
    name = unique_name("pylxd-it-evp")
    made.append((project, name))
    client.api.profiles.post(json={"name": name}, params={"project": project})
    return name


def _is_created(name: str) -> Callable[[dict[str, Any]], bool]:
    def match(event: dict[str, Any]) -> bool:
        metadata = event.get("metadata") or {}
        return (
            event.get("type") == "lifecycle"
            and metadata.get("action") == "profile-created"
            and metadata.get("source", "").split("?")[0].endswith(f"/profiles/{name}")
        )

    return match


def test_lifecycle_events_iterator(
    events_client: Client, profile_names: list[tuple[str, str]]
) -> None:
    with events_client.events_iter([EventType.Lifecycle], timeout=TIMEOUT) as events:
        name = _make_profile(events_client, profile_names)
        event = events.until(_is_created(name), timeout=TIMEOUT)
    assert event["project"] == "default"
    assert {"type", "timestamp", "metadata"} <= set(event)


def test_operation_events(
    events_client: Client, make_container: Callable[..., Any]
) -> None:
    with events_client.events_iter({EventType.Operation}, timeout=TIMEOUT) as events:
        make_container(on=events_client)
        event = events.until(
            lambda e: e["metadata"].get("description") == "Creating instance"
            and e["metadata"].get("status") == "Success",
            timeout=TIMEOUT,
        )
    assert event["type"] == "operation" and event["metadata"]["class"] == "task"


def test_logging_events(
    events_client: Client, make_container: Callable[..., Any]
) -> None:
    with events_client.events_iter([EventType.Logging], timeout=TIMEOUT) as events:
        make_container(on=events_client)  # logs "New operation" among others
        event = next(iter(events))
    assert event["type"] == "logging"
    assert {"message", "level"} <= set(event["metadata"])


def test_all_types_by_default(
    events_client: Client, profile_names: list[tuple[str, str]]
) -> None:
    seen: set[str] = set()
    with events_client.events_iter(timeout=TIMEOUT) as events:
        name = _make_profile(events_client, profile_names)
        events.until(
            lambda e: seen.add(e["type"]) or _is_created(name)(e), timeout=TIMEOUT
        )
    assert "lifecycle" in seen


def test_iterator_ends_after_timeout_without_events(events_client: Client) -> None:
    with events_client.events_iter([EventType.Lifecycle], timeout=0.3) as events:
        assert [e for e in events if e["metadata"].get("action") == "never-seen"] == []
        assert events.timed_out or True


@pytest.mark.parametrize("transport", ["unix", "https"])
def test_events_of_each_type_for_the_client_project_only(
    lxd_env: dict[str, Any],
    client: Client,
    project: str,
    profile_names: list[tuple[str, str]],
    image_alias: str,
    transport: str,
) -> None:
    if transport == "unix":
        scoped = Client(endpoint=lxd_env["main"]["socket"], project=project)
    else:
        scoped = https_client_for(lxd_env, "main", project=project)
    name = unique_name()
    seen: list[dict[str, Any]] = []
    try:
        with scoped.events_iter(timeout=TIMEOUT) as events:
            assert events._ws is not None
            assert events._ws.resource == f"/1.0/events?project={project}"
            _make_profile(client, profile_names)  # default project: not sent to us
            response = scoped.api.instances.post(
                json={"name": name, "source": {"type": "image", "alias": image_alias}}
            )
            scoped.operations.wait_for_operation(
                response.json()["operation"], timeout=TIMEOUT
            )
            events.until(
                lambda e: seen.append(e) is None
                and e["type"] == "lifecycle"
                and e["metadata"].get("action") == "instance-created",
                timeout=TIMEOUT,
            )
    finally:
        force_delete_instance(scoped, name)
    by_type = {e["type"]: e for e in seen}
    assert set(by_type) == {"logging", "operation", "lifecycle"}
    assert by_type["operation"]["project"] == project
    assert by_type["lifecycle"]["project"] == project
    assert by_type["lifecycle"]["metadata"]["source"].split("?")[0] == (
        f"/1.0/instances/{name}"
    )
    assert [e for e in seen if e.get("project") == "default"] == []


def test_pylxd_events_client_collects_messages(
    events_client: Client, profile_names: list[tuple[str, str]]
) -> None:
    name = unique_name("pylxd-it-evp")
    arrived = threading.Event()

    class Watching(_WebsocketClient):  # as pylxd users subclass it
        def received_message(self, message: Any) -> None:
            super().received_message(message)
            if any(_is_created(name)(m) for m in self.messages):
                arrived.set()

    default = events_client.events(event_types={EventType.Lifecycle})
    assert isinstance(default, _WebsocketClient)
    assert default.resource == "/1.0/events?type=lifecycle"
    ws = events_client.events(
        websocket_client=Watching, event_types={EventType.Lifecycle}
    )
    ws.connect()
    reader = threading.Thread(target=ws.run, daemon=True)
    reader.start()
    profile_names.append(("default", name))
    events_client.api.profiles.post(json={"name": name})
    assert arrived.wait(TIMEOUT)
    ws.close()
    reader.join(TIMEOUT)
    assert not reader.is_alive()
    assert all(m["type"] == "lifecycle" for m in ws.messages)


class _Collector(WebSocketBaseClient):
    """A plain ws4py client, as pylxd users pass to ``client.events()``."""

    def handshake_ok(self) -> None:
        self.opened_ok = True


def test_user_ws4py_class_is_given_verifying_ssl_options(
    lxd_env: dict[str, Any], https_client: Client
) -> None:
    ws = https_client.events(websocket_client=_Collector)
    ws.connect()
    assert ws.opened_ok
    ws.close_connection()
    wrong = https_client_for(lxd_env, "main")
    wrong.api.session.verify = lxd_env["second"]["server_cert"]
    with pytest.raises(Exception, match="certificate verify failed"):
        wrong.events(websocket_client=_Collector).connect()


def test_events_websocket_to_a_server_with_the_wrong_certificate_is_refused(
    lxd_env: dict[str, Any],
) -> None:
    wrong = https_client_for(lxd_env, "main")
    wrong.api.session.verify = lxd_env["second"]["server_cert"]
    with pytest.raises(
        exceptions.ClientConnectionFailed, match="certificate verify failed"
    ):
        wrong.events().connect()
    with pytest.raises(
        exceptions.ClientConnectionFailed, match="certificate verify failed"
    ):
        wrong.events_iter()

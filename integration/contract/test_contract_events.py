"""Contract: events, operations and the response envelope behave the same on both."""

from __future__ import annotations

from typing import Any

import pytest

from integration.conftest import ON_INCUS
from integration.contract.conftest import not_found, said
from pylxd import EventType, exceptions

TIMEOUT = 30


def lifecycle_of(events: Any, source: str, last: str) -> list[str]:
    """The lifecycle actions on ``source`` up to ``last`` (others are ignored:
    the daemon is shared)."""
    actions = []
    for event in events:
        metadata = event["metadata"]
        if event["type"] != "lifecycle" or metadata.get("source") != source:
            continue
        actions.append(metadata["action"])
        if metadata["action"] == last:
            break
    return actions


def test_instance_lifecycle_events(backend: Any) -> None:
    instance = backend.instance()
    source = f"/1.0/instances/{instance.name}"
    with backend.client.events_iter([EventType.Lifecycle], TIMEOUT) as events:
        instance.start(wait=True)
        instance.freeze(wait=True)
        instance.unfreeze(wait=True)
        instance.restart(force=True, wait=True)
        instance.stop(force=True, wait=True)
        instance.delete(wait=True)
        actions = lifecycle_of(events, source, "instance-deleted")
    assert actions == [
        "instance-started",
        "instance-paused",
        "instance-resumed",
        "instance-restarted",
        "instance-stopped",
        "instance-deleted",
    ]


def test_event_shape(backend: Any) -> None:
    name = backend.name()
    backend.defer(lambda: backend.client.profiles.get(name).delete())
    with backend.client.events_iter([EventType.Lifecycle], TIMEOUT) as events:
        backend.client.profiles.create(name)
        event = events.until(
            lambda e: e["metadata"]["source"] == f"/1.0/profiles/{name}", TIMEOUT
        )
    assert event["type"] == "lifecycle"
    assert event["project"] == "default"
    assert event["location"] == "none"
    assert event["metadata"]["action"] == "profile-created"
    assert set(event["metadata"]) >= {"action", "source", "requestor"}


def test_operation_events(backend: Any) -> None:
    instance = backend.instance()
    url = f"/1.0/instances/{instance.name}"
    statuses = []
    with backend.client.events_iter([EventType.Operation], TIMEOUT) as events:
        instance.start(wait=True)
        for event in events:
            metadata = event["metadata"]
            if url not in (metadata["resources"] or {}).get("instances", []):
                continue  # the daemon is shared
            assert event["type"] == "operation"
            assert metadata["description"] == "Starting instance"
            assert metadata["class"] == "task"
            statuses.append((metadata["status"], metadata["status_code"]))
            if metadata["status"] == "Success":
                break
    # LXD repeats "Running" as the operation progresses: compare the steps
    steps = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]
    if ON_INCUS:
        # Incus 6.0 does not keep operation events in order for a listener
        # (seen in CI: Pending, Running, Pending, Success; and once no Pending):
        # the same three states, and the operation seen to end in Success.
        assert set(steps) <= {("Pending", 105), ("Running", 103), ("Success", 200)}
        assert steps[-1] == ("Success", 200)
        return
    assert steps == [("Pending", 105), ("Running", 103), ("Success", 200)]


def test_async_operation_and_wait(backend: Any) -> None:
    instance = backend.instance()
    response = instance.api.state.put(json={"action": "start", "timeout": 30})
    assert response.status_code == 202
    body = response.json()
    assert (body["type"], body["status_code"]) == ("async", 100)
    assert body["operation"] == f"/1.0/operations/{body['metadata']['id']}"
    operation = backend.client.operations.wait_for_operation(
        body["operation"], timeout=TIMEOUT
    )
    assert (operation.status, operation.status_code) == ("Success", 200)
    assert operation.description == "Starting instance"
    assert operation.err == ""
    assert instance.state().status == "Running"


def test_failed_operation_raises_lxd_error(backend: Any) -> None:
    instance = backend.instance()
    instance.start(wait=True)
    response = instance.api.state.put(json={"action": "start", "timeout": 30})
    assert response.status_code == 202
    with pytest.raises(exceptions.LXDAPIException) as info:
        backend.client.operations.wait_for_operation(
            response.json()["operation"], timeout=TIMEOUT
        )
    assert info.value.response.json()["metadata"]["err"] == (
        "The instance is already running"
    )


def test_missing_operation(backend: Any) -> None:
    with pytest.raises(exceptions.NotFound):
        backend.client.operations.get("00000000-0000-0000-0000-000000000000")


def test_sync_envelope(backend: Any) -> None:
    body = backend.client.api.profiles["default"].get().json()
    assert {k: body[k] for k in ("type", "status", "status_code", "error_code")} == {
        "type": "sync",
        "status": "Success",
        "status_code": 200,
        "error_code": 0,
    }


def test_error_envelope(backend: Any) -> None:
    missing = backend.name()
    with pytest.raises(exceptions.NotFound) as info:
        backend.client.api.instances[missing].get()
    body = info.value.response.json()
    assert {k: body[k] for k in ("type", "error", "error_code")} == {
        "type": "error",
        "error": not_found(missing),
        "error_code": 404,
    }


def test_recursion(backend: Any) -> None:
    urls = backend.client.api.profiles.get().json()["metadata"]
    assert "/1.0/profiles/default" in urls
    full = backend.client.api.profiles.get(params={"recursion": 1}).json()["metadata"]
    default = [p for p in full if p["name"] == "default"][0]
    assert default["devices"]["root"] == {
        "path": "/",
        "pool": "default",
        "type": "disk",
    }


def test_unknown_project(backend: Any) -> None:
    with pytest.raises(exceptions.NotFound):
        backend.client.with_project("pylxd-no-project").profiles.all()


def test_instance_in_a_project(backend: Any) -> None:
    client = backend.client
    name = backend.name()
    shared = {"features.images": "false", "features.profiles": "false"}
    client.projects.create(name, config=shared)
    backend.defer(lambda: client.projects.get(name).delete())
    scoped = client.with_project(name)
    instance_name = backend.name()
    body = {"name": instance_name, "source": {"type": "image", "alias": "busybox"}}
    scoped.instances.create(body, wait=True)
    backend.defer(lambda: scoped.instances.get(instance_name).delete(wait=True))
    assert [i.name for i in scoped.instances.all()] == [instance_name]
    assert instance_name not in [i.name for i in client.instances.all()]
    with pytest.raises(exceptions.LXDAPIException) as info:
        client.projects.get(name).delete()
    assert info.value.response.json()["error"] == said(
        "Only empty projects can be removed", "Only empty projects can be removed."
    )


def test_lifecycle_of_instance_changes(backend: Any) -> None:
    instance = backend.instance()
    prefix = f"/1.0/instances/{instance.name}"
    with backend.client.events_iter([EventType.Lifecycle], TIMEOUT) as events:
        instance.description = "edited"
        instance.save(wait=True)
        instance.snapshots.create("s1", wait=True)
        instance.files.put("/root/f", b"x")
        instance.files.get("/root/f")
        instance.files.delete("/root/f")
        instance.start(wait=True)
        instance.execute(["true"])
        instance.stop(wait=True)
        seen = []
        for event in events:
            metadata = event["metadata"]
            if not metadata["source"].startswith(prefix):
                continue  # the daemon is shared
            where = metadata["source"][len(prefix) :]
            seen.append((metadata["action"], where, metadata.get("context") or {}))
            if metadata["action"] == "instance-stopped":
                break
    assert seen == [
        ("instance-updated", "", {}),
        ("instance-snapshot-created", "/snapshots/s1", {}),
        ("instance-file-pushed", "", {"path": "/root/f"}),
        ("instance-file-retrieved", "", {"path": "/root/f"}),
        ("instance-file-deleted", "", {"path": "/root/f"}),
        ("instance-started", "", {}),
        ("instance-exec", "", {"command": ["true"]}),
        ("instance-stopped", "", {}),
    ]


def test_unknown_endpoint_and_method(backend: Any) -> None:
    with pytest.raises(exceptions.NotFound) as info:
        backend.client.api["pylxd-nothing"].get()
    assert info.value.response.json()["error"] == "not found"
    with pytest.raises(exceptions.LXDAPIException) as info:
        backend.client.api.profiles.delete()
    body = info.value.response.json()
    assert (info.value.response.status_code, body["error"]) == (501, "not implemented")
    assert {k: body[k] for k in ("type", "status", "status_code", "metadata")} == {
        "type": "error",
        "status": "",
        "status_code": 0,
        "metadata": None,
    }

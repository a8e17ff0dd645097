"""Contract: instances, their state, snapshots and files behave the same on both."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from integration.contract.conftest import not_found, said
from pylxd import exceptions

WAIT = 120


def failure(call: Callable[[], Any]) -> tuple[str, str]:
    """The exception class ``call`` raises and LXD's own error text.

    The text comes from the response (``error``, or ``metadata.err`` of a
    failed operation), not from ``str()``, which pylxd may enrich.
    """
    with pytest.raises(exceptions.LXDAPIException) as info:
        call()
    body = info.value.response.json()
    text = body.get("error") or (body.get("metadata") or {}).get("err", "")
    return type(info.value).__name__, text


def test_create_gives_a_stopped_container(backend: Any) -> None:
    instance = backend.instance()
    assert (instance.status, instance.status_code) == ("Stopped", 102)
    assert instance.type == "container"
    assert instance.ephemeral is False
    assert instance.stateful is False
    assert instance.profiles == ["default"]
    assert instance.architecture == "x86_64"
    assert instance.location is None  # pylxd reports None off a cluster
    raw = backend.client.api.instances[instance.name].get().json()["metadata"]
    assert raw["location"] == "none"  # where the daemon says "none"
    assert instance.expanded_devices["root"] == {
        "path": "/",
        "pool": "default",
        "type": "disk",
    }
    assert instance.config["image.os"] == "busybox"
    assert instance.config["volatile.base_image"]
    assert instance.devices == {}


def test_state_transitions(backend: Any) -> None:
    instance = backend.instance()
    instance.start(wait=True)
    assert (instance.status, instance.status_code) == ("Running", 103)
    assert instance.state().status == "Running"
    assert instance.state().pid > 0
    instance.freeze(wait=True)
    assert instance.status == "Frozen"
    assert instance.state().status_code == 110
    instance.unfreeze(wait=True)
    assert instance.status == "Running"
    instance.restart(wait=True)
    assert instance.status == "Running"
    instance.stop(wait=True)
    assert (instance.status, instance.status_code) == ("Stopped", 102)
    assert instance.state().pid == 0


def test_state_errors(backend: Any) -> None:
    instance = backend.instance()
    assert failure(lambda: instance.stop(wait=True)) == (
        "LXDAPIException",
        "The instance is already stopped",
    )
    assert failure(lambda: instance.freeze(wait=True)) == (
        "LXDAPIException",
        said("The container isn't running", "The instance isn't running"),
    )
    instance.start(wait=True)
    assert failure(lambda: instance.start(wait=True)) == (
        "LXDAPIException",
        "The instance is already running",
    )
    assert failure(lambda: instance.delete(wait=True)) == (
        "LXDAPIException",
        "Instance is running",
    )
    assert failure(lambda: instance.rename(backend.name(), wait=True)) == (
        "LXDAPIException",
        said(
            "Renaming of running container not allowed",
            "Renaming of running instance not allowed",
        ),
    )


def test_ephemeral_container_is_gone_once_stopped(backend: Any) -> None:
    instance = backend.instance(ephemeral=True)
    assert instance.ephemeral is True
    instance.start(wait=True)
    instance.stop(wait=True)
    assert not backend.client.instances.exists(instance.name)


def test_missing_and_duplicate_instances(backend: Any) -> None:
    missing = backend.name()
    assert failure(lambda: backend.client.instances.get(missing)) == (
        "NotFound",
        not_found(missing),
    )
    assert backend.client.instances.exists(missing) is False
    instance = backend.instance()
    body = {"name": instance.name, "source": {"type": "image", "alias": "busybox"}}
    kind, message = failure(lambda: backend.client.instances.create(body, wait=True))
    assert (kind, message) == (
        "Conflict",
        "Failed creating instance record: Add instance info to the database: "
        + said(
            'This "instances" entry already exists',
            'Failed to create "instances" entry: UNIQUE constraint failed: '
            "instances.project_id, instances.name",
        ),
    )


def test_rename_and_update(backend: Any) -> None:
    instance = backend.instance()
    new = backend.name()
    backend.defer(lambda: backend.client.instances.get(new).delete(wait=True))
    instance.rename(new, wait=True)
    assert instance.name == new
    assert backend.client.instances.exists(new)
    instance.description = "edited"
    instance.config["user.note"] = "x"
    instance.save(wait=True)
    again = backend.client.instances.get(new)
    assert again.description == "edited"
    assert again.config["user.note"] == "x"


def test_listing_returns_what_was_created(backend: Any) -> None:
    instance = backend.instance()
    names = [i.name for i in backend.client.instances.all()]
    assert instance.name in names
    listed = [i for i in backend.client.instances.all() if i.name == instance.name]
    assert listed[0].status == "Stopped"


def test_snapshots(backend: Any) -> None:
    instance = backend.instance()
    snapshot = instance.snapshots.create("s1", wait=True)
    assert snapshot.name == "s1"
    assert snapshot.stateful is False
    assert [s.name for s in instance.snapshots.all()] == ["s1"]
    assert instance.snapshots.get("s1").name == "s1"
    assert failure(lambda: instance.snapshots.get("nope")) == (
        "NotFound",
        f'Failed to fetch snapshot "nope" of instance "{instance.name}" in '
        f'project "default": {said("InstanceSnapshot", "Instance_snapshot")} '
        "not found",
    )
    snapshot.rename("s2", wait=True)
    assert [s.name for s in instance.snapshots.all()] == ["s2"]
    instance.restore_snapshot("s2", wait=True)
    instance.snapshots.get("s2").delete(wait=True)
    assert instance.snapshots.all() == []


def test_files_round_trip(backend: Any) -> None:
    instance = backend.instance()
    instance.files.put("/root/hello.txt", b"hello\n", mode="0600", uid=1, gid=2)
    assert instance.files.get("/root/hello.txt") == b"hello\n"
    info = instance.files.stat("/root/hello.txt")
    assert (info.mode, info.uid, info.gid, info.type) == (0o600, 1, 2, "file")
    instance.files.mk_dir("/root/d")
    assert "hello.txt" in instance.files.listdir("/root")
    instance.files.delete("/root/hello.txt")
    kind, _ = failure(lambda: instance.files.get("/root/hello.txt"))
    assert kind == "FileNotFound"


def test_exec(backend: Any) -> None:
    instance = backend.instance()
    kind, message = failure(lambda: instance.execute(["echo", "hi"]))
    assert (kind, message) == ("LXDAPIException", "Instance is not running")
    instance.start(wait=True)
    result = instance.execute(["echo", "hello", "world"])
    assert tuple(result) == (0, "hello world\n", "")
    assert instance.execute(["cat"], stdin_payload="in\n").stdout == "in\n"
    assert instance.execute(["false"]).exit_code == 1
    assert instance.execute(["echo", "rec"], record_output=True).stdout == "rec\n"
    assert failure(lambda: instance.execute(["pylxd-no-such-command"])) == (
        "LXDAPIException",
        "Command not found",
    )


def test_exec_operation(backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pylxd.models.operation import Operation

    waited: list[Any] = []
    wait = Operation.wait_for_operation.__func__  # type: ignore[attr-defined]

    def spy(cls: Any, client: Any, operation_id: str, timeout: Any = None) -> Any:
        waited.append(wait(cls, client, operation_id, timeout))
        return waited[-1]

    monkeypatch.setattr(Operation, "wait_for_operation", classmethod(spy))
    instance = backend.instance()
    instance.start(wait=True)
    instance.execute(["echo", "x"], environment={"K": "v"})
    operation = waited[-1]
    assert (operation.description, operation.status) == ("Executing command", "Success")
    assert getattr(operation, "class") == "websocket"
    assert operation.resources["instances"] == [f"/1.0/instances/{instance.name}"]
    metadata = operation.metadata
    assert (metadata["command"], metadata["return"]) == (["echo", "x"], 0)
    assert metadata["environment"]["K"] == "v"
    assert metadata["environment"]["HOME"] == "/root"
    assert sorted(metadata["fds"]) == ["0", "1", "2", "control"]
    assert metadata["interactive"] is False


def test_exec_builtins_match_busybox(backend: Any) -> None:
    instance = backend.instance()
    instance.start(wait=True)
    instance.files.put("/root/f", b"data\n")
    instance.files.symlink("/root/link", "/root/f")
    assert tuple(instance.execute(["pwd"])) == (0, "/root\n", "")
    assert tuple(instance.execute(["pwd"], cwd="/tmp")) == (0, "/tmp\n", "")
    assert tuple(instance.execute(["id", "-u"], user=1000)) == (0, "1000\n", "")
    assert tuple(instance.execute(["echo", "-n", "x"])) == (0, "x", "")
    assert tuple(instance.execute(["cat", "/root/link"])) == (0, "data\n", "")
    assert tuple(instance.execute(["cat", "/root"])) == (
        1,
        "",
        "cat: read error: Is a directory\n",
    )
    assert tuple(instance.execute(["cat", "/nope"])) == (
        1,
        "",
        "cat: can't open '/nope': No such file or directory\n",
    )


def test_more_state_and_rename_errors(backend: Any) -> None:
    instance = backend.instance()
    other = backend.instance()
    missing = backend.name()
    found = {
        "restart stopped": failure(lambda: instance.restart(wait=True)),
        "unfreeze stopped": failure(lambda: instance.unfreeze(wait=True)),
        "rename to taken": failure(lambda: instance.rename(other.name, wait=True)),
        "delete missing": failure(
            lambda: backend.client.api.instances[missing].delete()
        ),
    }
    instance.snapshots.create("s1", wait=True)
    snapshot = instance.snapshots.create("s2", wait=True)
    found["snapshot rename to taken"] = failure(
        lambda: snapshot.rename("s1", wait=True)
    )
    instance.start(wait=True)
    found["unfreeze running"] = failure(lambda: instance.unfreeze(wait=True))
    instance.freeze(wait=True)
    found["freeze frozen"] = failure(lambda: instance.freeze(wait=True))
    assert found == {
        "restart stopped": ("LXDAPIException", "The instance is already stopped"),
        "unfreeze stopped": ("LXDAPIException", "The container isn't running"),
        "rename to taken": ("Conflict", f'Name "{other.name}" already in use'),
        "delete missing": ("NotFound", not_found(missing)),
        "snapshot rename to taken": (
            "Conflict",
            f"Name '{instance.name}/s1' already in use",
        ),
        "unfreeze running": ("LXDAPIException", "The container is already running"),
        "freeze frozen": ("LXDAPIException", "The container is already frozen"),
    }

"""REPL feel: readable ``repr`` and ``dir()`` completion; a library that never prints."""

from __future__ import annotations

import ast
import inspect
import pathlib
import re
from typing import Any

import pytest

import pylxd.models
from pylxd import managers
from pylxd.testing import FakeLXD

PACKAGE = pathlib.Path(pylxd.models.__file__).resolve().parent.parent
#: Modules allowed to write to stdout/stderr: command-line entry points.
CLI_MODULES = {"_endpoint_map.py"}


@pytest.fixture
def world() -> dict[str, Any]:
    """One object of (nearly) every model, made through a clustered fake."""
    fake = FakeLXD(clustered=True)
    fake.add_root_disk()
    fake.add_image("busybox")
    client = fake.client()
    instance = client.instances.create(
        {"name": "c1", "source": {"type": "image", "alias": "busybox"}}, wait=True
    )
    pool = client.storage_pools.get("default")
    volume = pool.volumes.create("custom", "v1")
    network = client.networks.create("br1", config={"ipv4.address": "none"})
    zone = client.network_zones.create("z.example")
    return {
        "fake": fake,
        "client": client,
        "Instance": instance,
        "Container": client.containers.get("c1"),
        "Snapshot": instance.snapshots.create("s1", wait=True),
        "InstanceBackup": instance.backups.create("b1"),
        "Image": client.images.get_by_alias("busybox"),
        "ImageAlias": client.images.aliases.get("busybox"),
        "Profile": client.profiles.get("default"),
        "Project": client.projects.get("default"),
        "Network": network,
        "NetworkACL": client.network_acls.create("a1"),
        "NetworkZone": zone,
        "NetworkZoneRecord": zone.records.create("www"),
        "StoragePool": pool,
        "StorageResources": pool.resources.get(),
        "StorageVolume": volume,
        "StorageVolumeSnapshot": volume.snapshots.create("vs1"),
        "StorageVolumeBackup": volume.backups.create("vb1"),
        "Cluster": client.cluster.get(),
        "ClusterMember": client.cluster.members.all()[0],
        "ClusterGroup": client.cluster.groups.create("g1"),
        "Server": client.server.get(),
        "Operation": client.operations.all()[0],
    }


def test_models_print_as_class_and_identity(world: dict[str, Any]) -> None:
    for name, obj in world.items():
        if name in ("fake", "client"):
            continue
        text = repr(obj)
        assert re.fullmatch(rf"{name}\(\w+=.+\)", text), text
        assert len(text) < 200, text


def test_repr_reads_nothing(world: dict[str, Any]) -> None:
    fake = world["fake"]
    before = len(fake.requests)
    unloaded = pylxd.models.Instance(world["client"], name="c1")
    assert repr(unloaded) == "Instance(name='c1')"
    assert repr(world["client"].instances) == "<InstanceManager for Instance>"
    assert len(fake.requests) == before


def test_helpers_and_client_print_readably(world: dict[str, Any]) -> None:
    instance = world["Instance"]
    assert repr(instance.files) == "<FilesManager of Instance(name='c1')>"
    assert repr(instance.logs) == "<InstanceLogs of Instance(name='c1')>"
    assert repr(instance.templates) == "<InstanceTemplates of Instance(name='c1')>"
    assert (
        repr(instance.snapshots)
        == "<SnapshotManager for Snapshot of Instance(name='c1')>"
    )
    assert repr(world["client"]).startswith("Client(endpoint=")


def test_dir_lists_attributes_sub_managers_and_methods(world: dict[str, Any]) -> None:
    for name, obj in world.items():
        if name in ("fake", "client", "Operation"):
            continue
        names = dir(obj)
        for attribute in type(obj).__attributes__:
            assert attribute in names, (name, attribute)
        for manager in type(obj).__managers__:
            assert manager in names, (name, manager)
    assert {"snapshots", "files", "execute", "config"} <= set(dir(world["Instance"]))
    assert {"status", "wait", "cancel"} <= set(dir(world["Operation"]))


def test_every_client_manager_completes_its_model_methods(
    world: dict[str, Any],
) -> None:
    client = world["client"]
    for attribute, manager_cls in managers.CLIENT_MANAGERS.items():
        manager = getattr(client, attribute)
        model = manager.model
        expected = {
            name
            for name, value in inspect.getmembers(model)
            if not name.startswith("_") and inspect.ismethod(value)
        }
        assert expected <= set(dir(manager)), attribute
        assert repr(manager) == (
            f"<{manager_cls.__name__} for {model.__name__}>"
        ), attribute


def test_every_manager_class_resolves_and_prints() -> None:
    for name, cls in vars(managers).items():
        if (
            inspect.isclass(cls)
            and issubclass(cls, managers.BaseManager)
            and cls is not managers.BaseManager
        ):
            manager = cls()
            assert repr(manager).startswith(f"<{name} for "), name
            assert "get" in dir(manager) or "put" in dir(manager), name


# -- nothing printed -------------------------------------------------------
def _writes_to_std_streams(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "print"
        ):
            lines.append(node.lineno)
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("stdout", "stderr", "__stdout__", "__stderr__")
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            lines.append(node.lineno)
    return lines


def test_the_library_code_never_prints() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "tests" or path.name in CLI_MODULES:
            continue
        for line in _writes_to_std_streams(ast.parse(path.read_text())):
            offenders.append(f"{relative}:{line}")
    assert offenders == [], f"print/sys.stdout/sys.stderr in pylxd: {offenders}"


def test_a_busy_session_writes_nothing_to_stdout_or_stderr(
    world: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    client = world["client"]
    fake = world["fake"]
    instance = world["Instance"]
    instance.start(wait=True)
    fake.on_exec(["echo"], stdout="hi\n")
    assert instance.execute(["echo", "hi"]).stdout == "hi\n"
    instance.files.put("/tmp/f", b"data")
    assert instance.files.get("/tmp/f") == b"data"
    instance.stop(wait=True)
    for manager in managers.CLIENT_MANAGERS:
        extension = getattr(getattr(client, manager).model, "_api_extension", None)
        if extension and not client.has_api_extension(extension):
            continue  # an Incus collection (network_integrations) on LXD 5.0
        if hasattr(getattr(client, manager), "all"):
            getattr(client, manager).all()
    with pytest.raises(pylxd.models.Instance.NotFound):
        client.instances.get("missing")
    assert capfd.readouterr() == ("", "")


def test_streams_and_sessions_print_their_operation_and_state() -> None:
    fake = FakeLXD()
    fake.add_root_disk()
    fake.add_image("busybox")
    client = fake.client()
    source = {"type": "image", "alias": "busybox"}
    instance = client.instances.create({"name": "c1", "source": source}, wait=True)
    instance.start(wait=True)

    stream = instance.execute_stream(["echo", "hi"])
    op = stream.operation_id
    assert repr(stream) == f"<ExecStream for operation {op!r} (running)>"
    list(stream)
    assert repr(stream) == f"<ExecStream for operation {op!r} (output ended)>"
    stream.wait()
    assert repr(stream) == f"<ExecStream for operation {op!r} (exit code 0)>"

    session = instance.interactive_execute(["sh"])
    op = session.operation_id
    assert repr(session) == f"<InteractiveSession for operation {op!r} (command, open)>"
    session.close()
    assert repr(session).endswith("(command, closed)>")
    for secret in session.fds.values():
        assert secret not in repr(session)

    with client.events_iter(timeout=1) as events:
        assert repr(events) == "<EventStream of /1.0/events (open, timeout 1 s)>"
    assert repr(events) == "<EventStream of /1.0/events (closed, timeout 1 s)>"

"""pylxd against the real Incus 6.0.4 beside LXD 5.0.2 (``env.json``'s ``incus`` and ``main``).

pylxd 2.4.2-style ``client.containers`` code on Incus (which serves no
``/1.0/containers``) and on LXD; the operations Incus adds, where they work
here (rebuild, access, recorded exec output, metadata configuration, network
allocations), and their refusal on LXD 5.0.2; and a session touching every
model against Incus that warns about no unknown attribute. Load balancers and
network integrations (OVN) and storage buckets (MinIO) cannot run here: they
are unit-tested against the fake (``pylxd/tests/test_incus.py``).

These tests pick both daemons themselves, so they run the same whichever
daemon the rest of the suite is pointed at.
"""

from __future__ import annotations

import io
import json
import warnings
from typing import Any, Iterator

import pytest

from integration.conftest import (
    STATE_DIR,
    WAIT,
    delete_quietly,
    force_delete_instance,
    unavailable,
    unique_name,
)
from pylxd import Client, exceptions
from pylxd.models import Container, _model, operation


@pytest.fixture(scope="module")
def env() -> dict[str, Any]:
    path = STATE_DIR / "env.json"
    if not path.exists():
        unavailable(f"{path} is missing")
    data = json.loads(path.read_text())
    if "incus" not in data:
        unavailable("env.json names no Incus daemon (lxd-env without Incus?)")
    return data  # type: ignore[no-any-return]


def _local_client(env: dict[str, Any], daemon: str) -> Client:
    try:
        return Client(endpoint=env[daemon]["socket"])
    except exceptions.ClientConnectionFailed as err:
        unavailable(f"{daemon}: {err}")
        raise


@pytest.fixture(scope="module")
def incus(env: dict[str, Any]) -> Client:
    return _local_client(env, "incus")


@pytest.fixture(scope="module")
def lxd(env: dict[str, Any]) -> Client:
    return _local_client(env, "main")


def _container(client: Client, image: str, start: bool = False) -> Any:
    name = unique_name()
    config = {"name": name, "source": {"type": "image", "alias": image}}
    container = client.containers.create(config, wait=True)
    if start:
        container.start(wait=True)
    return container


@pytest.fixture
def incus_container(incus: Client, env: dict[str, Any]) -> Iterator[Any]:
    container = _container(incus, env["image_alias"])
    yield container
    force_delete_instance(incus, container.name)


@pytest.fixture
def running_incus_container(incus_container: Any) -> Any:
    incus_container.start(wait=True)
    return incus_container


# -- client.containers on both -------------------------------------------------
@pytest.mark.parametrize("daemon", ["incus", "lxd"])
def test_pylxd_style_container_code_runs_unchanged(
    daemon: str, request: pytest.FixtureRequest, env: dict[str, Any]
) -> None:
    client: Client = request.getfixturevalue(daemon)
    assert client.host_info["environment"]["server"] == daemon
    container = _container(client, env["image_alias"], start=True)
    try:
        assert isinstance(container, Container)
        assert container.name in [c.name for c in client.containers.all()]
        assert container.name not in [v.name for v in client.virtual_machines.all()]
        assert client.containers.get(container.name).status == "Running"
        result = container.execute(["sh", "-c", "echo out; exit 3"])
        assert (result.exit_code, result.stdout) == (3, "out\n")
        container.files.put("/tmp/f", b"data")
        assert container.files.get("/tmp/f") == b"data"
        container.snapshots.create("s1", wait=True)
        assert [s.name for s in container.snapshots.all()] == ["s1"]
        container.stop(force=True, wait=True)
        assert client.containers.get(container.name).status == "Stopped"
        with pytest.raises(exceptions.NotFound):
            client.virtual_machines.get(container.name)
        assert client.virtual_machines.exists(container.name) is False
        container.delete(wait=True)
        assert client.containers.exists(container.name) is False
    finally:
        force_delete_instance(client, container.name)


def test_incus_serves_no_typed_collections(incus: Client) -> None:
    with pytest.raises(exceptions.NotFound):
        incus.api.containers.get()


def test_bulk_state_of_the_containers_of_a_project(
    incus: Client, env: dict[str, Any]
) -> None:
    # A project of its own: a bulk change acts on every instance of a project.
    project = incus.projects.create(
        unique_name(),
        config={"features.images": "false", "features.profiles": "false"},
    )
    inside = Client(endpoint=env["incus"]["socket"], project=project.name)
    container = _container(inside, env["image_alias"])
    try:
        inside.containers.set_all_states("start", wait=True)
        assert inside.containers.get(container.name).status == "Running"
        inside.containers.set_all_states("stop", force=True, wait=True)
        assert inside.containers.get(container.name).status == "Stopped"
    finally:
        force_delete_instance(inside, container.name)
        delete_quietly(project)


# -- what Incus adds -----------------------------------------------------------
def test_rebuild_replaces_the_root_file_system(
    incus_container: Any, env: dict[str, Any]
) -> None:
    incus_container.start(wait=True)
    incus_container.files.put("/root/marker", b"before")
    incus_container.stop(force=True, wait=True)
    with pytest.raises(ValueError):
        incus_container.rebuild({"type": "bogus"})
    incus_container.rebuild(wait=True)
    assert "volatile.base_image" not in incus_container.config
    incus_container.rebuild({"type": "image", "alias": env["image_alias"]}, wait=True)
    assert incus_container.config["volatile.base_image"] == env["image_fingerprint"]
    incus_container.start(wait=True)
    with pytest.raises(exceptions.NotFound):
        incus_container.files.get("/root/marker")
    with pytest.raises(exceptions.LXDAPIException, match="stopped|running"):
        incus_container.rebuild(wait=True)


def test_access_of_an_instance_and_a_project(
    incus: Client, incus_container: Any
) -> None:
    entries = incus_container.access()
    assert entries and all(
        {"identifier", "role", "provider"} <= e.keys() for e in entries
    )
    assert "admin" in [e.role for e in entries]
    project = incus.projects.create(unique_name())
    try:
        assert "admin" in [e.role for e in project.access()]
    finally:
        delete_quietly(project)


def test_recorded_exec_output_lives_under_exec_output(
    running_incus_container: Any,
) -> None:
    container = running_incus_container
    result = container.execute(
        ["sh", "-c", "echo out; echo err >&2"], record_output=True
    )
    assert (result.stdout, result.stderr) == ("out\n", "err\n")
    assert container.exec_outputs.all() == []  # read, then deleted
    response = container.api.exec.post(
        json={
            "command": ["echo", "kept"],
            "record-output": True,
            "wait-for-websocket": False,
        }
    )
    op = container.client.operations.wait_for_operation(
        response.json()["operation"], timeout=WAIT
    )
    stdout = op.metadata["output"]["1"].rsplit("/", 1)[1]
    assert "/logs/exec-output/" in op.metadata["output"]["1"]
    assert stdout in container.exec_outputs.all()
    assert container.exec_outputs.get(stdout) == "kept\n"
    target = io.BytesIO()
    assert container.exec_outputs.export(stdout, target) == 5
    for name in container.exec_outputs.all():
        container.exec_outputs.delete(name)
    assert container.exec_outputs.all() == []


def test_metadata_configuration_documents_the_keys(incus: Client) -> None:
    configs = incus.server.metadata_configuration()["configs"]
    assert {"instance", "server", "project", "devices"} <= set(configs)


def test_network_allocations(incus: Client) -> None:
    for allocation in incus.networks.allocations(all_projects=True):
        assert {"addresses", "used_by", "type", "nat"} <= allocation.keys()
    assert isinstance(incus.networks.allocations(), list)


def test_the_incus_operations_are_refused_on_lxd_naming_the_extension(
    lxd: Client, env: dict[str, Any]
) -> None:
    container = _container(lxd, env["image_alias"])
    try:
        for call, extension in (
            (container.rebuild, "instances_rebuild"),
            (container.access, "instance_access"),
            (lxd.server.metadata_configuration, "metadata_configuration"),
            (lxd.networks.allocations, "network_allocations"),
            (lxd.network_integrations.all, "network_integrations"),
            (lxd.storage_pools.get("default").buckets.all, "storage_buckets"),
            (lxd.projects.get("default").access, "project_access"),
        ):
            with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match=extension):
                call()
        with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="logs"):
            container.exec_outputs.all()
    finally:
        force_delete_instance(lxd, container.name)


# -- no unknown-attribute warning in a session against Incus ------------------
def test_a_session_touching_every_model_warns_about_nothing(
    incus: Client,
    running_incus_container: Any,
    env: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYLXD_WARNINGS", raising=False)
    monkeypatch.setattr(_model, "_seen_attribute_warnings", set())
    monkeypatch.setattr(operation, "_seen_attribute_warnings", set())
    container = running_incus_container
    made: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            _touch_every_model(incus, container, env, made)
        finally:
            for obj in reversed(made):
                delete_quietly(obj)


def _touch_every_model(
    client: Client, container: Any, env: dict[str, Any], made: list[Any]
) -> None:
    container.snapshots.create("s1", wait=True)
    client.instances.all(recursion=2)
    client.containers.all()
    client.containers.get(container.name).state()
    container.snapshots.get("s1")
    backup = container.backups.create(unique_name("b"), wait=True)
    container.backups.all()
    made.append(backup)
    client.images.all()
    image = client.images.get(env["image_fingerprint"])
    image.aliases  # noqa: B018  (loaded with the image)
    client.images.aliases.all()
    client.profiles.all()
    client.projects.all()
    listed = {network.name: network for network in client.networks.all()}
    # Only the networks no other suite touches: the LXD and Incus suites run
    # side by side, and their bridges (host interfaces, and managed networks
    # of this very daemon) come and go at any moment.
    for name in (env["incus"]["bridge"], "lo"):
        listed[name].state()
    bridge = client.networks.get(env["incus"]["bridge"])
    bridge.forwards.all()
    acl = client.network_acls.create(unique_name("acl"))
    made.append(acl)
    client.network_acls.all()
    zone = client.network_zones.create(f"{unique_name('z')}.example")
    made.append(zone)
    zone.records.create("www")
    zone.records.all()
    client.network_zones.all()
    pool = client.storage_pools.get("default")
    client.storage_pools.all()
    pool.resources.get()
    volume = pool.volumes.create("custom", unique_name("v"))
    made.append(volume)
    volume.snapshots.create("vs1")
    volume.snapshots.all()
    volume_backup = volume.backups.create(unique_name("vb"))
    volume.backups.all()
    made.append(volume_backup)
    pool.volumes.all()
    client.certificates.all()
    client.cluster.get()
    client.warnings.all()
    client.operations.all()
    client.server.get()
    client.profiles.get("default")
    client.projects.get("default")

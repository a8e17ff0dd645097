"""Instances against the real LXD: create, list, state changes, save, rename, publish, copy."""

from __future__ import annotations

import contextlib
import datetime
from typing import Any, Callable, Iterator

import pytest

from integration.conftest import ON_INCUS, WAIT, force_delete_instance, unique_name
from pylxd import Client, exceptions
from pylxd.models import Container, Instance


@pytest.fixture
def names(client: Client) -> Iterator[list[str]]:
    """Names of instances a test creates through the library (deleted after)."""
    made: list[str] = []
    yield made
    for name in made:
        force_delete_instance(client, name)


@pytest.fixture
def images(client: Client) -> Iterator[list[str]]:
    """Fingerprints of images a test publishes (deleted after)."""
    made: list[str] = []
    yield made
    for fingerprint in made:
        with contextlib.suppress(exceptions.NotFound):
            response = client.api.images[fingerprint].delete()
            client.operations.wait_for_operation(
                response.json()["operation"], timeout=WAIT
            )


def test_create_from_alias_then_get_all_and_exists(
    client: Client, image_alias: str, names: list[str]
) -> None:
    name = unique_name()
    names.append(name)
    config = {"name": name, "source": {"type": "image", "alias": image_alias}}
    instance = client.instances.create(config, wait=True)
    assert isinstance(instance, Instance) and instance.name == name
    assert instance.status == "Stopped" and instance.status_code == 102
    assert instance.type == "container" and instance.profiles == ["default"]
    assert instance.expanded_devices["root"]["path"] == "/"
    assert client.instances.exists(name)
    assert client.containers.exists(name)
    listed = {i.name: i for i in client.instances.all()}
    assert listed[name].status == "Stopped"
    assert isinstance(client.containers.get(name), Container)
    assert name in {c.name for c in client.containers.all()}
    assert name not in {v.name for v in client.virtual_machines.all()}


def test_all_recursion_and_filter(
    client: Client, make_container: Callable[..., Any]
) -> None:
    container = make_container()
    container.snapshots.create("s1", wait=True)
    (found,) = client.instances.all(recursion=2, filter=f"name eq {container.name}")
    assert found.cached_state.status == "Stopped"
    assert [s.name for s in found.cached_snapshots] == ["s1"]
    (lazy,) = client.instances.all(recursion=0, filter=f"name eq {container.name}")
    assert lazy.status == "Stopped"


def test_create_from_fingerprint_and_from_nothing(
    client: Client, lxd_env: dict[str, Any], names: list[str]
) -> None:
    by_fp = unique_name()
    empty = unique_name()
    names.extend([by_fp, empty])
    source = {"type": "image", "fingerprint": lxd_env["image_fingerprint"][:16]}
    created = client.containers.create({"name": by_fp, "source": source}, wait=True)
    assert created.config["volatile.base_image"] == lxd_env["image_fingerprint"]
    nothing = client.containers.create(
        {"name": empty, "source": {"type": "none"}}, wait=True
    )
    assert nothing.status == "Stopped"


def test_create_without_a_name_gets_lxds_name(
    client: Client, image_alias: str, names: list[str]
) -> None:
    instance = client.instances.create(
        {"source": {"type": "image", "alias": image_alias}}, wait=True
    )
    names.append(instance.name)
    assert client.instances.exists(instance.name)


def test_bad_creations(client: Client, container: Any, image_alias: str) -> None:
    source = {"type": "image", "alias": image_alias}
    with pytest.raises(
        exceptions.Conflict, match="already exists|UNIQUE constraint failed"
    ):
        client.instances.create({"name": container.name, "source": source}, wait=True)
    missing = unique_name()
    # Incus fails the operation instead: "Image not provided for instance creation"
    refusal = (
        (exceptions.LXDAPIException, "Image not provided")
        if ON_INCUS
        else (exceptions.NotFound, "Image alias not found")
    )
    with pytest.raises(refusal[0], match=refusal[1]):
        client.instances.create(
            {"name": missing, "source": {"type": "image", "alias": unique_name()}},
            wait=True,
        )
    assert not client.instances.exists(missing)
    with pytest.raises(ValueError, match="must not start with a number"):
        client.instances.create({"name": "9lives", "source": source})
    with pytest.raises(exceptions.NotFound, match="Instance not found"):
        client.instances.get(unique_name())


def test_lifecycle_and_state(container: Any) -> None:
    container.start(wait=True)
    assert (container.status, container.status_code) == ("Running", 103)
    state = container.state()
    assert state.status == "Running" and state.pid > 0 and state.processes >= 1
    assert "usage" in state.memory and "lo" in state.network
    container.freeze(wait=True)
    assert container.state().status == "Frozen" and container.status == "Frozen"
    container.unfreeze(wait=True)
    container.restart(wait=True, timeout=WAIT)
    assert container.state().status == "Running"
    container.stop(wait=True)
    assert container.status == "Stopped"
    container.sync()
    assert container.status == "Stopped"


def test_times_parse_to_aware_datetimes(container: Any) -> None:
    assert isinstance(container.created_at, str)  # as pylxd 2.4.2 returns it
    created = container.datetime_of("created_at")
    now = datetime.datetime.now(datetime.timezone.utc)
    assert created.tzinfo is not None
    assert abs(now - created) < datetime.timedelta(hours=1)
    container.start(wait=True)
    container.sync()
    assert container.datetime_of("last_used_at") >= created
    container.stop(wait=True)
    snapshot = container.snapshots.create(unique_name("snap"), wait=True)
    assert snapshot.datetime_of("expires_at") is None  # LXD's zero time: never
    assert snapshot.datetime_of("created_at") >= created


def test_failed_state_changes_carry_lxds_message(container: Any) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="already stopped"):
        container.stop(wait=True)
    with pytest.raises(exceptions.LXDAPIException, match="isn't running"):
        container.freeze(wait=True)


def test_start_of_a_broken_config_raises_lxds_message(
    make_container: Callable[..., Any], tmp_path: Any
) -> None:
    source = tmp_path / "shared"
    source.mkdir()
    broken = {"type": "disk", "source": str(source), "path": "/mnt"}
    container = make_container(devices={"broken": broken})
    source.rmdir()  # valid when created, missing when started
    with pytest.raises(exceptions.LXDAPIException, match="broken"):
        container.start(wait=True)
    assert container.state().status == "Stopped"


def test_save_rename_and_delete(client: Client, container: Any) -> None:
    container.config["user.note"] = "hello"
    container.description = "pylxd test"
    container.save(wait=True)
    again = client.instances.get(container.name)
    assert again.config["user.note"] == "hello"
    assert again.description == "pylxd test"
    old = container.name
    new = unique_name()
    try:
        container.rename(new, wait=True)
        assert container.name == new
        assert client.instances.exists(new) and not client.instances.exists(old)
    finally:
        force_delete_instance(client, new)
    assert not client.instances.exists(new)


def test_delete(client: Client, make_container: Callable[..., Any]) -> None:
    container = make_container()
    container.delete(wait=True)
    assert not client.instances.exists(container.name)


def test_delete_running_raises_lxds_message(running_container: Any) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="Instance is running"):
        running_container.delete(wait=True)


def test_ephemeral_instance_is_gone_after_stop(
    client: Client, make_container: Callable[..., Any]
) -> None:
    container = make_container(ephemeral=True)
    container.start(wait=True)
    container.stop(wait=True)
    assert container.client is None
    assert not client.instances.exists(container.name)


def test_publish_returns_an_image(
    client: Client, container: Any, images: list[str]
) -> None:
    alias = unique_name()
    image = container.publish(wait=True, aliases=[alias], properties={"os": "it"})
    images.append(image.fingerprint)
    assert image.properties["os"] == "it"
    assert alias in [a["name"] for a in image.aliases]


def test_publish_of_a_running_instance_raises_lxds_message(
    running_container: Any,
) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="running instance"):
        running_container.publish(wait=True)


def test_restore_snapshot(client: Client, container: Any) -> None:
    container.snapshots.create("before", wait=True)
    container.config["user.after"] = "1"
    container.save(wait=True)
    container.restore_snapshot("before", wait=True)
    assert "user.after" not in client.instances.get(container.name).config
    with pytest.raises(exceptions.LXDAPIException, match="does not exist"):
        container.restore_snapshot("nope", wait=True)


def test_local_copies_get_the_source_profiles(
    client: Client, container: Any, names: list[str]
) -> None:
    container.snapshots.create("s1", wait=True)
    first, second, third = unique_name(), unique_name(), unique_name()
    names.extend([first, second, third])
    source = {"type": "copy", "source": container.name}
    copy = client.instances.create({"name": first, "source": source}, wait=True)
    assert copy.profiles == container.profiles
    assert [s.name for s in copy.snapshots.all()] == ["s1"]
    from_snapshot = {"type": "copy", "source": f"{container.name}/s1"}
    client.instances.create({"name": second, "source": from_snapshot}, wait=True)
    assert client.instances.get(second).status == "Stopped"
    other = container.copy(client, name=third, instance_only=True, wait=True)
    assert other.snapshots.all() == [] and client.instances.exists(container.name)


@pytest.fixture
def sent(client: Client, monkeypatch: Any) -> list[str]:
    """The verbs of the requests ``client`` sends during the test."""
    verbs: list[str] = []
    session = client.api.session
    for verb in ("get", "post", "put", "delete"):
        original = getattr(session, verb)

        def record(
            url: str, *a: Any, _o: Any = original, _v: str = verb, **k: Any
        ) -> Any:
            verbs.append(_v)
            return _o(url, *a, **k)

        monkeypatch.setattr(session, verb, record)
    return verbs


def test_a_start_stop_cycle_makes_no_redundant_requests(
    client: Client, image_alias: str, names: list[str], sent: list[str]
) -> None:
    name = unique_name()
    names.append(name)
    config = {"name": name, "source": {"type": "image", "alias": image_alias}}
    instance = client.instances.create(config, wait=True)
    instance.start(wait=True)
    instance.stop(wait=True)
    instance.delete(wait=True)
    assert sent == ["post", "get", "put", "get", "put", "get", "delete", "get"]


def test_listing_and_reading_status_is_one_request(
    client: Client, make_container: Callable[..., Any], sent: list[str]
) -> None:
    made = {make_container().name for _ in range(3)}
    sent.clear()
    statuses = {i.name: i.status for i in client.instances.all()}
    assert {statuses[name] for name in made} == {"Stopped"}
    assert sent == ["get"]


def test_virtual_machines_cannot_run_here_and_leave_nothing(
    client: Client, container: Any, image_alias: str, names: list[str]
) -> None:
    with pytest.raises(exceptions.NotFound, match="Instance not found"):
        client.virtual_machines.get(container.name)
    name = unique_name()
    names.append(name)
    config = {"name": name, "source": {"type": "image", "alias": image_alias}}
    with pytest.raises(exceptions.LXDAPIException) as failure:
        client.virtual_machines.create(config, wait=True)
    assert str(failure.value)  # LXD's own reason (image type or missing vsock)
    assert not client.instances.exists(name)

"""Copying and moving instances between the two daemons over loopback HTTPS.

The image exists only on the main daemon, so the target gets the root file
system through the migration itself. Both source flavours are covered: an
HTTPS client, and the local Unix-socket client (LXD then pulls from the main
daemon's ``core.https_address``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from integration.conftest import force_delete_instance
from pylxd import Client, exceptions
from pylxd.models import Container


@pytest.fixture
def on_second(second_client: Client) -> Iterator[list[str]]:
    """Names of instances a test puts on the second daemon (deleted after)."""
    made: list[str] = []
    yield made
    for name in made:
        force_delete_instance(second_client, name)


def test_migrate_from_a_local_source_to_https(
    client: Client,
    second_https_client: Client,
    make_container: Callable[..., Any],
    on_second: list[str],
) -> None:
    container = make_container(config={"user.tag": "moved"})
    container.snapshots.create("s1", wait=True)
    on_second.append(container.name)
    source = client.containers.get(container.name)
    moved = source.migrate(second_https_client, wait=True)
    assert isinstance(moved, Container) and moved.client is second_https_client
    assert moved.config["user.tag"] == "moved"
    assert [s.name for s in moved.snapshots.all()] == ["s1"]
    assert not client.instances.exists(container.name)
    moved.start(wait=True)
    assert moved.state().status == "Running"


def test_copy_from_an_https_source_keeps_the_source(
    client: Client,
    https_client: Client,
    second_client: Client,
    make_container: Callable[..., Any],
    on_second: list[str],
) -> None:
    container = make_container()
    container.snapshots.create("s1", wait=True)
    source = https_client.instances.get(container.name)
    on_second.append(container.name)
    copy = source.copy(second_client, wait=True)
    assert copy.client is second_client and copy.name == container.name
    assert [s.name for s in copy.snapshots.all()] == ["s1"]
    assert client.instances.exists(container.name)
    assert copy.config["volatile.base_image"] == source.config["volatile.base_image"]
    copy.start(wait=True)
    assert copy.state().status == "Running"


def test_copy_with_a_new_name_and_without_snapshots(
    client: Client,
    second_https_client: Client,
    make_container: Callable[..., Any],
    on_second: list[str],
) -> None:
    container = make_container()
    container.snapshots.create("s1", wait=True)
    new_name = f"{container.name}-copy"
    on_second.append(new_name)
    copy = container.copy(
        second_https_client, name=new_name, instance_only=True, wait=True
    )
    assert copy.name == new_name and copy.snapshots.all() == []
    assert second_https_client.instances.get(new_name).status == "Stopped"


def test_generate_migration_data_for_a_local_source(
    client: Client,
    second_client: Client,
    make_container: Callable[..., Any],
    on_second: list[str],
) -> None:
    container = make_container()
    on_second.append(container.name)
    data = container.generate_migration_data()
    address = client.host_info["environment"]["addresses"][0]
    assert data["source"]["operation"].startswith(f"https://{address}/1.0/operations/")
    assert data["profiles"] == ["default"]
    second_client.instances.create(data, wait=True)
    assert second_client.instances.get(container.name).status == "Stopped"


def test_moving_a_running_container_is_live_as_in_pylxd(
    running_container: Any, second_https_client: Client, on_second: list[str]
) -> None:
    # pylxd 2.4.2 sends it (live); without CRIU LXD refuses, the source stays.
    on_second.append(running_container.name)
    with pytest.raises(exceptions.LXDAPIException, match="CRIU"):
        running_container.migrate(second_https_client)
    assert running_container.state().status == "Running"
    assert not second_https_client.instances.exists(running_container.name)


def test_a_failed_copy_leaves_nothing_behind(
    client: Client,
    second_client: Client,
    make_container: Callable[..., Any],
    on_second: list[str],
) -> None:
    container = make_container()
    twin = make_container(
        on=second_client, name=container.name, source={"type": "none"}
    )
    with pytest.raises(
        exceptions.LXDAPIException, match="already exists|UNIQUE constraint failed"
    ):
        container.copy(second_client, wait=True)
    assert second_client.instances.get(twin.name).status == "Stopped"
    assert client.instances.exists(container.name)


def test_copy_of_a_running_container_is_stateless(
    running_container: Any, second_https_client: Client, on_second: list[str]
) -> None:
    on_second.append(running_container.name)
    copy = running_container.copy(second_https_client, wait=True)
    assert copy.status == "Stopped"
    assert running_container.state().status == "Running"


def test_live_migration_needs_criu_and_keeps_the_source(
    running_container: Any, second_https_client: Client, on_second: list[str]
) -> None:
    on_second.append(running_container.name)
    with pytest.raises(exceptions.LXDAPIException, match="CRIU"):
        running_container.migrate(second_https_client, live=True, wait=True)
    assert running_container.state().status == "Running"
    assert not second_https_client.instances.exists(running_container.name)

"""Instance snapshots against the real LXD: create, list, get, rename, save, restore, publish, delete."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from integration.conftest import WAIT, unique_name
from pylxd import Client, exceptions
from pylxd.models import Snapshot


def test_create_list_get_and_delete(container: Any) -> None:
    made = container.snapshots.create("s1", wait=True)
    assert isinstance(made, Snapshot) and made.name == "s1"
    container.snapshots.create("s2", wait=True)
    listed = container.snapshots.all()
    assert [s.name for s in listed] == ["s1", "s2"]
    got = container.snapshots.get("s1")
    assert got.stateful is False and got.created_at
    assert got.expires_at == "0001-01-01T00:00:00Z"
    assert got.profiles == ["default"] and got.instance is container
    assert container.snapshots.exists("s2")
    got.delete(wait=True)
    assert not container.snapshots.exists("s1")
    with pytest.raises(exceptions.NotFound, match='snapshot "s1"'):
        container.snapshots.get("s1")


def test_bad_snapshots_carry_lxds_message(container: Any) -> None:
    container.snapshots.create("s1", wait=True)
    # Incus finds the clash in its database only
    with pytest.raises(
        exceptions.LXDAPIException, match="already exists|UNIQUE constraint failed"
    ):
        container.snapshots.create("s1", wait=True)
    # Incus checks migration.stateful before the instance's state
    with pytest.raises(
        exceptions.LXDAPIException, match="isn't running|migration.stateful"
    ):
        container.snapshots.create("live", stateful=True, wait=True)
    with pytest.raises(ValueError, match="Snapshot name 'a/b' is not allowed"):
        container.snapshots.create("a/b")


def test_rename(container: Any) -> None:
    snapshot = container.snapshots.create("s1", wait=True)
    container.snapshots.create("taken", wait=True)
    snapshot.rename("s2", wait=True)
    assert snapshot.name == "s2"
    assert [s.name for s in container.snapshots.all()] == ["s2", "taken"]
    with pytest.raises(exceptions.Conflict, match="already in use"):
        snapshot.rename("taken")


def test_save_expiry(container: Any) -> None:
    snapshot = container.snapshots.create(
        "s1", wait=True, expires_at="2099-01-01T00:00:00Z"
    )
    assert snapshot.expires_at.startswith("2099-01-01")
    snapshot.expires_at = "2098-06-01T00:00:00Z"
    snapshot.save(wait=True)
    assert container.snapshots.get("s1").expires_at.startswith("2098-06-01")


def test_expiry_from_a_datetime(container: Any) -> None:
    at = datetime(2099, 1, 2, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    container.snapshots.create("dated", wait=True, expires_at=at)
    assert container.snapshots.get("dated").datetime_of("expires_at") == at


def test_save_an_expiry_set_as_a_datetime(container: Any) -> None:
    snapshot = container.snapshots.create("s1", wait=True)
    at = datetime(2098, 6, 1, 8, tzinfo=timezone(timedelta(hours=-3)))
    snapshot.expires_at = at  # kept as the RFC 3339 string LXD reads
    snapshot.save(wait=True)
    assert container.snapshots.get("s1").datetime_of("expires_at") == at
    snapshot.expires_at = datetime(2098, 7, 1)  # naive: UTC
    snapshot.save(wait=True)
    naive = datetime(2098, 7, 1, tzinfo=timezone.utc)
    assert container.snapshots.get("s1").datetime_of("expires_at") == naive


def test_restore(client: Client, container: Any) -> None:
    snapshot = container.snapshots.create("clean", wait=True)
    container.config["user.dirty"] = "yes"
    container.save(wait=True)
    response = snapshot.restore(wait=True)
    assert response.status_code == 202
    assert "user.dirty" not in client.instances.get(container.name).config


def test_snapshot_of_a_running_container(running_container: Any) -> None:
    snapshot = running_container.snapshots.create("hot", wait=True)
    assert snapshot.stateful is False
    # Incus checks migration.stateful before it would need CRIU
    with pytest.raises(exceptions.LXDAPIException, match="CRIU|migration.stateful"):
        running_container.snapshots.create("state", stateful=True, wait=True)
    assert not running_container.snapshots.exists("state")


def test_publish(client: Client, container: Any) -> None:
    snapshot = container.snapshots.create("s1", wait=True)
    alias = unique_name()
    image = snapshot.publish(wait=True, aliases=[alias])
    try:
        assert alias in [a["name"] for a in image.aliases]
        assert image.fingerprint
    finally:
        with contextlib.suppress(exceptions.NotFound):
            response = client.api.images[image.fingerprint].delete()
            client.operations.wait_for_operation(
                response.json()["operation"], timeout=WAIT
            )

"""Unit tests of instance snapshots against the fake LXD."""

from __future__ import annotations

from typing import Any

import pytest

from pylxd import exceptions
from pylxd.models import Snapshot
from pylxd.testing import FakeLXD
from pylxd.tests.test_instance import IMAGE, seeded

SNAPS = "/1.0/instances/c1/snapshots"


@pytest.fixture
def lxd() -> FakeLXD:
    return seeded()


@pytest.fixture
def instance(client: Any, lxd: FakeLXD) -> Any:
    made = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    lxd.requests.clear()
    return made


def snap(instance: Any, lxd: FakeLXD, name: str = "s1", **kwargs: Any) -> Any:
    made = instance.snapshots.create(name, wait=True, **kwargs)
    lxd.requests.clear()
    return made


def test_create_sends_name_and_stateful(instance, lxd) -> None:
    snapshot = instance.snapshots.create("s1")
    assert isinstance(snapshot, Snapshot)
    assert (snapshot.name, snapshot.instance) == ("s1", instance)
    assert lxd.last_body("POST", SNAPS) == {"name": "s1", "stateful": False}
    assert [r.method for r in lxd.requests] == ["POST"]


def test_create_with_wait_and_expiry(instance, lxd) -> None:
    snapshot = instance.snapshots.create(
        "s1", wait=True, expires_at="2030-01-01T00:00:00Z"
    )
    assert lxd.last_body("POST", SNAPS) == {
        "name": "s1",
        "stateful": False,
        "expires_at": "2030-01-01T00:00:00Z",
    }
    assert snapshot.expires_at == "2030-01-01T00:00:00Z"  # lazy load
    assert snapshot.created_at and snapshot.stateful is False


def test_create_stateful_sends_stateful(instance, lxd) -> None:
    instance.start(wait=True)
    snapshot = instance.snapshots.create("live", stateful=True, wait=True)
    assert lxd.last_body("POST", SNAPS) == {"name": "live", "stateful": True}
    assert snapshot.stateful is True


def test_create_stateful_of_a_stopped_instance_raises_lxds_message(instance) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="instance isn't running"):
        instance.snapshots.create("s1", stateful=True, wait=True)


def test_create_twice_raises_lxds_message(instance, lxd) -> None:
    snap(instance, lxd)
    with pytest.raises(exceptions.LXDAPIException, match="already exists"):
        instance.snapshots.create("s1", wait=True)


@pytest.mark.parametrize("name", ["a/b", "", ".", "..", None])
def test_bad_names_are_refused_before_sending(instance, lxd, name) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="Snapshot name"):
        instance.snapshots.create(name)
    assert lxd.requests == []


def test_all_is_one_request(instance, lxd) -> None:
    snap(instance, lxd, "s1")
    instance.snapshots.create("s2", wait=True)
    lxd.requests.clear()
    snapshots = instance.snapshots.all()
    assert [(s.name, s.stateful) for s in snapshots] == [("s1", False), ("s2", False)]
    assert [(r.method, r.path, r.query) for r in lxd.requests] == [
        ("GET", SNAPS, {"recursion": "1"})
    ]


def test_get_exists_and_not_found(instance, lxd) -> None:
    snap(instance, lxd)
    snapshot = instance.snapshots.get("s1")
    assert snapshot.name == "s1" and snapshot.profiles == ["default"]
    assert snapshot.expires_at == "0001-01-01T00:00:00Z"
    assert instance.snapshots.exists("s1") is True
    assert instance.snapshots.exists("s9") is False
    with pytest.raises(exceptions.NotFound, match='snapshot "s9" of instance "c1"'):
        instance.snapshots.get("s9")


def test_names_from_older_lxd_are_shortened(instance, lxd) -> None:
    snap(instance, lxd)
    lxd.store("snapshots")["c1"]["s1"]["name"] = "c1/s1"
    assert instance.snapshots.get("s1").name == "s1"
    assert [s.name for s in instance.snapshots.all()] == ["s1"]


def test_rename(instance, lxd) -> None:
    snapshot = snap(instance, lxd)
    snapshot.rename("s2", wait=True)
    assert snapshot.name == "s2"
    assert lxd.last_body("POST", f"{SNAPS}/s1") == {"name": "s2"}
    assert instance.snapshots.exists("s2") and not instance.snapshots.exists("s1")
    with pytest.raises(ValueError, match="Snapshot name 'x/y' is not allowed"):
        snapshot.rename("x/y")


def test_rename_to_an_existing_name_is_a_conflict(instance, lxd) -> None:
    snapshot = snap(instance, lxd)
    snap(instance, lxd, "s2")
    with pytest.raises(exceptions.Conflict, match="Name 'c1/s2' already in use"):
        snapshot.rename("s2")
    assert snapshot.name == "s1"


def test_save_sends_expires_at_only(instance, lxd) -> None:
    snapshot = instance.snapshots.get(snap(instance, lxd).name)
    snapshot.expires_at = "2031-01-01T00:00:00Z"
    snapshot.save(wait=True)
    assert lxd.last_body("PUT", f"{SNAPS}/s1") == {"expires_at": "2031-01-01T00:00:00Z"}
    assert instance.snapshots.get("s1").expires_at == "2031-01-01T00:00:00Z"


def test_restore(instance, lxd) -> None:
    snapshot = snap(instance, lxd)
    response = snapshot.restore(wait=True)
    assert response.status_code == 202
    assert lxd.last_body("PUT", "/1.0/instances/c1") == {
        "restore": "s1",
        "stateful": False,
    }


def test_delete(instance, lxd) -> None:
    snapshot = snap(instance, lxd)
    snapshot.delete(wait=True)
    assert [(r.method, r.path) for r in lxd.requests][0] == ("DELETE", f"{SNAPS}/s1")
    assert instance.snapshots.all() == []


def test_publish(instance, lxd) -> None:
    snapshot = snap(instance, lxd)
    image = snapshot.publish(
        public=True, wait=True, aliases=[{"name": "a", "description": "d"}]
    )
    assert lxd.last_body("POST", "/1.0/images") == {
        "public": True,
        "source": {"type": "snapshot", "name": "c1/s1"},
        "aliases": [{"name": "a", "description": "d"}],
    }
    assert image.fingerprint in lxd.store("images")
    assert snapshot.publish() is None


def test_snapshots_of_a_renamed_instance_follow_it(instance, lxd) -> None:
    snap(instance, lxd)
    instance.rename("c2", wait=True)
    assert [s.name for s in instance.snapshots.all()] == ["s1"]
    assert lxd.last("GET", "/1.0/instances/c2/snapshots").query == {"recursion": "1"}


def test_snapshots_of_a_container_are_under_instances(client, lxd) -> None:
    container = client.containers.create({"name": "c1", "source": IMAGE}, wait=True)
    container.snapshots.create("s1", wait=True)
    assert lxd.last_body("POST", "/1.0/instances/c1/snapshots") == {
        "name": "s1",
        "stateful": False,
    }
    assert repr(container.snapshots.get("s1")) == "Snapshot(name='s1')"

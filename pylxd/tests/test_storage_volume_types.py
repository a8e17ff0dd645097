"""Storage volume types: ``pool.volumes.all(type=...)`` and the type in create's body."""

from __future__ import annotations

from typing import Any

import pytest

from pylxd import Client, exceptions
from pylxd.models import StoragePool
from pylxd.testing import FakeLXD

POOL = "/1.0/storage-pools/p1"


@pytest.fixture
def pool(client: Client, lxd: FakeLXD) -> StoragePool:
    pool = client.storage_pools.create({"name": "p1", "driver": "dir"})
    pool.volumes.create({"name": "v1"}).snapshots.create("s1")
    volumes: dict[Any, Any] = lxd.store("storage_volumes", "default")
    volume = volumes[("p1", "custom", "v1")]
    volumes[("p1", "container", "c1")] = {**volume, "name": "c1", "type": "container"}
    return pool


def test_all_of_one_type_is_one_request_to_the_typed_listing(
    pool: StoragePool, lxd: FakeLXD
) -> None:
    lxd.requests.clear()
    custom = pool.volumes.all(type="custom")
    assert [(v.type, v.name) for v in custom] == [("custom", "v1")]  # no snapshot
    assert [(r.method, r.path, r.query) for r in lxd.requests] == [
        ("GET", f"{POOL}/volumes/custom", {"recursion": "1"})
    ]
    containers = pool.volumes.all(type="container")
    assert [(v.type, v.name) for v in containers] == [("container", "c1")]
    assert pool.volumes.all(type="image") == []
    assert {v.name for v in pool.volumes.all()} == {"v1", "c1"}


def test_an_unknown_type_is_lxds_error_naming_the_pool(pool: StoragePool) -> None:
    with pytest.raises(exceptions.LXDAPIException) as err:
        pool.volumes.all(type="bogus")
    assert str(err.value) == "Storage pool 'p1': Invalid storage volume type name"


@pytest.mark.parametrize("bad", ["..", "a/b", "", 3])
def test_a_type_that_is_no_url_segment_is_refused_before_sending(
    pool: StoragePool, lxd: FakeLXD, bad: object
) -> None:
    refused = (exceptions.InvalidArgument, exceptions.InvalidArgumentType)
    lxd.requests.clear()
    with pytest.raises(refused):
        pool.volumes.all(type=bad)
    with pytest.raises(refused):
        pool.volumes.create({"name": "v2", "type": bad})
    assert lxd.requests == []


@pytest.mark.parametrize("form", ["definition", "type and name"])
def test_create_sends_the_type_in_the_body_of_the_untyped_post(
    pool: StoragePool, lxd: FakeLXD, form: str
) -> None:
    if form == "definition":
        volume = pool.volumes.create({"name": "v2"})
    else:
        volume = pool.volumes.create("custom", "v2")
    assert lxd.last_body("POST", f"{POOL}/volumes") == {"type": "custom", "name": "v2"}
    assert (volume.type, volume.name) == ("custom", "v2")


@pytest.mark.parametrize(
    "server, error",
    [
        ("lxd", "You must provide a storage volume type of the storage volume"),
        ("incus", 'Currently not allowed to create storage volumes of type ""'),
    ],
)
def test_the_fake_refuses_an_untyped_post_without_a_type(
    server: str, error: str
) -> None:
    client = FakeLXD(server=server).client()
    with pytest.raises(exceptions.LXDAPIException, match=error):
        client.api["storage-pools"].default.volumes.post(json={"name": "v"})

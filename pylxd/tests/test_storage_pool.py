"""Unit tests of storage pools and their resources, against the fake LXD."""

from __future__ import annotations

import pytest

from pylxd import Client, exceptions
from pylxd.models import StoragePool, StorageResources
from pylxd.models.storage_pool import StorageObjectNotFound
from pylxd.testing import FakeLXD
from pylxd.testing._extensions import LXD_5_0_2_EXTENSIONS

POOLS = "/1.0/storage-pools"


@pytest.fixture
def pool(client: Client) -> StoragePool:
    return client.storage_pools.create(
        {"name": "p1", "driver": "dir", "description": "d", "config": {"a": "1"}}
    )


def test_create_posts_the_definition_as_given_and_returns_the_pool(
    client: Client, lxd: FakeLXD
) -> None:
    definition = {"name": "p1", "driver": "dir", "config": {"volume.size": "1GiB"}}
    pool = client.storage_pools.create(definition)
    assert lxd.last_body("POST", POOLS) == definition
    assert lxd.calls("GET", f"{POOLS}/p1")
    assert (pool.name, pool.driver, pool.status) == ("p1", "dir", "Created")
    assert pool.config == {
        "source": "/var/lib/lxd/storage-pools/p1",
        "volume.size": "1GiB",
    }
    assert pool.locations == ["none"] and pool.used_by is None


@pytest.mark.parametrize(
    "definition, error",
    [
        ("p1", TypeError),
        ({"driver": "dir"}, ValueError),
        ({"name": "", "driver": "dir"}, ValueError),
    ],
)
def test_create_rejects_bad_definitions_before_sending(
    client: Client, lxd: FakeLXD, definition: object, error: type
) -> None:
    with pytest.raises(error, match="storage pool definition|Storage pool name"):
        client.storage_pools.create(definition)
    assert not lxd.calls("POST", POOLS)


def test_unknown_driver_raises_lxds_message_and_creates_nothing(
    client: Client,
) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="^Unknown driver$"):
        client.storage_pools.create({"name": "p1", "driver": "nosuch"})
    assert not client.storage_pools.exists("p1")


def test_duplicate_pool_is_a_conflict(client: Client, pool: StoragePool) -> None:
    with pytest.raises(exceptions.Conflict, match="already exists"):
        client.storage_pools.create({"name": "p1", "driver": "dir"})


def test_all_is_one_request_with_recursion(
    client: Client, lxd: FakeLXD, pool: StoragePool
) -> None:
    lxd.requests.clear()
    pools = client.storage_pools.all()
    assert [p.name for p in pools] == ["default", "p1"]
    assert pools[1].description == "d"
    assert [(r.method, r.path, r.query) for r in lxd.requests] == [
        ("GET", POOLS, {"recursion": "1"})
    ]


def test_get_exists_and_not_found(client: Client, pool: StoragePool) -> None:
    assert client.storage_pools.get("p1") == pool
    assert client.storage_pools.exists("p1")
    assert not client.storage_pools.exists("nope")
    with pytest.raises(exceptions.NotFound) as err:
        client.storage_pools.get("nope")
    assert str(err.value) == "Storage pool 'nope': Storage pool not found"


def test_storage_extension_is_required() -> None:
    client = FakeLXD(extensions=[]).client()
    for call in (
        lambda: client.storage_pools.all(),
        lambda: client.storage_pools.get("default"),
        lambda: client.storage_pools.exists("default"),
        lambda: client.storage_pools.create({"name": "p", "driver": "dir"}),
    ):
        with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="storage"):
            call()


def test_save_puts_description_and_config(pool: StoragePool, lxd: FakeLXD) -> None:
    pool.config["b"] = "2"
    pool.description = "new"
    assert pool.dirty
    pool.save()
    assert lxd.last_body("PUT", f"{POOLS}/p1") == {
        "config": {"source": "/var/lib/lxd/storage-pools/p1", "a": "1", "b": "2"},
        "description": "new",
    }
    assert not pool.dirty


def test_put_and_patch_sync_the_object_back(pool: StoragePool, lxd: FakeLXD) -> None:
    pool.patch({"config": {"c": "3"}})
    assert lxd.last_body("PATCH", f"{POOLS}/p1") == {"config": {"c": "3"}}
    assert pool.config["c"] == "3"
    pool.put({"description": "put", "config": {}})
    assert lxd.last_body("PUT", f"{POOLS}/p1") == {"description": "put", "config": {}}
    assert pool.description == "put"
    assert pool.config == {"source": "/var/lib/lxd/storage-pools/p1"}


def test_raw_put_and_raw_patch_do_not_sync(pool: StoragePool, lxd: FakeLXD) -> None:
    lxd.requests.clear()
    pool.raw_patch({"description": "raw"})
    pool.raw_put({"description": "raw2", "config": {}})
    assert [r.method for r in lxd.requests] == ["PATCH", "PUT"]
    assert pool.description == "d"


def test_delete(client: Client, pool: StoragePool, lxd: FakeLXD) -> None:
    pool.delete()
    assert lxd.calls("DELETE", f"{POOLS}/p1")
    assert not client.storage_pools.exists("p1")


def test_delete_in_use_raises_lxds_message(client: Client, pool: StoragePool) -> None:
    pool.volumes.create({"name": "v1"})
    with pytest.raises(exceptions.LXDAPIException) as err:
        pool.delete()
    assert str(err.value) == "The storage pool is currently in use"
    assert client.storage_pools.exists("p1")


def test_lazy_pool_loads_on_first_read(client: Client, lxd: FakeLXD) -> None:
    pool = StoragePool(client, name="default")
    assert lxd.calls("GET", f"{POOLS}/default") == []
    assert pool.driver == "dir"
    assert len(lxd.calls("GET", f"{POOLS}/default")) == 1


def test_resources(pool: StoragePool, lxd: FakeLXD) -> None:
    resources = pool.resources.get()
    assert isinstance(resources, StorageResources)
    assert resources.space == {"used": 1 << 30, "total": 100 << 30}
    assert resources.inodes["total"] == 1 << 24
    assert lxd.calls("GET", f"{POOLS}/p1/resources")


def test_resources_need_the_resources_extension() -> None:
    lxd = FakeLXD(extensions=["storage"])
    pool = StoragePool(lxd.client(), name="default")
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="resources"):
        pool.resources.get()


def test_resources_of_a_missing_pool_names_it(client: Client) -> None:
    with pytest.raises(StorageObjectNotFound, match="Storage pool 'nope': Storage"):
        StoragePool(client, name="nope").resources.get()


# -- newer LXD: storage calls answer with operations ---------------------------
@pytest.fixture
def async_lxd() -> FakeLXD:
    return FakeLXD(extensions=[*LXD_5_0_2_EXTENSIONS, "storage_and_network_operations"])


def _shape(lxd: FakeLXD) -> list[tuple[str, str]]:
    """The requests seen, with operation ids replaced by ``<op>``."""
    return [
        (r.method, "/1.0/operations/<op>/wait" if r.path.endswith("/wait") else r.path)
        for r in lxd.requests
    ]


def test_async_answers_are_waited_for(async_lxd: FakeLXD) -> None:
    client = async_lxd.client()
    async_lxd.requests.clear()
    pool = client.storage_pools.create({"name": "p1", "driver": "dir"})
    assert _shape(async_lxd) == [
        ("POST", POOLS),
        ("GET", "/1.0/operations/<op>/wait"),
        ("GET", f"{POOLS}/p1"),
    ]
    async_lxd.requests.clear()
    pool.patch({"description": "x"}, wait=True)
    pool.description = "y"
    pool.save(wait=True)
    pool.delete()
    assert _shape(async_lxd) == [
        ("PATCH", f"{POOLS}/p1"),
        ("GET", "/1.0/operations/<op>/wait"),
        ("GET", f"{POOLS}/p1"),
        ("PUT", f"{POOLS}/p1"),
        ("GET", "/1.0/operations/<op>/wait"),
        ("DELETE", f"{POOLS}/p1"),
        ("GET", "/1.0/operations/<op>/wait"),
    ]
    assert not client.storage_pools.exists("p1")


def test_async_failure_raises_the_operation_error(async_lxd: FakeLXD) -> None:
    client = async_lxd.client()
    pool = client.storage_pools.create({"name": "p1", "driver": "dir"})
    op = async_lxd.operation("Deleting storage pool", err="Pool is busy")
    async_lxd.reply_next(async_lxd.async_reply(op), "DELETE", f"{POOLS}/p1")
    with pytest.raises(exceptions.LXDAPIException, match="^Pool is busy$"):
        pool.delete()


@pytest.mark.parametrize(
    "dotted, expected",
    [
        ("StoragePool.all", "(client)"),
        ("StoragePool.get", "(client, name)"),
        ("StoragePool.exists", "(client, name)"),
        ("StoragePool.create", "(client, definition, wait=True)"),
        ("StoragePool.delete", "(self, wait=False)"),
        ("StoragePool.save", "(self, wait=False)"),
        ("StoragePool.put", "(self, put_object, wait=False)"),
        ("StoragePool.patch", "(self, patch_object, wait=False)"),
        ("StoragePool.raw_put", "(self, put_object, wait=False)"),
        ("StoragePool.raw_patch", "(self, patch_object, wait=False)"),
        ("StorageResources.get", "(storage_pool)"),
        ("StorageVolume.all", "(storage_pool, *, type=None)"),
        ("StorageVolume.get", "(storage_pool, _type, name)"),
        ("StorageVolume.create", "(storage_pool, *args, wait=True, **kwargs)"),
        ("StorageVolume.rename", "(self, _input, wait=False)"),
        ("StorageVolume.restore_from", "(self, snapshot_name, wait=False)"),
        ("StorageVolume.put", "(self, put_object, wait=False)"),
        ("StorageVolume.patch", "(self, patch_object, wait=False)"),
        ("StorageVolume.save", "(self, wait=False)"),
        ("StorageVolumeSnapshot.get", "(volume, name)"),
        (
            "StorageVolumeSnapshot.create",
            "(volume, name=None, expires_at=None, wait=True)",
        ),
        ("StorageVolumeSnapshot.rename", "(self, new_name, wait=True)"),
    ],
)
def test_public_signatures(dotted: str, expected: str) -> None:
    import inspect

    from pylxd.models import storage_pool

    cls_name, method = dotted.split(".")
    obj = getattr(getattr(storage_pool, cls_name), method)
    signature = inspect.signature(obj).replace(
        parameters=[
            p.replace(annotation=inspect.Parameter.empty)
            for p in inspect.signature(obj).parameters.values()
            # our keyword-only additions, which 2.4.2 code cannot pass
            if p.name not in ("if_match", "retry")
        ],
        return_annotation=inspect.Signature.empty,
    )
    assert str(signature) == expected

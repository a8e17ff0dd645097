"""Storage against a real LXD: dir pools, volumes, snapshots, copies, backups, attach.

Every pool is a ``dir`` pool with a unique name whose source LXD chooses;
the fixtures delete the pools (and the volumes the tests made in them) even
when a test fails.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from integration.conftest import unique_name
from pylxd import Client, exceptions
from pylxd.models import StoragePool, StorageVolume
from pylxd.models.storage_pool import StorageObjectNotFound


def _drop_pool(pool: StoragePool) -> None:
    """Delete a pool this test module created, with whatever volumes are in it.

    Listing is safe here: the pool has a unique name and only this module's
    volumes.
    """
    with contextlib.suppress(exceptions.NotFound):
        for volume in StoragePool(pool.client, name=pool.name).volumes.all():
            if volume.type == "custom":
                with contextlib.suppress(exceptions.NotFound):
                    volume.delete()
        StoragePool(pool.client, name=pool.name).delete()


@contextlib.contextmanager
def _made_pool(client: Client, **definition: Any) -> Iterator[StoragePool]:
    name = unique_name("pylxd-it-pool")
    pool = StoragePool(client, name=name)
    try:
        yield client.storage_pools.create({"name": name, "driver": "dir", **definition})
    finally:
        _drop_pool(pool)


@pytest.fixture
def pool(client: Client) -> Iterator[StoragePool]:
    with _made_pool(client) as made:
        yield made


@pytest.fixture
def other_pool(client: Client) -> Iterator[StoragePool]:
    with _made_pool(client) as made:
        yield made


@pytest.fixture
def volume(pool: StoragePool) -> StorageVolume:
    return pool.volumes.create({"name": unique_name("vol"), "config": {}})


# -- pools ---------------------------------------------------------------------
def test_pool_lifecycle(client: Client) -> None:
    with _made_pool(client, description="made by pylxd", config={}) as pool:
        assert (pool.driver, pool.status, pool.description) == (
            "dir",
            "Created",
            "made by pylxd",
        )
        assert pool.config["source"].endswith(f"/storage-pools/{pool.name}")
        assert pool.locations == ["none"]
        assert client.storage_pools.exists(pool.name)
        assert pool.name in {p.name for p in client.storage_pools.all()}
        assert client.storage_pools.get(pool.name) == pool

        pool.description = "saved"
        pool.config["volume.size"] = "1GiB"
        pool.save()
        again = client.storage_pools.get(pool.name)
        assert (again.description, again.config["volume.size"]) == ("saved", "1GiB")

        pool.patch({"config": {"volume.size": "2GiB"}})
        assert pool.config["volume.size"] == "2GiB"
        pool.put({"description": "put", "config": {"source": pool.config["source"]}})
        assert pool.description == "put" and "volume.size" not in pool.config
        pool.raw_patch({"description": "raw"})
        assert pool.description == "put"
        assert client.storage_pools.get(pool.name).description == "raw"

        resources = pool.resources.get()
        assert resources.space["total"] > 0 and resources.inodes["total"] > 0

        name = pool.name
        pool.delete()
        assert not client.storage_pools.exists(name)
        with pytest.raises(exceptions.NotFound) as err:
            client.storage_pools.get(name)
        assert str(err.value) == f"Storage pool {name!r}: Storage pool not found"


def test_unknown_driver_fails_and_creates_nothing(client: Client) -> None:
    name = unique_name("pylxd-it-pool")
    try:
        with pytest.raises(exceptions.LXDAPIException, match="^Unknown driver$"):
            client.storage_pools.create({"name": name, "driver": "nosuchdriver"})
        assert not client.storage_pools.exists(name)
    finally:
        _drop_pool(StoragePool(client, name=name))


def test_duplicate_pool_is_a_conflict(client: Client, pool: StoragePool) -> None:
    with pytest.raises(exceptions.Conflict, match="already exists"):
        client.storage_pools.create({"name": pool.name, "driver": "dir"})


def test_deleting_a_pool_in_use_fails_with_lxds_message(
    client: Client, pool: StoragePool, volume: StorageVolume
) -> None:
    with pytest.raises(exceptions.LXDAPIException) as err:
        client.storage_pools.get(pool.name).delete()
    assert str(err.value) == "The storage pool is currently in use"
    assert client.storage_pools.exists(pool.name)


def test_volume_in_a_missing_pool_names_the_pool(client: Client) -> None:
    name = unique_name("pylxd-it-nopool")
    with pytest.raises(StorageObjectNotFound) as err:
        StoragePool(client, name=name).volumes.create({"name": "v"})
    assert str(err.value) == (
        f"Storage volume custom/v in pool {name!r}: Storage pool not found"
    )
    assert not client.storage_pools.exists(name)


# -- volumes -------------------------------------------------------------------
def test_volume_lifecycle(pool: StoragePool) -> None:
    name = unique_name("vol")
    volume = pool.volumes.create(
        {"name": name, "description": "d", "config": {"size": "1GiB"}}
    )
    assert (volume.type, volume.name, volume.description) == ("custom", name, "d")
    assert (volume.content_type, volume.location, volume.used_by) == (
        "filesystem",
        "none",
        [],
    )
    assert volume.config == {"size": "1GiB"} and volume.project == "default"

    other = pool.volumes.create("custom", unique_name("vol"), description="typed")
    assert other.description == "typed"
    volume.snapshots.create("s1")
    assert sorted(v.name for v in pool.volumes.all()) == sorted([name, other.name])
    assert pool.volumes.get("custom", name) == volume
    assert pool.volumes.exists("custom", name)

    volume.description = "saved"
    volume.save()
    assert pool.volumes.get("custom", name).description == "saved"
    volume.patch({"config": {"size": "2GiB"}})
    assert volume.config == {"size": "2GiB"}
    volume.put({"description": "put", "config": {}})
    assert (volume.description, volume.config) == ("put", {})

    volume.rename({"name": name + "-r"}, wait=True)
    assert volume.name == name + "-r"
    assert pool.volumes.exists("custom", name + "-r")
    assert not pool.volumes.exists("custom", name)

    volume.delete()
    other.delete()
    assert pool.volumes.all() == []


def test_volumes_of_one_type(client: Client, pool: StoragePool, container: Any) -> None:
    volume = pool.volumes.create({"name": unique_name("vol"), "config": {}})
    volume.snapshots.create("s1")
    assert [(v.type, v.name) for v in pool.volumes.all(type="custom")] == [
        ("custom", volume.name)
    ]  # the snapshot is left out
    assert pool.volumes.all(type="container") == []
    default = client.storage_pools.get("default")
    containers = default.volumes.all(type="container")
    assert container.name in [v.name for v in containers]
    assert {v.type for v in containers} == {"container"}
    assert container.name not in [v.name for v in default.volumes.all(type="custom")]
    with pytest.raises(exceptions.LXDAPIException) as err:
        pool.volumes.all(type="bogus")
    assert str(err.value) == (
        f"Storage pool {pool.name!r}: Invalid storage volume type name"
    )
    volume.snapshots.get("s1").delete(wait=True)
    volume.delete()


def test_volume_not_found_names_it(pool: StoragePool) -> None:
    with pytest.raises(exceptions.NotFound) as err:
        pool.volumes.get("custom", "nope")
    assert str(err.value) == (
        f"Storage volume custom/nope in pool {pool.name!r}: Storage pool volume not found"
    )


def test_volume_state(volume: StorageVolume) -> None:
    # LXD 5.0's dir driver has no usage data without project quotas.
    try:
        state = volume.state()
    except exceptions.LXDAPIException as err:
        assert str(err) == "Not supported"
    else:
        assert "usage" in state


def test_move_and_copy_between_pools(
    pool: StoragePool, other_pool: StoragePool, volume: StorageVolume
) -> None:
    volume.snapshots.create("s1")
    copy = volume.copy(volume.name + "-c", pool=other_pool.name, volume_only=True)
    assert copy.storage_pool.name == other_pool.name
    assert copy.snapshots.all() == []
    full = volume.copy(volume.name + "-f")
    assert full.snapshots.all() == ["s1"]

    name = volume.name
    assert volume.move(name + "-m", pool=other_pool.name) is volume
    assert (volume.storage_pool.name, volume.name) == (other_pool.name, name + "-m")
    assert other_pool.volumes.get("custom", name + "-m").name == name + "-m"
    assert not pool.volumes.exists("custom", name)
    assert volume.snapshots.all() == ["s1"]

    volume.rename({"name": name, "pool": pool.name}, wait=True)
    assert pool.volumes.exists("custom", name)
    assert volume.storage_pool.name == pool.name


# -- snapshots -----------------------------------------------------------------
def test_snapshots(volume: StorageVolume) -> None:
    snap = volume.snapshots.create("s1")
    assert (snap.name, snap.content_type) == ("s1", "filesystem")
    auto = volume.snapshots.create()
    assert auto.name == "snap0"
    assert sorted(volume.snapshots.all()) == ["s1", "snap0"]
    assert volume.snapshots.exists("s1") and not volume.snapshots.exists("nope")
    with pytest.raises(exceptions.Conflict, match='Snapshot "s1" already in use'):
        volume.snapshots.create("s1")

    snap.description = "described"
    snap.save()
    assert volume.snapshots.get("s1").description == "described"
    snap.rename("s2")
    assert snap.name == "s2" and volume.snapshots.exists("s2")
    assert not volume.snapshots.exists("s1")

    snap.restore(wait=True)
    volume.restore_from("snap0")
    with pytest.raises(exceptions.LXDAPIException, match="^Snapshot not found$"):
        volume.restore_from("nope")

    snap.delete()
    auto.delete()
    assert volume.snapshots.all() == []


def test_snapshot_with_expiry(volume: StorageVolume) -> None:
    snap = volume.snapshots.create("exp", expires_at="2099-01-01T00:00:00Z")
    assert snap.expires_at.startswith("2099-01-01")
    # a datetime is sent as RFC 3339 (naive meaning UTC) and read back the same
    at = datetime(2099, 1, 2, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    dated = volume.snapshots.create("dated", expires_at=at)
    assert dated.datetime_of("expires_at") == at
    naive = volume.snapshots.create("naive", expires_at=datetime(2099, 1, 3))
    assert naive.datetime_of("expires_at") == datetime(2099, 1, 3, tzinfo=timezone.utc)


def test_snapshot_saves_an_expiry_set_as_a_datetime(volume: StorageVolume) -> None:
    snap = volume.snapshots.create("later")
    at = datetime(2099, 5, 6, 7, 8, tzinfo=timezone(timedelta(hours=9)))
    snap.expires_at = at
    snap.save(wait=True)
    assert volume.snapshots.get("later").datetime_of("expires_at") == at


def test_backup_with_a_datetime_expiry(volume: StorageVolume) -> None:
    at = datetime(2099, 1, 2, 12, 30, tzinfo=timezone(timedelta(hours=-5)))
    backup = volume.backups.create("dated", expires_at=at)
    assert volume.backups.get("dated").datetime_of("expires_at") == at
    backup.delete()


# -- backups -------------------------------------------------------------------
def test_backups_export_and_import(
    pool: StoragePool, other_pool: StoragePool, volume: StorageVolume, tmp_path: Path
) -> None:
    volume.snapshots.create("s1")
    backup = volume.backups.create("b1", wait=True)
    assert (backup.name, backup.volume_only) == ("b1", False)
    auto = volume.backups.create(volume_only=True)
    assert auto.name == "backup0" and auto.volume_only is True
    assert sorted(b.name for b in volume.backups.all()) == ["b1", "backup0"]

    seen: list[tuple[int, int | None]] = []
    path = tmp_path / "b1.tar.gz"
    size = backup.export(str(path), progress=lambda d, t: seen.append((d, t)))
    assert size == path.stat().st_size > 0 and seen[-1] == (size, size)
    with tarfile.open(path) as tar:
        assert "backup/index.yaml" in tar.getnames()

    with path.open("rb") as handle:
        imported = pool.volumes.import_backup(handle, name=volume.name + "-i")
    assert imported is not None and imported.name == volume.name + "-i"
    assert imported.snapshots.all() == ["s1"]

    original = other_pool.volumes.import_backup(str(path))
    assert original is not None and original.name == volume.name
    assert original.storage_pool.name == other_pool.name

    backup.rename("b2")
    assert volume.backups.exists("b2")
    backup.delete()
    auto.delete()
    assert volume.backups.all() == []


def test_import_of_garbage_creates_nothing(pool: StoragePool) -> None:
    name = unique_name("vol")
    with pytest.raises(exceptions.LXDAPIException):
        pool.volumes.import_backup(io.BytesIO(b"not a backup" * 100), name=name)
    assert not pool.volumes.exists("custom", name)


# -- other servers -------------------------------------------------------------
@pytest.fixture
def remote_volumes(second_https_client: Client) -> Iterator[list[str]]:
    """Names of volumes made in the second daemon's ``default`` pool."""
    made: list[str] = []
    yield made
    target = StoragePool(second_https_client, name="default")
    for name in made:
        with contextlib.suppress(exceptions.NotFound):
            StorageVolume(
                second_https_client, storage_pool=target, type="custom", name=name
            ).delete()


def test_copy_and_move_to_another_server(
    https_client: Client,
    second_https_client: Client,
    pool: StoragePool,
    volume: StorageVolume,
    remote_volumes: list[str],
) -> None:
    source = StoragePool(https_client, name=pool.name).volumes.get(
        "custom", volume.name
    )
    source.patch({"config": {"size": "1GiB"}, "description": "to copy"})
    source.snapshots.create("s1")

    remote_volumes.extend([volume.name + "-c", volume.name + "-m"])
    copy = source.copy(
        volume.name + "-c", pool="default", target_client=second_https_client
    )
    assert copy.client is second_https_client
    assert (copy.description, copy.config) == ("to copy", {"size": "1GiB"})
    assert copy.snapshots.all() == ["s1"]

    moved = source.move(
        volume.name + "-m", pool="default", target_client=second_https_client
    )
    assert moved.name == volume.name + "-m" and moved.client is second_https_client
    assert not pool.volumes.exists("custom", volume.name)
    target = second_https_client.storage_pools.get("default")
    assert target.volumes.exists("custom", volume.name + "-m")


def test_copy_to_a_missing_pool_on_another_server_leaves_nothing(
    https_client: Client,
    second_https_client: Client,
    pool: StoragePool,
    volume: StorageVolume,
) -> None:
    source = StoragePool(https_client, name=pool.name).volumes.get(
        "custom", volume.name
    )
    missing = unique_name("pylxd-it-nopool")
    with pytest.raises(StorageObjectNotFound, match=f"in pool '{missing}'"):
        source.copy(pool=missing, target_client=second_https_client)
    assert pool.volumes.exists("custom", volume.name)


# -- attach to an instance -----------------------------------------------------
def test_attach_a_volume_to_a_running_container(
    client: Client,
    running_container: Any,
    pool: StoragePool,
    other_pool: StoragePool,
    volume: StorageVolume,
    tmp_path: Path,
) -> None:
    container = running_container
    container.sync()  # started after it was loaded: take LXD's volatile keys
    container.devices["data"] = {
        "type": "disk",
        "pool": pool.name,
        "source": volume.name,
        "path": "/mnt/data",
    }
    container.save(wait=True)
    volume.sync()
    assert volume.used_by == [f"/1.0/instances/{container.name}"]
    with pytest.raises(exceptions.LXDAPIException, match="in use"):
        StoragePool(client, name=pool.name).delete()
    with pytest.raises(exceptions.LXDAPIException):
        volume.delete()

    _write_through_the_container(container)
    _backup_round_trip_in_constant_memory(volume, other_pool, tmp_path)

    del container.devices["data"]
    container.save(wait=True)
    volume.sync()
    assert volume.used_by == []
    assert "data" not in client.instances.get(container.name).devices


BIG = 8 << 20  # bytes of random data, so that the backup cannot be compressed


def _write_through_the_container(container: Any) -> None:
    script = (
        "echo hello > /mnt/data/hello.txt && "
        f"dd if=/dev/urandom of=/mnt/data/big bs=1048576 count={BIG >> 20} 2>/dev/null"
    )
    result = container.execute(["sh", "-c", script])
    assert result.exit_code == 0, result.stderr


def _backup_round_trip_in_constant_memory(
    volume: StorageVolume, other_pool: StoragePool, tmp_path: Path
) -> None:
    """Export and import an 8 MiB backup while Python holds far less than that."""
    path = tmp_path / "attached.tar.gz"
    backup = volume.backups.create("attached", compression_algorithm="none")
    tracemalloc.start()
    try:
        size = backup.export(str(path))
        _, export_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with path.open("rb") as handle:
            imported = other_pool.volumes.import_backup(handle, name=volume.name + "-i")
        _, import_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > BIG
    assert export_peak < 3 << 20 and import_peak < 3 << 20, (export_peak, import_peak)
    with tarfile.open(path) as tar:
        member = tar.extractfile("backup/volume/hello.txt")
        assert member is not None and member.read() == b"hello\n"
        assert tar.getmember("backup/volume/big").size == BIG
    assert imported is not None and imported.storage_pool.name == other_pool.name

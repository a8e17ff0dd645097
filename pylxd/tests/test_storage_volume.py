"""Unit tests of storage volumes, volume snapshots and volume backups."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pylxd import Client, exceptions
from pylxd.models import StoragePool, StorageVolume, StorageVolumeSnapshot
from pylxd.models.storage_pool import StorageObjectNotFound
from pylxd.models.storage_volume_backup import StorageVolumeBackup
from pylxd.testing import FakeLXD
from pylxd.testing._extensions import LXD_5_0_2_EXTENSIONS
from pylxd.testing._fake import FakeRequest, Reply
from pylxd.testing._fake_storage import backup_tarball

POOL = "/1.0/storage-pools/p1"
VOL = f"{POOL}/volumes/custom/v1"


@pytest.fixture
def pool(client: Client) -> StoragePool:
    return client.storage_pools.create({"name": "p1", "driver": "zfs"})


@pytest.fixture
def volume(pool: StoragePool) -> StorageVolume:
    return pool.volumes.create({"name": "v1", "config": {"size": "1GiB"}})


def _ops(lxd: FakeLXD) -> list[tuple[str, str]]:
    return [
        (r.method, "<wait>" if r.path.endswith("/wait") else r.path)
        for r in lxd.requests
    ]


# -- create --------------------------------------------------------------------
def test_create_from_a_definition(pool: StoragePool, lxd: FakeLXD) -> None:
    definition = {"name": "v1", "config": {"size": "1GiB"}, "description": "d"}
    lxd.requests.clear()
    volume = pool.volumes.create(definition)
    assert _ops(lxd) == [("POST", f"{POOL}/volumes"), ("GET", VOL)]
    assert lxd.last_body("POST", f"{POOL}/volumes") == {
        "type": "custom",
        **definition,
    }
    assert definition == {"name": "v1", "config": {"size": "1GiB"}, "description": "d"}
    assert (volume.type, volume.name, volume.config) == (
        "custom",
        "v1",
        {"size": "1GiB"},
    )
    assert (volume.content_type, volume.location, volume.used_by) == (
        "filesystem",
        "none",
        [],
    )
    assert volume.storage_pool is pool and volume.project == "default"


def test_create_with_type_and_name(pool: StoragePool, lxd: FakeLXD) -> None:
    volume = pool.volumes.create(
        "custom", "v2", config={"size": "2GiB"}, description=None, content_type="block"
    )
    assert lxd.last_body("POST", f"{POOL}/volumes") == {
        "type": "custom",
        "name": "v2",
        "config": {"size": "2GiB"},
        "content_type": "block",
    }
    assert volume.content_type == "block"


def test_create_accepts_pylxds_legacy_leading_client(
    client: Client, pool: StoragePool
) -> None:
    volume = StorageVolume.create(pool, client, {"name": "v3"})
    assert volume.name == "v3"


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((), {}, TypeError, "definition dict or \\(type, name\\)"),
        (("v1",), {}, TypeError, "definition dict or \\(type, name\\)"),
        (({"name": "v1"},), {"config": {}}, TypeError, "no other fields"),
        (({"config": {}},), {}, ValueError, "needs a 'name'"),
        (("custom", ""), {}, ValueError, "Storage volume name '' is not"),
        (
            ({"name": "v", "type": ""},),
            {},
            ValueError,
            "Storage volume type name .. is not allowed",
        ),
    ],
)
def test_create_rejects_bad_input_before_sending(
    pool: StoragePool, lxd: FakeLXD, args: tuple, kwargs: dict, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        pool.volumes.create(*args, **kwargs)
    assert not lxd.calls("POST", f"{POOL}/volumes")


def test_create_in_a_missing_pool_names_the_pool(client: Client) -> None:
    pool = StoragePool(client, name="nopool")
    with pytest.raises(exceptions.NotFound) as err:
        pool.volumes.create({"name": "v1"})
    assert isinstance(err.value, StorageObjectNotFound)
    assert str(err.value) == (
        "Storage volume custom/v1 in pool 'nopool': Storage pool not found"
    )


def test_create_duplicate_is_a_conflict(
    pool: StoragePool, volume: StorageVolume
) -> None:
    with pytest.raises(exceptions.Conflict, match="Volume by that name already exists"):
        pool.volumes.create({"name": "v1"})


def test_create_waits_for_an_async_answer(lxd: FakeLXD) -> None:
    lxd.extensions.append("storage_and_network_operations")
    pool = StoragePool(lxd.client(), name="default")
    lxd.requests.clear()
    pool.volumes.create("custom", "v1")
    assert _ops(lxd) == [
        ("POST", "/1.0/storage-pools/default/volumes"),
        ("GET", "<wait>"),
        ("GET", "/1.0/storage-pools/default/volumes/custom/v1"),
    ]


def test_create_without_wait_returns_a_lazy_volume_for_an_async_answer(
    lxd: FakeLXD,
) -> None:
    lxd.extensions.append("storage_and_network_operations")
    pool = StoragePool(lxd.client(), name="default")
    lxd.requests.clear()
    volume = pool.volumes.create("custom", "v1", wait=False)
    assert _ops(lxd) == [("POST", "/1.0/storage-pools/default/volumes")]
    assert volume.config == {}  # loaded on first read
    assert lxd.calls("GET", "/1.0/storage-pools/default/volumes/custom/v1")


# -- read ----------------------------------------------------------------------
def test_all_is_one_request_and_leaves_snapshots_out(
    pool: StoragePool, volume: StorageVolume, lxd: FakeLXD
) -> None:
    volume.snapshots.create("s1")
    pool.volumes.create("custom", "v2")
    lxd.requests.clear()
    volumes = pool.volumes.all()
    assert [(v.type, v.name) for v in volumes] == [("custom", "v1"), ("custom", "v2")]
    assert volumes[0].config == {"size": "1GiB"}
    assert [(r.path, r.query) for r in lxd.requests] == [
        (f"{POOL}/volumes", {"recursion": "1"})
    ]


def test_get_exists_and_not_found_names(
    pool: StoragePool, volume: StorageVolume
) -> None:
    assert pool.volumes.get("custom", "v1") == volume
    assert pool.volumes.exists("custom", "v1")
    assert not pool.volumes.exists("custom", "nope")
    with pytest.raises(exceptions.NotFound) as err:
        pool.volumes.get("custom", "nope")
    assert str(err.value) == (
        "Storage volume custom/nope in pool 'p1': Storage pool volume not found"
    )


def test_names_are_quoted(pool: StoragePool, lxd: FakeLXD) -> None:
    with pytest.raises(exceptions.NotFound):
        pool.volumes.get("custom", "a b")
    assert lxd.requests[-1].path == f"{POOL}/volumes/custom/a%20b"


def test_state(pool: StoragePool, volume: StorageVolume, lxd: FakeLXD) -> None:
    state = volume.state()
    assert state.usage.used == 4096
    assert lxd.calls("GET", f"{VOL}/state")


def test_state_on_dir_raises_lxds_message(client: Client) -> None:
    volume = StoragePool(client, name="default").volumes.create("custom", "v")
    with pytest.raises(exceptions.LXDAPIException, match="^Not supported$"):
        volume.state()


# -- edits ---------------------------------------------------------------------
def test_save_puts_description_and_config(volume: StorageVolume, lxd: FakeLXD) -> None:
    volume.config["size"] = "5GiB"
    volume.description = "new"
    volume.save()
    assert lxd.last_body("PUT", VOL) == {
        "description": "new",
        "config": {"size": "5GiB"},
    }


def test_put_patch_raw(volume: StorageVolume, lxd: FakeLXD) -> None:
    volume.patch({"config": {"x": "1"}})
    assert lxd.last_body("PATCH", VOL) == {"config": {"x": "1"}}
    assert volume.config == {"size": "1GiB", "x": "1"}
    volume.put({"config": {}, "description": "p"})
    assert (volume.config, volume.description) == ({}, "p")
    volume.raw_patch({"description": "raw"})
    assert volume.description == "p"


def test_delete(pool: StoragePool, volume: StorageVolume, lxd: FakeLXD) -> None:
    volume.delete()
    assert lxd.calls("DELETE", VOL)
    assert not pool.volumes.exists("custom", "v1")


def test_delete_attached_volume_is_refused(
    pool: StoragePool, volume: StorageVolume, lxd: FakeLXD
) -> None:
    lxd.store("instances")["c1"] = {
        "name": "c1",
        "devices": {
            "data": {"type": "disk", "pool": "p1", "source": "v1", "path": "/d"}
        },
    }
    assert volume.used_by == []  # loaded before the attach
    volume.sync()
    assert volume.used_by == ["/1.0/instances/c1"]
    with pytest.raises(exceptions.LXDAPIException, match="still in use"):
        volume.delete()


def test_rename_in_the_pool(
    pool: StoragePool, volume: StorageVolume, lxd: FakeLXD
) -> None:
    metadata = volume.rename({"name": "v2"}, wait=True)
    assert lxd.last_body("POST", VOL) == {"name": "v2"}
    assert metadata["description"] == "Renaming storage volume"
    assert volume.name == "v2" and volume.api._api_endpoint.endswith("/custom/v2")
    assert pool.volumes.exists("custom", "v2")


def test_rename_to_another_pool_follows_the_volume(
    client: Client, volume: StorageVolume, lxd: FakeLXD
) -> None:
    volume.rename({"name": "v1", "pool": "default"}, wait=True)
    assert lxd.last_body("POST", VOL) == {"name": "v1", "pool": "default"}
    assert volume.storage_pool.name == "default"
    volume.sync()
    assert lxd.requests[-1].path == "/1.0/storage-pools/default/volumes/custom/v1"


def test_rename_with_migration_returns_the_secrets_and_keeps_the_name(
    volume: StorageVolume, lxd: FakeLXD
) -> None:
    metadata = volume.rename({"name": "v1", "migration": True})
    assert lxd.last_body("POST", VOL) == {"name": "v1", "migration": True}
    assert metadata["class"] == "websocket"
    assert sorted(metadata["metadata"]) == ["control", "fs"]
    assert (volume.name, volume.storage_pool.name) == ("v1", "p1")


@pytest.mark.parametrize(
    "body, error", [("v2", TypeError), ({"pool": "default"}, ValueError)]
)
def test_rename_rejects_bad_input(
    volume: StorageVolume, lxd: FakeLXD, body: object, error: type
) -> None:
    with pytest.raises(error, match="storage volume rename input"):
        volume.rename(body)
    assert not lxd.calls("POST", VOL)


def test_restore_from(volume: StorageVolume, lxd: FakeLXD) -> None:
    volume.snapshots.create("s1")
    volume.restore_from("s1")
    assert lxd.last_body("PUT", VOL) == {"restore": "s1"}
    with pytest.raises(exceptions.LXDAPIException, match="Snapshot not found"):
        volume.restore_from("nope")


# -- copy and move -------------------------------------------------------------
def test_copy_in_the_same_server(
    pool: StoragePool, volume: StorageVolume, lxd: FakeLXD
) -> None:
    volume.snapshots.create("s1")
    copy = volume.copy("v2", pool="default", volume_only=True, description="c")
    assert lxd.last_body("POST", "/1.0/storage-pools/default/volumes") == {
        "name": "v2",
        "type": "custom",
        "description": "c",
        "source": {"type": "copy", "pool": "p1", "name": "v1", "volume_only": True},
    }
    assert (copy.storage_pool.name, copy.name, copy.config) == (
        "default",
        "v2",
        {"size": "1GiB"},
    )
    assert copy.snapshots.all() == []
    full = volume.copy("v3")
    assert full.snapshots.all() == ["s1"]


def test_move_in_the_same_server(volume: StorageVolume, lxd: FakeLXD) -> None:
    moved = volume.move("v9", pool="default")
    assert moved is volume
    assert lxd.last_body("POST", VOL) == {"name": "v9", "pool": "default"}
    assert (volume.storage_pool.name, volume.name) == ("default", "v9")


@pytest.fixture
def target() -> FakeLXD:
    return FakeLXD()


def _https_source(lxd: FakeLXD) -> Client:
    lxd.config["core.https_address"] = "127.0.0.1:8443"
    client = lxd.client()
    client.host_info["environment"]["addresses"] = ["127.0.0.1:8443"]
    client.host_info["environment"]["certificate"] = "SOURCE-CERT"
    return client


def test_copy_to_another_server_is_a_pull_migration(
    lxd: FakeLXD, target: FakeLXD
) -> None:
    source = _https_source(lxd)
    volume = StoragePool(source, name="default").volumes.create(
        {"name": "v1", "config": {"size": "1GiB"}, "description": "d"}
    )
    copy = volume.copy(target_client=target.client(), volume_only=True)
    migration = lxd.last_body("POST", "/1.0/storage-pools/default/volumes/custom/v1")
    assert migration == {"name": "v1", "migration": True, "volume_only": True}
    op_id = next(iter(lxd.operations))
    body = target.last_body("POST", "/1.0/storage-pools/default/volumes")
    secrets = body["source"].pop("secrets")
    assert sorted(secrets) == ["control", "fs"]
    assert secrets == lxd.operations[op_id].metadata
    assert body == {
        "name": "v1",
        "type": "custom",
        "description": "d",
        "config": {"size": "1GiB"},
        "content_type": "filesystem",
        "source": {
            "type": "migration",
            "mode": "pull",
            "operation": f"https://127.0.0.1:8443/1.0/operations/{op_id}",
            "certificate": "SOURCE-CERT",
            "volume_only": True,
        },
    }
    assert copy.client is not source and copy.config == {"size": "1GiB"}


def test_copy_to_another_server_from_an_https_client_uses_its_url(
    lxd: FakeLXD, target: FakeLXD
) -> None:
    from pylxd.models._storage_migration import https_url

    client = lxd.client()
    assert client.host_info["environment"]["addresses"] == []
    with pytest.raises(ValueError, match="core.https_address"):
        https_url(client)
    client.api._api_endpoint = "https://10.0.0.1:8443/1.0"
    assert https_url(client) == "https://10.0.0.1:8443"


def test_refused_migration_cancels_the_source_operation(
    lxd: FakeLXD, target: FakeLXD
) -> None:
    source = _https_source(lxd)
    volume = StoragePool(source, name="default").volumes.create("custom", "v1")
    with pytest.raises(exceptions.NotFound, match="in pool 'nopool'"):
        volume.copy(pool="nopool", target_client=target.client())
    (op,) = lxd.operations.values()
    assert op.status == "Cancelled"
    assert StoragePool(source, name="default").volumes.exists("custom", "v1")


def test_move_to_another_server_deletes_the_source_after_the_copy(
    lxd: FakeLXD, target: FakeLXD
) -> None:
    source = _https_source(lxd)
    pool = StoragePool(source, name="default")
    volume = pool.volumes.create("custom", "v1")
    moved = volume.move("v2", target_client=target.client())
    assert moved.name == "v2" and moved.client is not source
    assert not pool.volumes.exists("custom", "v1")
    assert lxd.calls("DELETE", "/1.0/storage-pools/default/volumes/custom/v1")


# -- snapshots -----------------------------------------------------------------
def test_snapshot_create_get_all_exists(volume: StorageVolume, lxd: FakeLXD) -> None:
    lxd.requests.clear()
    snap = volume.snapshots.create("s1", expires_at="2030-01-01T00:00:00Z")
    assert _ops(lxd) == [
        ("POST", f"{VOL}/snapshots"),
        ("GET", "<wait>"),
        ("GET", f"{VOL}/snapshots/s1"),
    ]
    assert lxd.last_body("POST", f"{VOL}/snapshots") == {
        "name": "s1",
        "expires_at": "2030-01-01T00:00:00Z",
    }
    assert isinstance(snap, StorageVolumeSnapshot) and snap.volume is volume
    assert (snap.name, snap.expires_at) == ("s1", "2030-01-01T00:00:00Z")
    lxd.requests.clear()
    assert volume.snapshots.all() == ["s1"]  # names by default, as pylxd
    assert [s.name for s in volume.snapshots.all(use_recursion=True)] == ["s1"]
    assert [(r.path, r.query) for r in lxd.requests] == [
        (f"{VOL}/snapshots", {}),
        (f"{VOL}/snapshots", {"recursion": "1"}),
    ]
    assert volume.snapshots.exists("s1") and not volume.snapshots.exists("s2")


def test_snapshot_without_a_name_gets_lxds_name(
    volume: StorageVolume, lxd: FakeLXD
) -> None:
    volume.snapshots.create("s1")
    snap = volume.snapshots.create()
    assert lxd.last_body("POST", f"{VOL}/snapshots") == {}
    assert snap.name == "snap0"


def test_snapshot_name_from_newer_lxds_operation_resources(
    volume: StorageVolume, lxd: FakeLXD
) -> None:
    op = lxd.operation(
        "Creating storage volume snapshot",
        {"storage_volume_snapshots": [f"{VOL}/snapshots/snap7"]},
    )
    volume.snapshots.create("snap7")  # what the injected answer will announce
    lxd.requests.clear()
    lxd.reply_next(lxd.async_reply(op), "POST", f"{VOL}/snapshots")
    snap = volume.snapshots.create()
    assert snap.name == "snap7"
    assert [r.path for r in lxd.requests if r.method == "GET"][-1] == (
        f"{VOL}/snapshots/snap7"
    )


def test_snapshot_get_missing_names_it(volume: StorageVolume) -> None:
    with pytest.raises(exceptions.NotFound) as err:
        volume.snapshots.get("nope")
    assert str(err.value).startswith("Snapshot 'nope' of storage volume custom/v1")


def test_snapshot_duplicate_fails(volume: StorageVolume) -> None:
    volume.snapshots.create("s1")
    with pytest.raises(exceptions.Conflict, match='Snapshot "s1" already in use'):
        volume.snapshots.create("s1")


def test_snapshot_save_rename_restore_delete(
    volume: StorageVolume, lxd: FakeLXD
) -> None:
    snap = volume.snapshots.create("s1")
    snap.description = "d"
    snap.save()
    assert lxd.last_body("PUT", f"{VOL}/snapshots/s1") == {
        "description": "d",
        "expires_at": "0001-01-01T00:00:00Z",
    }
    snap.rename("s2")
    assert lxd.last_body("POST", f"{VOL}/snapshots/s1") == {"name": "s2"}
    assert snap.name == "s2" and volume.snapshots.get("s2").description == "d"
    snap.restore()
    assert lxd.last_body("PUT", VOL) == {"restore": "s2"}
    snap.delete()
    assert lxd.calls("DELETE", f"{VOL}/snapshots/s2")
    assert volume.snapshots.all() == []


# -- backups -------------------------------------------------------------------
def test_backup_create_all_get_delete(volume: StorageVolume, lxd: FakeLXD) -> None:
    lxd.requests.clear()
    backup = volume.backups.create("b1", compression_algorithm="gzip")
    assert _ops(lxd) == [
        ("POST", f"{VOL}/backups"),
        ("GET", "<wait>"),
        ("GET", f"{VOL}/backups/b1"),
    ]
    assert lxd.last_body("POST", f"{VOL}/backups") == {
        "name": "b1",
        "compression_algorithm": "gzip",
        "volume_only": False,
        "optimized_storage": False,
    }
    assert isinstance(backup, StorageVolumeBackup)
    assert (backup.volume_only, backup.optimized_storage) == (False, False)
    assert [b.name for b in volume.backups.all()] == ["b1"]
    assert volume.backups.exists("b1")
    backup.rename("b2")
    assert lxd.last_body("POST", f"{VOL}/backups/b1") == {"name": "b2"}
    backup.delete()
    assert lxd.calls("DELETE", f"{VOL}/backups/b2")
    assert not volume.backups.exists("b2")


def test_backup_without_name_uses_the_operation_resources(
    volume: StorageVolume,
) -> None:
    backup = volume.backups.create(volume_only=True)
    assert backup.name == "backup0" and backup.volume_only is True


def test_backup_create_without_wait_is_lazy(
    volume: StorageVolume, lxd: FakeLXD
) -> None:
    lxd.requests.clear()
    backup = volume.backups.create(wait=False)
    assert _ops(lxd) == [("POST", f"{VOL}/backups")]
    assert backup.name == "backup0"


def test_backup_export_streams_to_a_file_object_with_progress(
    volume: StorageVolume, lxd: FakeLXD
) -> None:
    backup = volume.backups.create("b1")
    seen: list[tuple[int, int | None]] = []
    out = io.BytesIO()
    size = backup.export(out, progress=lambda d, t: seen.append((d, t)), chunk_size=100)
    data = out.getvalue()
    assert size == len(data) > 100 and data[:2] == b"\x1f\x8b"
    assert seen[-1] == (size, size) and len(seen) == -(-size // 100)
    assert lxd.calls("GET", f"{VOL}/backups/b1/export")


def test_backup_export_to_a_path(volume: StorageVolume, tmp_path: Path) -> None:
    backup = volume.backups.create("b1")
    path = tmp_path / "b1.tar.gz"
    assert backup.export(str(path)) == path.stat().st_size > 0


def test_backup_export_of_a_missing_backup(volume: StorageVolume) -> None:
    with pytest.raises(exceptions.NotFound, match="Storage volume backup not found"):
        StorageVolumeBackup(volume.client, volume=volume, name="x").export(io.BytesIO())


# -- import --------------------------------------------------------------------
def test_import_streams_a_file_object_with_headers_and_progress(
    pool: StoragePool, volume: StorageVolume, lxd: FakeLXD
) -> None:
    data = backup_tarball({"name": "v1", "config": {"size": "1GiB"}})
    seen: list[tuple[int, int | None]] = []
    imported = pool.volumes.import_backup(
        io.BytesIO(data), name="v2", progress=lambda d, t: seen.append((d, t))
    )
    request = lxd.last("POST", f"{POOL}/volumes/custom")
    assert request.body == data
    assert seen[-1] == (len(data), len(data))
    assert imported is not None and imported.name == "v2"
    assert imported.config == {"size": "1GiB"}


def test_import_sends_the_raw_headers(pool: StoragePool, lxd: FakeLXD) -> None:
    seen: dict[str, str] = {}

    def capture(request: FakeRequest) -> Reply | None:
        if request.method == "POST" and request.path.endswith("/volumes/custom"):
            seen.update(request.headers)
        return None

    lxd.faults.append(capture)
    data = backup_tarball({"name": "v1", "config": {}})
    pool.volumes.import_backup(data, name="v5")
    assert seen["Content-Type"] == "application/octet-stream"
    assert seen["X-LXD-name"] == "v5"
    assert seen["Content-Length"] == str(len(data))


def test_import_without_a_name_uses_the_backups(
    pool: StoragePool, tmp_path: Path
) -> None:
    path = tmp_path / "backup.tar.gz"
    path.write_bytes(backup_tarball({"name": "orig", "config": {}}))
    imported = pool.volumes.import_backup(str(path))
    assert imported is not None and imported.name == "orig"


def test_import_from_chunks_of_unknown_length(pool: StoragePool, lxd: FakeLXD) -> None:
    data = backup_tarball({"name": "v1", "config": {}})
    seen: list[tuple[int, int | None]] = []
    chunks = (data[i : i + 50] for i in range(0, len(data), 50))
    imported = pool.volumes.import_backup(
        chunks, name="v7", progress=lambda d, t: seen.append((d, t))
    )
    assert imported is not None and imported.name == "v7"
    assert seen[-1] == (len(data), None)


def test_import_of_garbage_is_refused(pool: StoragePool) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="Invalid backup file"):
        pool.volumes.import_backup(b"not a tarball", name="v1")
    assert not pool.volumes.exists("custom", "v1")


def test_import_into_a_missing_pool_names_it(client: Client) -> None:
    with pytest.raises(StorageObjectNotFound, match="Storage pool 'nopool'"):
        StoragePool(client, name="nopool").volumes.import_backup(b"x", name="v")


def test_newer_lxd_async_volume_edits_are_waited_for() -> None:
    lxd = FakeLXD(extensions=[*LXD_5_0_2_EXTENSIONS, "storage_and_network_operations"])
    volume = StoragePool(lxd.client(), name="default").volumes.create("custom", "v1")
    lxd.requests.clear()
    volume.patch({"description": "x"}, wait=True)
    volume.delete()
    assert _ops(lxd) == [
        ("PATCH", "/1.0/storage-pools/default/volumes/custom/v1"),
        ("GET", "<wait>"),
        ("GET", "/1.0/storage-pools/default/volumes/custom/v1"),
        ("DELETE", "/1.0/storage-pools/default/volumes/custom/v1"),
        ("GET", "<wait>"),
    ]


def test_a_volume_gone_on_sync_is_named_with_its_pool(pool: StoragePool) -> None:
    volume = pool.volumes.create("custom", "gone")
    snapshot = volume.snapshots.create("s1")
    pool.client.api["storage-pools"][
        pool.name
    ].volumes.custom.gone.snapshots.s1.delete()
    with pytest.raises(exceptions.NotFound) as err:
        snapshot.sync()
    assert str(err.value).startswith(
        f"Snapshot 's1' of storage volume custom/gone in pool {pool.name!r}: "
    )
    pool.client.api["storage-pools"][pool.name].volumes.custom.gone.delete()
    with pytest.raises(exceptions.NotFound) as err:
        volume.sync()
    assert str(err.value) == (
        f"Storage volume custom/gone in pool {pool.name!r}: "
        "Storage pool volume not found"
    )

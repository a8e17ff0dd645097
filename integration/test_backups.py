"""Instance backups against the real LXD: create, list, rename, export (streamed,
over the socket and HTTPS), delete, and restoring an instance from the tarball."""

from __future__ import annotations

import io
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from integration.conftest import force_delete_instance, unique_name
from pylxd import Client, exceptions


@pytest.fixture
def restored(client: Client) -> Iterator[list[str]]:
    """Names of instances a test restores from backups (deleted after)."""
    names: list[str] = []
    yield names
    for name in names:
        force_delete_instance(client, name)


def test_backup_create_list_rename_and_delete(container: Any) -> None:
    expiry = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    backup = container.backups.create(
        "nightly", expires_at=expiry, instance_only=True, compression_algorithm="gzip"
    )
    assert (backup.name, backup.instance_only, backup.optimized_storage) == (
        "nightly",
        True,
        False,
    )
    assert backup.expires_at.startswith(expiry.strftime("%Y-%m-%dT%H:%M:%S"))
    assert backup.created_at
    automatic = container.backups.create()  # LXD names it
    assert automatic.name == "backup0"
    assert automatic.expires_at == "0001-01-01T00:00:00Z"
    assert sorted(b.name for b in container.backups.all()) == ["backup0", "nightly"]
    assert container.backups.exists("nightly")
    backup.rename("weekly")
    assert container.backups.get("weekly").instance_only is True
    assert not container.backups.exists("nightly")
    backup.delete()
    automatic.delete()
    assert container.backups.all() == []
    with pytest.raises(exceptions.NotFound, match="Instance backup not found"):
        container.backups.get("weekly")


def test_backup_errors_come_from_lxd(container: Any) -> None:
    container.backups.create("b1", compression_algorithm="none")
    with pytest.raises(exceptions.LXDAPIException, match="already exists"):
        container.backups.create("b1")
    with pytest.raises(ValueError, match="Instance backup name 'a/b'"):
        container.backups.create("a/b")


def test_backup_export_streams_a_tarball_with_progress(
    container: Any, tmp_path: Path
) -> None:
    backup = container.backups.create("b1", compression_algorithm="gzip")
    seen: list[tuple[int, int | None]] = []
    path = tmp_path / "b1.tar.gz"
    written = backup.export(path, progress=lambda d, t: seen.append((d, t)))
    assert written == path.stat().st_size > 0
    assert seen[-1] == (written, written)
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert "backup/index.yaml" in names
    assert any(n.startswith("backup/container/rootfs") for n in names)


def test_backup_export_over_https_matches_the_socket(
    container: Any, https_client: Client
) -> None:
    container.backups.create("b1", compression_algorithm="none")
    local, remote = io.BytesIO(), io.BytesIO()
    container.backups.get("b1").export(local)
    https_client.instances.get(container.name).backups.get("b1").export(remote)
    assert remote.getvalue() == local.getvalue() and len(local.getvalue()) > 0


def test_create_from_backup_restores_under_a_new_name(
    client: Client,
    make_container: Callable[..., Any],
    restored: list[str],
    tmp_path: Path,
) -> None:
    source = make_container(config={"user.marker": "from-backup"})
    path = tmp_path / "backup.tar.gz"
    source.backups.create("b1").export(path)
    name = unique_name()
    restored.append(name)
    seen: list[tuple[int, int | None]] = []
    instance = client.instances.create_from_backup(
        path, name=name, pool="default", progress=lambda d, t: seen.append((d, t))
    )
    assert instance.name == name and instance.status == "Stopped"
    assert instance.config["user.marker"] == "from-backup"
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)
    instance.start(wait=True)
    assert client.instances.get(name).status == "Running"


def test_create_from_backup_refusals(
    client: Client, container: Any, restored: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "backup.tar.gz"
    container.backups.create("b1").export(path)
    with pytest.raises(exceptions.LXDAPIException, match="already exists"):
        client.instances.create_from_backup(path)  # its own name is taken
    name = unique_name()
    restored.append(name)
    with pytest.raises(exceptions.LXDAPIException, match="Storage pool not found"):
        client.instances.create_from_backup(path, name=name, pool=unique_name())
    with pytest.raises(exceptions.LXDAPIException, match="Unsupported compression"):
        client.instances.create_from_backup(b"not a backup", name=name)
    assert not client.instances.exists(name)


def test_create_from_backup_over_https_from_a_file_object(
    client: Client,
    https_client: Client,
    container: Any,
    restored: list[str],
    tmp_path: Path,
) -> None:
    path = tmp_path / "backup.tar.gz"
    container.backups.create("b1").export(path)
    name = unique_name()
    restored.append(name)
    with open(path, "rb") as handle:
        instance = https_client.instances.create_from_backup(handle, name=name)
    assert instance.name == name
    assert client.instances.get(name).status == "Stopped"

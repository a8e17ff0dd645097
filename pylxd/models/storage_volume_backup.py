"""Backups of custom storage volumes, and streamed export and import.

``/1.0/storage-pools/<pool>/volumes/<type>/<volume>/backups/<name>`` and
``.../backups/<name>/export``; a backup tarball is imported with ``POST
/1.0/storage-pools/<pool>/volumes/custom`` and a raw body. Transfers go in
chunks (never the whole tarball in memory), with an optional
``progress(done_bytes, total_bytes_or_None)`` callback.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Union

from pylxd.models import _model as model
from pylxd.models import _storage_naming, _streaming
from pylxd.models._backup import Backup
from pylxd.models._dates import format_time
from pylxd.models._mixins import check_name, created_name_or_none, drop_none
from pylxd.models._model import wait_for

if TYPE_CHECKING:  # pragma: no cover

    from pylxd.models.storage_pool import StoragePool, StorageVolume

CHUNK_SIZE = _streaming.CHUNK_SIZE
Progress = _streaming.Progress
Target = _streaming.Target
#: A backup to import: a path, bytes, a binary file object or byte chunks.
Source = Union[_streaming.Source, Iterable[bytes]]


class StorageVolumeBackup(Backup):
    """A backup of a custom volume, ``.../volumes/<type>/<volume>/backups/<name>``.

    LXD 5.0 cannot edit a backup: there is nothing to ``save()``.
    """

    _error_kind = "Storage volume backup"

    volume_only = model.Attribute[bool](readonly=True)

    volume: model.Parent[StorageVolume] = model.Parent()

    @classmethod
    def create(
        cls,
        volume: StorageVolume,
        name: str | None = None,
        expires_at: datetime | str | None = None,
        volume_only: bool = False,
        optimized_storage: bool = False,
        compression_algorithm: str | None = None,
        wait: bool = True,
    ) -> StorageVolumeBackup:
        """Back the volume up on the server and return the backup.

        Implements ``POST .../volumes/<type>/<volume>/backups``.

        :param name: the backup's name (default: LXD picks ``backup0``, ...).
        :param expires_at: when LXD deletes the backup (a datetime, naive
            meaning UTC, or an RFC 3339 string); never when None.
        :param volume_only: leave the volume's snapshots out.
        :param optimized_storage: use the pool driver's own format.
        :param compression_algorithm: e.g. ``"gzip"`` or ``"none"``.
        :param wait: wait for the backup (otherwise the returned object is
            loaded on first use).
        :raises LXDAPIException: when LXD cannot make it.
        """
        if name is not None:
            check_name("Storage volume backup", name)
        body = {
            **drop_none(
                name=name,
                expires_at=format_time(expires_at, "Storage volume backup expires_at"),
                compression_algorithm=compression_algorithm,
            ),
            "volume_only": volume_only,
            "optimized_storage": optimized_storage,
        }
        return cls._back_up(volume, name, body, wait)

    def export(
        self,
        target: Target,
        progress: Progress | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> int:
        """Download the backup tarball into ``target``, chunk by chunk.

        Implements ``GET .../backups/<name>/export``.

        :param target: a binary file object, or a path to write to (under a
            temporary name, renamed into place when complete).
        :param progress: called as ``progress(done_bytes, total_or_None)``.
        :param chunk_size: bytes read per chunk (a positive int).
        :returns: the number of bytes written.
        :raises InvalidArgumentType: for a bad target or chunk size (nothing sent).
        :raises InvalidArgument: for a chunk size below 1 (nothing sent).
        :raises TransferIncomplete: when the tarball arrives short.
        :raises NotFound: when the backup does not exist.
        """
        what = f"Volume backup {self.name!r} export"
        return self._export(target, progress, what, chunk_size)


def import_volume_backup(
    cls: type[StorageVolume],
    storage_pool: StoragePool,
    data: Source,
    name: str | None,
    wait: bool,
    progress: Progress | None,
) -> StorageVolume | None:
    """Upload a volume backup; see :meth:`StorageVolume.import_backup`."""

    headers = {"Content-Type": "application/octet-stream"}
    if name is not None:
        headers["X-LXD-name"] = check_name("Storage volume", name)
    with _streaming.upload_body(
        data, "storage volume backup", progress, chunks=True
    ) as body, _storage_naming.naming(_storage_naming.pool_label(storage_pool.name)):
        response = storage_pool.api.volumes.custom.post(data=body, headers=headers)
    wait_for(storage_pool.client, response, wait)
    name = name or created_name_or_none(response, "storage_volumes")
    if not name:
        return None
    if not wait:
        return cls._lazy(storage_pool, "custom", name)
    return cls.get(storage_pool, "custom", name)

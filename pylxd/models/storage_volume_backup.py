"""Backups of custom storage volumes, and streamed export and import.

``/1.0/storage-pools/<pool>/volumes/<type>/<volume>/backups/<name>`` and
``.../backups/<name>/export``; a backup tarball is imported with ``POST
/1.0/storage-pools/<pool>/volumes/custom`` and a raw body. Transfers go in
chunks (never the whole tarball in memory), with an optional
``progress(done_bytes, total_bytes_or_None)`` callback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Union

from pylxd.models import _model as model
from pylxd.models import _storage_naming, _streaming
from pylxd.models._mixins import (
    RenameMixin,
    check_name,
    drop_none,
    found,
    name_from_url,
    quote,
)
from pylxd.models._model import JSONDict, wait_for

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd._transport import _APINode
    from pylxd.models.storage_pool import StoragePool, StorageVolume

CHUNK_SIZE = _streaming.CHUNK_SIZE
Progress = _streaming.Progress
Target = _streaming.Target
#: A backup to import: a path, bytes, a binary file object or byte chunks.
Source = Union[_streaming.Source, Iterable[bytes]]


class StorageVolumeBackup(RenameMixin, model.Model):
    """A backup of a custom volume, ``.../volumes/<type>/<volume>/backups/<name>``.

    LXD 5.0 cannot edit a backup: there is nothing to ``save()``.
    """

    name = model.Attribute(readonly=True)
    created_at = model.Attribute(readonly=True)
    expires_at = model.Attribute(readonly=True)
    volume_only = model.Attribute(readonly=True)
    optimized_storage = model.Attribute(readonly=True)

    volume: StorageVolume = model.Parent()  # type: ignore[assignment]

    _error_kind = "Storage volume backup"

    @property
    def api(self) -> _APINode:
        return self.volume.api.backups[quote(self.name, "Storage volume backup")]  # type: ignore[no-any-return]

    @classmethod
    def all(cls, volume: StorageVolume) -> list[StorageVolumeBackup]:
        """Return the volume's backups, fully loaded, in one request.

        Implements ``GET .../volumes/<type>/<volume>/backups?recursion=1``.
        """
        response = volume.api.backups.get(params={"recursion": 1})
        return [
            cls._from_server(volume.client, item, volume=volume)  # type: ignore[misc]
            for item in response.json()["metadata"]
        ]

    @classmethod
    def get(cls, volume: StorageVolume, name: str) -> StorageVolumeBackup:
        """Return the backup ``name`` of the volume.

        Implements ``GET .../volumes/<type>/<volume>/backups/<name>``.

        :raises NotFound: when it does not exist.
        """
        node = volume.api.backups[quote(name, "Storage volume backup")]
        metadata = node.get().json()["metadata"]
        return cls._from_server(volume.client, metadata, volume=volume)  # type: ignore[return-value]

    @classmethod
    def exists(cls, volume: StorageVolume, name: str) -> bool:
        """Tell whether the volume has a backup ``name``."""
        return found(cls.get, volume, name)

    @classmethod
    def create(
        cls,
        volume: StorageVolume,
        name: str | None = None,
        expires_at: str | None = None,
        volume_only: bool = False,
        optimized_storage: bool = False,
        compression_algorithm: str | None = None,
        wait: bool = True,
    ) -> StorageVolumeBackup:
        """Back the volume up on the server and return the backup.

        Implements ``POST .../volumes/<type>/<volume>/backups``.

        :param name: the backup's name (default: LXD picks ``backup0``, ...).
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
                expires_at=expires_at,
                compression_algorithm=compression_algorithm,
            ),
            "volume_only": volume_only,
            "optimized_storage": optimized_storage,
        }
        response = volume.api.backups.post(json=body)
        name = name or _created_name(response, "backups")
        wait_for(volume.client, response, wait)
        if not wait:
            return cls(volume.client, volume=volume, name=name)
        return cls.get(volume, name)

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
        _streaming.check_target(target, what)
        _streaming.check_chunk_size(chunk_size, what)
        response = self.api.export.get(stream=True)
        return _streaming.download(response, target, progress, chunk_size, what=what)

    def rename(self, new_name: str, wait: bool = True) -> None:
        """Rename the backup (``POST .../backups/<name>``)."""
        self._rename(new_name, wait=wait)

    def delete(self, wait: bool = True) -> None:
        """Delete the backup (``DELETE .../backups/<name>``)."""
        super().delete(wait=wait)


def _created_name(response: requests.Response, kind: str) -> str:
    """The name of what an operation creates, from its ``resources``."""
    urls = _resources(response).get(kind) or []
    if not urls:
        raise ValueError(f"LXD did not tell the name of the new {kind}: {urls}")
    return name_from_url(urls[0])


def _resources(response: requests.Response) -> JSONDict:
    body = response.json()
    return (body.get("metadata") or {}).get("resources") or {}  # type: ignore[no-any-return]


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
    if not name:
        urls = _resources(response).get("storage_volumes") or []
        if not urls:
            return None
        name = name_from_url(urls[0])
    if not wait:
        return cls._lazy(storage_pool, "custom", name)
    return cls.get(storage_pool, "custom", name)

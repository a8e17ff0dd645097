"""Instance backups: ``/1.0/instances/<name>/backups/<backup>``, exported and imported.

Reached through ``instance.backups`` (``all``, ``get``, ``exists``,
``create``); a tarball is turned back into an instance by
``client.instances.create_from_backup`` (:func:`import_instance_backup`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pylxd.models import _model as model
from pylxd.models import _streaming
from pylxd.models._backup import Backup
from pylxd.models._dates import format_time
from pylxd.models._mixins import check_name, created_name, drop_none

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client
    from pylxd.models._instance_subresources import InstanceSubresourcesMixin


class InstanceBackup(Backup):
    """A backup of an instance, ``/1.0/instances/<name>/backups/<backup>``.

    Reach them through ``instance.backups`` (``all``, ``get``, ``exists``,
    ``create``); a backup can be renamed, deleted and exported (streamed).
    ``expires_at`` is ``"0001-01-01T00:00:00Z"`` for backups that never expire.
    """

    _error_kind = "Instance backup"

    instance_only = model.Attribute[bool](readonly=True)
    container_only = model.Attribute[bool](readonly=True)

    instance: model.Parent[InstanceSubresourcesMixin] = model.Parent()

    @classmethod
    def create(
        cls,
        instance: InstanceSubresourcesMixin,
        name: str | None = None,
        expires_at: datetime | str | None = None,
        instance_only: bool = False,
        optimized_storage: bool = False,
        compression_algorithm: str | None = None,
        wait: bool = True,
    ) -> InstanceBackup:
        """Back the instance up on the server.

        Implements ``POST /1.0/instances/<name>/backups``.

        :param name: the backup's name (LXD picks ``backup<N>`` when None).
        :param expires_at: when LXD deletes the backup (a datetime, naive
            meaning UTC, or an RFC 3339 string); never when None.
        :param instance_only: leave the instance's snapshots out.
        :param optimized_storage: use the pool driver's own format.
        :param compression_algorithm: e.g. ``"gzip"``, ``"xz"``, ``"none"``
            (the server's ``backups.compression_algorithm`` when None).
        :param wait: wait for the backup to be made; otherwise the returned
            object is not loaded yet.
        :returns: the backup.
        :raises ValueError: for a name that is empty or holds ``/``.
        :raises LXDAPIException: when LXD refuses or the backup fails.
        """
        if name is not None:
            check_name("Instance backup", name)
        client = instance.client
        client.assert_has_api_extension("container_backup")
        body = drop_none(
            name=name,
            expires_at=format_time(expires_at, "Instance backup expires_at"),
            instance_only=instance_only,
            optimized_storage=optimized_storage,
            compression_algorithm=compression_algorithm,
        )
        return cls._back_up(instance, name, body, wait)

    def export(
        self,
        target: _streaming.Target,
        progress: _streaming.Progress | None = None,
    ) -> int:
        """Download the backup tarball to ``target``, streamed in chunks.

        Implements ``GET /1.0/instances/<name>/backups/<backup>/export``.

        :param target: a path (written under a temporary name, renamed into
            place when complete), or a binary file object open for writing.
        :param progress: called as ``progress(done_bytes, total_bytes_or_None)``.
        :returns: the number of bytes written.
        :raises InvalidArgumentType: for a target that is neither (nothing sent).
        :raises TransferIncomplete: when the tarball arrives short.
        """
        return self._export(target, progress, f"Backup {self.name!r} export")


def import_instance_backup(
    cls: Any,
    client: Client,
    backup: _streaming.Source,
    name: str | None = None,
    pool: str | None = None,
    wait: bool = True,
    progress: _streaming.Progress | None = None,
) -> Any:
    """Create an instance from a backup tarball, uploaded in chunks.

    Implements ``POST /1.0/instances`` with an ``application/octet-stream`` body.

    :param backup: a path, bytes, or a binary file object to read from.
    :param name: the new instance's name (the backed-up name when None).
    :param pool: the storage pool to restore into (the backed-up one when None).
    :param progress: called as ``progress(sent_bytes, total_bytes_or_None)``.
    :returns: the instance (not loaded yet unless ``wait``).
    :raises TypeError: for a ``backup`` of another type.
    :raises LXDAPIException: when LXD refuses the backup or restoring fails.
    """
    headers = {"Content-Type": "application/octet-stream"}
    for header, value, extension, kind in (
        ("X-LXD-name", name, "backup_override_name", "Instance"),
        ("X-LXD-pool", pool, "container_backup_override_pool", "Storage pool"),
    ):
        if value is not None:
            check_name(kind, value)
            client.assert_has_api_extension(extension)
            headers[header] = value
    with _streaming.open_source(backup, "Instance backup") as fileobj:
        body = _streaming.UploadBody(fileobj, progress, what="Instance backup")
        response = client.api.instances.post(data=body, headers=headers)
    model.wait_for(client, response, wait)
    created = name or created_name(response, "instance", "instances")
    return cls.get(client, created) if wait else cls(client, name=created)

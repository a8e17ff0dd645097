"""The instance's sub-resources past pylxd 2.4.2, mixed into ``Instance``.

:class:`InstanceExtrasMixin` adds the ``backups``, ``logs`` and ``templates``
sub-managers, the image metadata methods, ``sftp()``, and the
collection-level classmethods ``create_from_backup`` and ``set_all_states``
(so ``client.instances.create_from_backup(...)`` works). What they do lives
in rooms named for it: :mod:`pylxd.models.instance_backup`,
:mod:`~pylxd.models._instance_logs`, :mod:`~pylxd.models._instance_metadata`
and :mod:`~pylxd.models._instance_bulk`; their names stay importable here.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from pylxd import managers
from pylxd._types import JSONDict
from pylxd.models import _instance_bulk, _streaming
from pylxd.models._instance_bulk import BULK_ACTIONS
from pylxd.models._instance_logs import InstanceLogs
from pylxd.models._instance_metadata import InstanceTemplates, metadata_dict
from pylxd.models.instance_backup import InstanceBackup, import_instance_backup

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._transport import _APINode
    from pylxd.client import Client
    from pylxd.models.operation import Operation

__all__ = [
    "BULK_ACTIONS",
    "InstanceBackup",
    "InstanceExtrasMixin",
    "InstanceLogs",
    "InstanceTemplates",
]


class InstanceExtrasMixin:
    """Instance sub-resources beyond pylxd 2.4.2: backups, logs, metadata, templates."""

    __slots__ = ()

    client: Client
    name: str

    if TYPE_CHECKING:  # pragma: no cover

        @property
        def api(self) -> _APINode: ...

        @classmethod
        def get(cls, client: Client, name: str) -> Any: ...

    # -- sub-managers ------------------------------------------------------
    @property
    def backups(self) -> managers.InstanceBackupManager:
        """The instance's backups: ``all()``, ``get(name)``, ``exists(name)``, ``create(...)``."""
        return managers.InstanceBackupManager(self)

    @property
    def logs(self) -> InstanceLogs:
        """The instance's log files: ``all()``, ``get``, ``export``, ``delete``."""
        return InstanceLogs(self)

    @property
    def templates(self) -> InstanceTemplates:
        """The instance's image templates: ``all()``, ``get``, ``put``, ``delete``."""
        return InstanceTemplates(self)

    # -- image metadata ----------------------------------------------------
    def get_metadata(self) -> JSONDict:
        """Return the instance's image metadata (``metadata.yaml``) as a dict.

        Implements ``GET /1.0/instances/<name>/metadata``.
        """
        return dict(self.api.metadata.get().json()["metadata"])

    def put_metadata(self, metadata: JSONDict) -> None:
        """Replace the instance's image metadata.

        Implements ``PUT /1.0/instances/<name>/metadata``.

        :raises TypeError: when ``metadata`` is not a dict.
        """
        self.api.metadata.put(json=metadata_dict(metadata))

    def patch_metadata(self, metadata: JSONDict) -> None:
        """Update part of the instance's image metadata (maps are merged).

        Implements ``PATCH /1.0/instances/<name>/metadata``.

        :raises TypeError: when ``metadata`` is not a dict.
        """
        self.api.metadata.patch(json=metadata_dict(metadata))

    # -- SFTP ----------------------------------------------------------------
    def sftp(self) -> socket.socket:
        """Open an SFTP connection to the instance's filesystem.

        Implements ``GET /1.0/instances/<name>/sftp`` (upgraded to SFTP).
        The socket speaks SFTP (e.g. ``paramiko.SFTPClient(sock)``); close it
        when done.

        :raises NotFound: when the instance does not exist.
        """
        from pylxd import _http_upgrade

        return _http_upgrade.connect(self.api.sftp, "sftp")

    # -- collection-level classmethods -------------------------------------
    @classmethod
    def create_from_backup(
        cls,
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
        return import_instance_backup(cls, client, backup, name, pool, wait, progress)

    @classmethod
    def set_all_states(
        cls,
        client: Client,
        action: str,
        force: bool = False,
        timeout: int = 30,
        stateful: bool = False,
        wait: bool = False,
    ) -> Operation:
        """Change the state of every instance of the client's project at once.

        Implements ``PUT /1.0/instances`` (``client.containers`` uses
        ``/1.0/containers``, which acts on containers only; neither LXD nor
        Incus filters this call on ``?instance-type=``).

        :param action: ``start``, ``stop``, ``restart``, ``freeze`` or ``unfreeze``.
        :param timeout: seconds LXD waits for a clean stop before giving up.
        :returns: the operation (finished when ``wait``).
        :raises ValueError: for an unknown action.
        :raises LXDAPIExtensionNotAvailable: for ``client.containers`` or
            ``client.virtual_machines`` on Incus while the project holds
            instances of the other type: Incus has no typed collection, and
            ``PUT /1.0/instances`` would change those too.
        :raises LXDAPIException: when any instance failed to change (LXD
            lists them in the message).
        """
        return _instance_bulk.set_all_states(
            cls, client, action, force, timeout, stateful, wait
        )

"""The instance's sub-resources, mixed into ``Instance``.

:class:`InstanceSubresourcesMixin` adds the ``backups``, ``logs`` and ``templates``
sub-managers, the image metadata methods, ``sftp()``, and the
collection-level classmethods ``create_from_backup`` and ``set_all_states``
(so ``client.instances.create_from_backup(...)`` works). What they do lives
in rooms named for it: :mod:`pylxd.models.instance_backup`,
:mod:`~pylxd.models._instance_logs`, :mod:`~pylxd.models._instance_metadata`
and :mod:`~pylxd.models._instance_bulk`.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from pylxd import exceptions, managers
from pylxd._types import JSONDict
from pylxd.models import _instance_bulk
from pylxd.models._instance_logs import InstanceLogs
from pylxd.models._instance_metadata import InstanceTemplates, metadata_dict
from pylxd.models.instance_backup import import_instance_backup

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._transport import _APINode
    from pylxd.client import Client


class InstanceSubresourcesMixin:
    """The instance's sub-resources: backups, logs, image metadata, templates, SFTP."""

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
        return dict(exceptions.metadata_of(self.api.metadata.get()))

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

    # -- collection-level classmethods (``client.instances.<name>``) -----
    create_from_backup = classmethod(import_instance_backup)
    set_all_states = classmethod(_instance_bulk.set_all_states)

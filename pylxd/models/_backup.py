"""What instance and volume backups share: ``<parent URL>/backups/<name>``.

Both are made by a ``POST`` to their parent's ``backups`` collection (LXD
names the backup when no name is sent, and tells it in the operation's
``resources``), both carry the same server-set fields, and both export a
tarball streamed in chunks. :class:`Backup` says that once;
:class:`~pylxd.models.instance_backup.InstanceBackup` and
:class:`~pylxd.models.storage_volume_backup.StorageVolumeBackup` declare
their parent, their own fields and their public ``create`` signature.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pylxd.models import _model as model
from pylxd.models import _streaming
from pylxd.models._collection import ParentChildMixin, WaitedMixin
from pylxd.models._mixins import RenameMixin, created_name
from pylxd.models._model import JSONDict

_B = TypeVar("_B", bound="Backup")


class Backup(ParentChildMixin, WaitedMixin, RenameMixin, model.Model):
    """A backup under its parent, ``<parent URL>/backups/<name>``."""

    _endpoint = "backups"

    name = model.Attribute[str](readonly=True)
    created_at = model.Attribute[str](readonly=True)
    expires_at = model.Attribute[str](readonly=True)
    optimized_storage = model.Attribute[bool](readonly=True)

    @classmethod
    def _back_up(
        cls: type[_B], parent: Any, name: str | None, body: JSONDict, wait: bool
    ) -> _B:
        """``POST`` ``body``; the backup (named by LXD when ``name`` is None).

        :raises MalformedResponse: when LXD does not tell the name it chose.
        """
        client = parent.client
        response = cls._post(client, parent, name, body, wait)
        name = name or created_name(response, cls._kind().lower(), cls._endpoint)
        if wait:
            return cls._fetch(client, parent, name)
        return cls._lazy(client, parent, name)

    def _export(
        self,
        target: _streaming.Target,
        progress: _streaming.Progress | None,
        what: str,
        chunk_size: int = _streaming.CHUNK_SIZE,
    ) -> int:
        """``GET <URL>/export`` streamed into ``target`` (checked before sending)."""
        _streaming.check_target(target, what)
        _streaming.check_chunk_size(chunk_size, what)
        response = self.api.export.get(stream=True)
        return _streaming.download(response, target, progress, chunk_size, what=what)

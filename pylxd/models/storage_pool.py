"""LXD storage pools and their resources: ``/1.0/storage-pools/<pool>``, ``.../resources``.

Volumes and volume snapshots live in :mod:`pylxd.models.storage_volume`
(importable from here too, as in pylxd 2.4.2), volume backups in
:mod:`pylxd.models.storage_volume_backup`.

LXD 5.0 answers most storage calls synchronously; later versions (API
extension ``storage_and_network_operations``) answer them with an operation.
Every call here goes through :func:`~pylxd.models._model.wait_for`, which
accepts both answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pylxd import managers  # noqa: F401  (pylxd 2.4.2's name)
from pylxd import exceptions
from pylxd.exceptions import StorageObjectNotFound  # noqa: F401  (our old name)
from pylxd.managers import (
    StorageBucketManager,
    StorageResourcesManager,
    StorageVolumeManager,
)
from pylxd.models import _model as model
from pylxd.models._described import Described
from pylxd.models._mixins import CollectionMixin
from pylxd.models._model import JSONDict
from pylxd.models._storage_naming import naming as _naming
from pylxd.models._storage_naming import pool_label as _pool_label
from pylxd.models.storage_volume import (  # noqa: F401  (pylxd 2.4.2's names)
    StorageVolume,
    StorageVolumeSnapshot,
    _required_name,
)

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._transport import _APINode
    from pylxd.client import Client


class StoragePool(CollectionMixin, Described):
    """A LXD storage pool, ``/1.0/storage-pools/<name>`` (API extension ``storage``).

    ``save()`` replaces ``description`` and ``config`` (``PUT``); ``put`` and
    ``patch`` send the given object and reload the pool; ``raw_put`` and
    ``raw_patch`` do not reload it.
    """

    _endpoint = "storage-pools"
    _api_extension = "storage"
    _error_kind = "Storage pool"

    driver = model.Attribute[str](readonly=True)
    used_by = model.Attribute[list[str]](readonly=True)
    managed = model.Attribute[bool](readonly=True)
    status = model.Attribute[str](readonly=True)
    locations = model.Attribute[list[str]](readonly=True)

    resources = model.Manager(lambda pool: StorageResourcesManager(pool))
    volumes = model.Manager(lambda pool: StorageVolumeManager(pool))
    buckets = model.Manager(lambda pool: StorageBucketManager(pool.client, pool))

    @classmethod
    def get(cls, client: Client, name: str) -> StoragePool:
        """Return the storage pool ``name``.

        Implements ``GET /1.0/storage-pools/<name>``.

        :raises NotFound: naming the pool when it does not exist.
        :raises LXDAPIExtensionNotAvailable: without the ``storage`` extension.
        """
        with _naming(_pool_label(name)):
            return super().get(client, name)

    @classmethod
    def create(
        cls, client: Client, definition: JSONDict, wait: bool = True
    ) -> StoragePool:
        """Create a storage pool from ``definition`` and return it as stored.

        Implements ``POST /1.0/storage-pools``. ``definition`` is the whole
        request body, e.g. ``{"name": "pool1", "driver": "dir", "config": {}}``.

        :param definition: the fields to pass to LXD (``name`` is required).
        :param wait: wait when LXD answers with an operation (always, on
            servers with ``storage_and_network_operations``, as in pylxd).
        :returns: the new pool.
        :raises TypeError: when ``definition`` is not a dict.
        :raises ValueError: when ``definition`` has no ``name``.
        :raises LXDAPIExtensionNotAvailable: without the ``storage`` extension.
        :raises LXDAPIException: when LXD refuses (e.g. ``Unknown driver``).
        """
        name = _required_name(definition, "storage pool definition", "Storage pool")
        cls._post_collection(client, definition, wait=model.forced_wait(client, wait))
        return cls.get(client, name)

    def delete(self, wait: bool = False) -> None:
        """Delete the storage pool.

        Implements ``DELETE /1.0/storage-pools/<name>``.

        :param wait: wait when LXD answers with an operation (always, on
            servers with ``storage_and_network_operations``, as in pylxd).

        :raises LXDAPIException: when LXD refuses, e.g. ``"The storage pool is
            currently in use"``.
        """
        super().delete(wait=model.forced_wait(self.client, wait))


class StorageResources(model.Model):
    """Space and inodes of a storage pool, ``/1.0/storage-pools/<name>/resources``."""

    space = model.Attribute[dict[str, int]](readonly=True)
    inodes = model.Attribute[dict[str, int]](readonly=True)

    storage_pool: model.Parent[StoragePool] = model.Parent()

    @classmethod
    def get(cls, storage_pool: StoragePool) -> StorageResources:
        """Return the pool's resources.

        Implements ``GET /1.0/storage-pools/<name>/resources``.

        :raises LXDAPIExtensionNotAvailable: without the ``resources`` extension.
        """
        storage_pool.client.assert_has_api_extension("resources")
        with _naming(_pool_label(storage_pool.name)):
            metadata = exceptions.metadata_of(storage_pool.api.resources.get())
        return cls._from_server(
            storage_pool.client, metadata, storage_pool=storage_pool
        )

    @property
    def api(self) -> _APINode:
        return self.storage_pool.api.resources

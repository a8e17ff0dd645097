"""Incus storage buckets: ``/1.0/storage-pools/<pool>/buckets``, their keys and backups.

A bucket is S3 object storage (``s3_url``) that a pool serves (API extension
``storage_buckets``; a local pool needs MinIO on the server). Reached through
``pool.buckets``; ``bucket.keys`` holds its access keys and
``bucket.backups`` its backups (``storage_bucket_backup``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pylxd import managers
from pylxd._types import JSONDict
from pylxd.exceptions import naming
from pylxd.models import _model as model
from pylxd.models import _streaming
from pylxd.models._collection import BlockingMixin, ChildMixin
from pylxd.models._dates import format_time
from pylxd.models._described import Described
from pylxd.models._mixins import RenameMixin, drop_none
from pylxd.models.network import check_name

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client
    from pylxd.models.storage_pool import StoragePool


#: The roles a bucket key can have.
KEY_ROLES = ("admin", "read-only")
#: Key fields whose Incus names hold a hyphen, and their attribute names.
_KEY_FIELDS = {"access-key": "access_key", "secret-key": "secret_key"}


class StorageBucket(ChildMixin, BlockingMixin, Described):
    """A storage bucket, ``/1.0/storage-pools/<pool>/buckets/<name>``."""

    _endpoint = "buckets"
    _error_kind = "Storage bucket"
    _api_extension = "storage_buckets"

    storage_pool: model.Parent[StoragePool] = model.Parent()
    s3_url = model.Attribute[str](readonly=True)
    location = model.Attribute[str](readonly=True, optional=True)
    project = model.Attribute[str](readonly=True, optional=True)

    keys = model.Manager(
        lambda bucket: managers.StorageBucketKeyManager(bucket.client, bucket)
    )
    backups = model.Manager(
        lambda bucket: managers.StorageBucketBackupManager(bucket.client, bucket)
    )

    @classmethod
    def create(
        cls,
        client: Client,
        storage_pool: StoragePool,
        name: str,
        description: str | None = None,
        config: dict[str, str] | None = None,
    ) -> StorageBucket:
        """Create a bucket and return it (its ``admin`` key is in ``bucket.keys``).

        Implements ``POST /1.0/storage-pools/<pool>/buckets``.

        :raises LXDAPIExtensionNotAvailable: without ``storage_buckets``.
        :raises Conflict: when a bucket of that name exists.
        """
        body = drop_none(name=name, description=description, config=config)
        return cls._create_named(client, storage_pool, body)


class StorageBucketKey(ChildMixin, BlockingMixin, model.Model):
    """An access key of a bucket, ``.../buckets/<bucket>/keys/<name>``.

    Incus's ``access-key`` and ``secret-key`` are the attributes
    ``access_key`` and ``secret_key``.
    """

    _endpoint = "keys"
    _error_kind = "Storage bucket key"
    _api_extension = "storage_buckets"

    bucket: model.Parent[StorageBucket] = model.Parent()
    name = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    role = model.Attribute[str]()
    access_key = model.Attribute[str]()
    secret_key = model.Attribute[str]()

    def _load(self, payload: dict[str, Any], rollback: bool = False) -> None:
        payload = {_KEY_FIELDS.get(k, k): v for k, v in payload.items()}
        super()._load(payload, rollback)

    def marshall(self, skip_readonly: bool = True) -> JSONDict:
        """The writable fields under Incus's names (``access-key``, ``secret-key``)."""
        names = {attr: field for field, attr in _KEY_FIELDS.items()}
        marshalled = super().marshall(skip_readonly)
        return {names.get(k, k): v for k, v in marshalled.items()}

    @classmethod
    def create(
        cls,
        client: Client,
        bucket: StorageBucket,
        name: str,
        role: str = "read-only",
        description: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> StorageBucketKey:
        """Add a key to the bucket (Incus makes up the secrets left out).

        Implements ``POST /1.0/storage-pools/<pool>/buckets/<bucket>/keys``.

        :param role: ``read-only`` (default) or ``admin``.
        :raises ValueError: for an unknown role.
        :raises Conflict: when a key of that name exists.
        """
        if role not in KEY_ROLES:
            raise ValueError(
                f"{cls._subject_for(bucket, name)}: role must be one of "
                f"{', '.join(KEY_ROLES)}, not {role!r}"
            )
        body = drop_none(name=name, role=role, description=description)
        body.update(drop_none(**{"access-key": access_key, "secret-key": secret_key}))
        return cls._create_named(client, bucket, body)


class StorageBucketBackup(ChildMixin, RenameMixin, BlockingMixin, model.Model):
    """A backup of a bucket, ``.../buckets/<bucket>/backups/<name>``."""

    _endpoint = "backups"
    _error_kind = "Storage bucket backup"
    _api_extension = "storage_bucket_backup"

    bucket: model.Parent[StorageBucket] = model.Parent()
    name = model.Attribute[str](readonly=True)
    expires_at = model.Attribute[str](readonly=True)
    compression_algorithm = model.Attribute[str](readonly=True, optional=True)

    @classmethod
    def create(
        cls,
        client: Client,
        bucket: StorageBucket,
        name: str | None = None,
        expires_at: datetime | str | None = None,
        compression_algorithm: str | None = None,
    ) -> StorageBucketBackup:
        """Back the bucket up and return the backup (waited for).

        Implements ``POST /1.0/storage-pools/<pool>/buckets/<bucket>/backups``.

        :param name: the backup's name (Incus picks ``backupN`` without one).
        :param expires_at: when Incus deletes the backup (a datetime, naive
            meaning UTC, or an RFC 3339 string); never when None.
        :raises LXDAPIExtensionNotAvailable: without ``storage_bucket_backup``.
        :raises MalformedResponse: when Incus does not tell the name it chose.
        """
        if name is not None:
            check_name("Storage bucket backup", name)
        expiry = format_time(expires_at, "Storage bucket backup expires_at")
        before = set() if name else set(cls._names(client, bucket))
        body = drop_none(
            name=name,
            expires_at=expiry,
            compression_algorithm=compression_algorithm,
        )
        response = cls._post(client, bucket, name, body, wait=True)
        name = name or cls._created_key(client, bucket, response, before)
        return cls._fetch(client, bucket, name)

    def rename(self, new_name: str, wait: bool = True) -> None:
        """Rename the backup (``POST .../backups/<name>``)."""
        self._check_extension()
        check_name("Storage bucket backup", new_name)
        with naming(self._subject()):
            self._rename(new_name, wait=wait)

    def export(
        self, target: _streaming.Target, progress: _streaming.Progress | None = None
    ) -> int:
        """Download the backup tarball into ``target`` (a path or a binary file).

        Implements ``GET .../backups/<name>/export``.

        :returns: the number of bytes written.
        """
        self._check_extension()
        with naming(self._subject()):
            response = self.api.export.get(stream=True)
        return _streaming.download(response, target, progress)

"""Storage volumes and their snapshots.

``/1.0/storage-pools/<pool>/volumes/<type>/<name>`` and
``.../volumes/<type>/<name>/snapshots/<snap>``; reached through
``pool.volumes`` and ``volume.snapshots``. Volume backups live in
:mod:`pylxd.models.storage_volume_backup`. pylxd 2.4.2's path,
``pylxd.models.storage_pool.StorageVolume``, stays importable.
Calls are waited for the same way as the pool's (see
:mod:`pylxd.models.storage_pool`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pylxd import exceptions
from pylxd.managers import StorageVolumeBackupManager, StorageVolumeSnapshotManager
from pylxd.models import _model as model
from pylxd.models import _storage_migration as migration
from pylxd.models._collection import ParentChildMixin, WaitedMixin
from pylxd.models._dates import format_time
from pylxd.models._described import Described
from pylxd.models._mixins import (
    RenameMixin,
    check_name,
    drop_none,
    found,
    quote,
)
from pylxd.models._model import JSONDict, wait_for
from pylxd.models._storage_naming import _REFINE
from pylxd.models._storage_naming import naming as _naming
from pylxd.models._storage_naming import pool_label as _pool_label
from pylxd.models.storage_volume_backup import import_volume_backup

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd._transport import _APINode
    from pylxd.client import Client
    from pylxd.models.storage_pool import StoragePool
    from pylxd.models.storage_volume_backup import Progress, Source


#: What LXD's Go code writes for a zero ``time.Time`` (no expiry, no date).
_ZERO_TIME = "0001-01-01T00:00:00Z"
_TIMES = ("created_at", "expires_at")
#: Where an operation lists the volume snapshot it made (Incus, LXD > 5.0).
_SNAPSHOTS = "storage_volume_snapshots"


class StorageVolume(Described):
    """A storage volume, ``/1.0/storage-pools/<pool>/volumes/<type>/<name>``.

    Volumes are identified by ``(type, name)`` in their pool; user volumes
    have the type ``custom``. ``save()`` sends ``description`` and ``config``.
    """

    type = model.Attribute[str](readonly=True)
    used_by = model.Attribute[list[str]](readonly=True)
    location = model.Attribute[str](readonly=True)
    content_type = model.Attribute[str](readonly=True)
    project = model.Attribute[str](readonly=True, optional=True)
    created_at = model.Attribute[str](readonly=True, optional=True)
    pool = model.Attribute[str](readonly=True, optional=True)

    storage_pool: model.Parent[StoragePool] = model.Parent()
    snapshots = model.Manager(lambda vol: StorageVolumeSnapshotManager(vol))
    backups = model.Manager(lambda vol: StorageVolumeBackupManager(vol))

    _identity_keys = ("type",)

    def _repr_keys(self) -> tuple[str, ...]:
        return ("type", "name")

    @property
    def api(self) -> _APINode:
        pool_api = self.storage_pool.api
        volumes = pool_api.volumes[quote(self.type, "Storage volume type")]
        return volumes[quote(self.name, "Storage volume")]

    def _subject(self) -> str:
        return _volume_label(self.storage_pool, self.type, self.name)

    # -- collection -------------------------------------------------------
    @classmethod
    def all(
        cls, storage_pool: StoragePool, *, type: str | None = None
    ) -> list[StorageVolume]:
        """Return the volumes of the pool, fully loaded, in one request.

        Implements ``GET /1.0/storage-pools/<pool>/volumes?recursion=1``, and
        ``GET /1.0/storage-pools/<pool>/volumes/<type>?recursion=1`` for the
        volumes of one ``type`` (``custom``, ``container``,
        ``virtual-machine`` or ``image``). Volume snapshots, which LXD lists
        among the volumes, are left out (they are in ``volume.snapshots``).

        :raises NotFound: when the pool does not exist.
        :raises InvalidArgument: for a ``type`` that cannot be a URL segment.
        :raises LXDAPIException: naming the pool when LXD knows no such type.
        """
        storage_pool.client.assert_has_api_extension("storage")
        volumes = storage_pool.api.volumes
        if type is not None:
            volumes = volumes[quote(type, "Storage volume type")]
        with _naming(_pool_label(storage_pool.name)):
            response = volumes.get(params={"recursion": 1})
        return [
            cls._from_volume(storage_pool, item)
            for item in exceptions.metadata_of(response, list, items=dict, key=cls._key)
            if "/" not in item[cls._key]
        ]

    @classmethod
    def get(cls, storage_pool: StoragePool, _type: str, name: str) -> StorageVolume:
        """Return the volume ``name`` of type ``_type`` in the pool.

        Implements ``GET /1.0/storage-pools/<pool>/volumes/<type>/<name>``.

        :raises NotFound: naming the pool and volume when either is missing.
        """
        storage_pool.client.assert_has_api_extension("storage")
        volumes = storage_pool.api.volumes[quote(_type, "Storage volume type")]
        node = volumes[quote(name, "Storage volume")]
        with _naming(_volume_label(storage_pool, _type, name)):
            response = node.get()
        metadata = exceptions.metadata_of(response, key=cls._key)
        volume = cls._from_volume(storage_pool, metadata)
        object.__setattr__(volume, "_etag", model.etag_of(response))
        return volume

    @classmethod
    def exists(cls, storage_pool: StoragePool, _type: str, name: str) -> bool:
        """Tell whether the pool has a volume ``name`` of type ``_type``."""
        return found(cls.get, storage_pool, _type, name)

    @classmethod
    def _from_volume(
        cls, storage_pool: StoragePool, metadata: JSONDict
    ) -> StorageVolume:
        return cls._from_server(
            storage_pool.client, metadata, storage_pool=storage_pool
        )

    @classmethod
    def _lazy(cls, storage_pool: StoragePool, _type: str, name: str) -> StorageVolume:
        """An unloaded volume (loaded on first attribute read)."""
        return cls(
            storage_pool.client, storage_pool=storage_pool, type=_type, name=name
        )

    @classmethod
    def create(
        cls, storage_pool: StoragePool, *args: Any, wait: bool = True, **kwargs: Any
    ) -> StorageVolume:
        """Create a volume in the pool and return it.

        Implements ``POST /1.0/storage-pools/<pool>/volumes``, with the type
        in the body. Two call forms are accepted, and anything else raises
        ``TypeError``:

        - ``pool.volumes.create(definition)``: ``definition`` is the whole
          request body (``name`` required, ``type`` defaults to ``custom``),
          as in pylxd. One positional argument before ``definition`` (a
          client, in pylxd's historical form) is accepted and ignored.
        - ``pool.volumes.create("custom", "vol1", config=..., description=...,
          content_type=..., source=...)``: the type and name as two strings,
          the other body fields as keywords.

        :param wait: wait for the operation when LXD answers with one
            (copies, migrations, newer LXD); with ``wait=False`` the returned
            volume is loaded on first use.
        :returns: the new volume.
        :raises TypeError: for an unrecognised call form.
        :raises ValueError: when the name is missing or empty.
        :raises NotFound: naming the volume and its pool when the pool does not exist.
        :raises LXDAPIException: when LXD refuses the volume.
        """
        storage_pool.client.assert_has_api_extension("storage")
        body = _volume_definition(args, kwargs)
        _type, name = body["type"], body["name"]
        with _naming(_volume_label(storage_pool, _type, name)):
            response = storage_pool.api.volumes.post(json=body)
        wait_for(storage_pool.client, response, wait)
        if _is_async(response) and not wait:
            return cls._lazy(storage_pool, _type, name)
        return cls.get(storage_pool, _type, name)

    @classmethod
    def import_backup(
        cls,
        storage_pool: StoragePool,
        data: Source,
        name: str | None = None,
        wait: bool = True,
        progress: Progress | None = None,
    ) -> StorageVolume | None:
        """Create a custom volume from a backup tarball, streamed from ``data``.

        Implements ``POST /1.0/storage-pools/<pool>/volumes/custom`` with
        ``Content-Type: application/octet-stream`` (and ``X-LXD-name``).

        :param data: bytes, a binary file object, an iterable of byte chunks
            or a file path; it is uploaded in chunks, never read whole.
        :param name: the new volume's name (default: the one in the backup).
        :param progress: called as ``progress(sent_bytes, total_or_None)``.
        :returns: the new volume (None only when ``name`` is not given and
            LXD's answer does not tell the name of the volume it creates).
        :raises LXDAPIException: when LXD cannot restore the backup.
        """
        return import_volume_backup(cls, storage_pool, data, name, wait, progress)

    # -- edits ------------------------------------------------------------
    def delete(self, wait: bool = False) -> None:
        """Delete the volume (and its snapshots).

        Implements ``DELETE /1.0/storage-pools/<pool>/volumes/<type>/<name>``.
        Waited for when LXD answers with an operation and ``wait`` or the
        server has ``storage_and_network_operations`` (as pylxd).

        :raises LXDAPIException: when LXD refuses, e.g. the volume is attached.
        """
        super().delete(wait=model.forced_wait(self.client, wait))

    def rename(self, _input: JSONDict, wait: bool = False) -> JSONDict:
        """Rename, move to another pool, or start a migration of the volume.

        Implements ``POST /1.0/storage-pools/<pool>/volumes/<type>/<name>``
        with ``_input`` as the body (``{"name": ...}``, ``{"name": ...,
        "pool": ...}``, or ``{"name": ..., "migration": True}``). After a
        rename or a move the object follows the volume (its ``name`` and
        ``storage_pool`` are updated); for a migration it is unchanged and
        the caller uses the returned secrets (see :meth:`copy` for a complete
        copy to another server).

        :param wait: wait for the operation LXD answers with (pylxd's
            default is not to: the object follows the volume at once, before
            LXD has finished).
        :returns: the ``metadata`` of LXD's answer (the operation).
        :raises TypeError: when ``_input`` is not a dict.
        :raises ValueError: when ``_input`` has no ``name``.
        """
        name = _required_name(_input, "storage volume rename input", "Storage volume")
        response = self.api.post(json=_input)
        wait_for(self.client, response, wait)
        if not _input.get("migration"):
            self._follow(name, _input.get("pool"))
        return exceptions.metadata_of(response, (dict, type(None)))

    def _follow(self, name: str, pool: str | None) -> None:
        object.__setattr__(self, "name", name)
        if pool and pool != self.storage_pool.name:
            new_pool = type(self.storage_pool)(self.client, name=pool)
            object.__setattr__(self, "storage_pool", new_pool)

    def restore_from(self, snapshot_name: str, wait: bool = False) -> requests.Response:
        """Restore the volume's contents from one of its snapshots.

        Implements ``PUT /1.0/storage-pools/<pool>/volumes/<type>/<name>``
        with ``{"restore": snapshot_name}``.

        :raises LXDAPIException: when the snapshot does not exist.
        """
        check_name("Storage volume snapshot", snapshot_name)
        response = self.api.put(json={"restore": snapshot_name})
        wait_for(self.client, response, wait)
        return response

    def state(self) -> model.AttributeDict:
        """Return the volume's usage (``{"usage": {"used": ..., "total": ...}}``).

        Implements ``GET /1.0/storage-pools/<pool>/volumes/<type>/<name>/state``.

        :raises LXDAPIException: when the driver cannot tell (LXD 5.0's ``dir``
            driver answers ``"Not supported"``).
        """
        return model.AttributeDict(exceptions.metadata_of(self.api.state.get()))

    # -- copy and move ------------------------------------------------------
    def copy(
        self,
        name: str | None = None,
        pool: str | None = None,
        *,
        target_client: Client | None = None,
        volume_only: bool = False,
        description: str | None = None,
        config: JSONDict | None = None,
        wait: bool = True,
    ) -> StorageVolume:
        """Copy the volume to another name/pool, here or on another server.

        Implements ``POST /1.0/storage-pools/<pool>/volumes/custom`` with a
        ``copy`` source on this server. With ``target_client`` (another LXD),
        the volume is migrated: this server opens a migration
        (``POST`` the volume with ``{"migration": true}``) and the target
        pulls it over HTTPS, so this client's server must be reachable over
        HTTPS (``core.https_address``) and trust is needed both ways.

        :param name: the copy's name (default: the same name).
        :param pool: the copy's pool (default: the same pool name).
        :param target_client: a client of the server to copy to.
        :param volume_only: leave the snapshots out.
        :param wait: wait for the copy (otherwise the returned volume is
            loaded on first use).
        :returns: the copy.
        :raises ValueError: for a migration from a server without an HTTPS
            address.
        :raises LXDAPIException: when either server refuses.
        """
        for kind, value in (("Storage volume", name), ("Storage pool", pool)):
            if value is not None:
                check_name(kind, value)
        return migration.copy(
            self, target_client, name, pool, volume_only, description, config, wait
        )

    def move(
        self,
        name: str | None = None,
        pool: str | None = None,
        *,
        target_client: Client | None = None,
        wait: bool = True,
    ) -> StorageVolume:
        """Move the volume to another name/pool, here or on another server.

        On the same server this is ``POST`` of ``{"name", "pool"}`` to the
        volume (see :meth:`rename`) and returns this object, updated. To
        another server it is a migration (see :meth:`copy`) followed by
        deleting this volume once the copy succeeded; it always waits.

        :returns: the moved volume.
        :raises LXDAPIException: when a server refuses (nothing is deleted
            unless the copy succeeded).
        """
        if target_client is None or target_client is self.client:
            new_name = name or self.name
            self.rename(
                {"name": new_name, "pool": pool or self.storage_pool.name}, wait=wait
            )
            return self
        moved = self.copy(name, pool, target_client=target_client, wait=True)
        self.delete()
        return moved


class StorageVolumeSnapshot(ParentChildMixin, WaitedMixin, RenameMixin, model.Model):
    """A volume snapshot, ``.../volumes/<type>/<volume>/snapshots/<name>``.

    ``name`` is the snapshot's own name (LXD's ``volume/snapshot`` form is
    shortened). ``save()`` sends ``description`` and ``expires_at``. As in
    pylxd, ``expires_at`` is None for "no expiry" (LXD's zero time),
    ``created_at`` is None when LXD does not know it, and ``content_type``
    falls back to the volume's.
    """

    name = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    config = model.Attribute[dict[str, str]](readonly=True)
    content_type = model.Attribute[str](readonly=True)
    created_at = model.Attribute[str](readonly=True)
    expires_at = model.Attribute[str]()

    volume: model.Parent[StorageVolume] = model.Parent()

    _endpoint = "snapshots"
    _error_kind = "Storage volume snapshot"
    _refine = _REFINE

    @classmethod
    def _subject_for(cls, parent: Any, key: str) -> str:
        """``Snapshot 's1' of storage volume custom/v1 in pool 'p1'``."""
        return _volume_label(parent.storage_pool, parent.type, parent.name, key)

    def _load(self, payload: dict[str, Any], rollback: bool = False) -> None:
        name = payload.get("name")
        if isinstance(name, str) and "/" in name:  # LXD's "<volume>/<snapshot>"
            payload = {**payload, "name": name.rsplit("/", 1)[-1]}
        # pylxd's normalisation: LXD's zero time means "none".
        payload = {
            key: None if key in _TIMES and value == _ZERO_TIME else value
            for key, value in payload.items()
        }
        client = self.client
        if "created_at" in payload and not (
            client is None or client.has_api_extension("storage_volumes_created_at")
        ):
            payload["created_at"] = None  # LXD without it sends a meaningless value
        volume = self._raw_attr("volume") or payload.get("volume")
        if "content_type" in payload and not payload["content_type"] and volume:
            payload["content_type"] = volume._raw_attr("content_type")
        super()._load(payload, rollback)

    def marshall(self, skip_readonly: bool = True) -> JSONDict:
        body = super().marshall(skip_readonly)
        if "expires_at" in body and body["expires_at"] is None:
            body["expires_at"] = _ZERO_TIME  # "no expiry" in LXD's terms
        return body

    @classmethod
    def all(
        cls, volume: StorageVolume, use_recursion: bool = False
    ) -> list[str] | list[StorageVolumeSnapshot]:
        """Return the volume's snapshots, in one request.

        Implements ``GET .../volumes/<type>/<volume>/snapshots``.

        :param use_recursion: return the snapshots fully loaded
            (``?recursion=1``); by default their names, as in pylxd.
        """
        if not use_recursion:
            return cls._names(volume.client, volume)
        return cls._list(volume.client, volume)

    @classmethod
    def create(
        cls,
        volume: StorageVolume,
        name: str | None = None,
        expires_at: datetime | str | None = None,
        wait: bool = True,
    ) -> StorageVolumeSnapshot:
        """Snapshot the volume and return the snapshot.

        Implements ``POST .../volumes/<type>/<volume>/snapshots``.

        :param name: the snapshot name (default: LXD picks one, e.g. ``snap0``).
        :param expires_at: when LXD deletes it (a datetime, naive meaning UTC,
            or an RFC 3339 string).
        :param wait: wait for the snapshot; with ``wait=False`` the returned
            snapshot is loaded on first use (a snapshot without a ``name`` is
            always waited for: its name is only known then).
        :raises LXDAPIException: when LXD refuses (e.g. the name is taken).
        """
        if name is not None:
            check_name("Storage volume snapshot", name)
        expiry = format_time(expires_at, "Storage volume snapshot expires_at")
        client = volume.client
        before = set() if name else set(cls._names(client, volume))
        body = drop_none(name=name, expires_at=expiry)
        response = volume.api.snapshots.post(json=body)
        wait_for(client, response, wait or name is None)
        if name is None:
            name = cls._created_key(client, volume, response, before, _SNAPSHOTS)
        elif not wait:
            return cls._lazy(client, volume, name)
        return cls._fetch(client, volume, name)

    def restore(self, wait: bool = False) -> requests.Response:
        """Restore the volume from this snapshot (see ``restore_from``)."""
        return self.volume.restore_from(self.name, wait=wait)


# -- helpers -----------------------------------------------------------------
def _required_name(definition: Any, what: str, kind: str) -> str:
    if not isinstance(definition, dict):
        raise exceptions.InvalidArgumentType(
            f"{what} must be a dict, not {type(definition).__name__}"
        )
    name = definition.get("name")
    if name is None:
        raise exceptions.InvalidArgument(f"{what} needs a 'name'")
    return check_name(kind, name)


def _volume_definition(args: tuple[Any, ...], kwargs: dict[str, Any]) -> JSONDict:
    """The POST body for ``StorageVolume.create`` from either call form."""
    if len(args) in (1, 2) and isinstance(args[-1], dict):
        if kwargs:
            raise exceptions.InvalidArgumentType(
                "StorageVolume.create(definition) takes no other fields; "
                f"got {sorted(kwargs)}"
            )
        _required_name(args[-1], "storage volume definition", "Storage volume")
        body = {"type": "custom", **args[-1]}
    elif len(args) == 2 and isinstance(args[0], str):  # the name is checked below
        body = {"type": args[0], "name": args[1], **drop_none(**kwargs)}
        _required_name(body, "storage volume", "Storage volume")
    else:
        raise exceptions.InvalidArgumentType(
            "StorageVolume.create takes a definition dict or (type, name) strings, "
            f"got {tuple(type(a).__name__ for a in args)}"
        )
    check_name("Storage volume type", body["type"])  # part of the volume's URL
    return body


def _volume_label(
    storage_pool: StoragePool, _type: str, name: str, snapshot: str | None = None
) -> str:
    """``Storage volume custom/v1 in pool 'p1'`` (or ``Snapshot 's' of ...``)."""
    volume = f"storage volume {_type}/{name} in pool {storage_pool.name!r}"
    return f"Snapshot {snapshot!r} of {volume}" if snapshot else "S" + volume[1:]


def _is_async(response: requests.Response) -> bool:
    return bool(response.json().get("type") == "async")

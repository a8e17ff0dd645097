"""Instance backups, logs, image metadata, templates, SFTP and bulk state.

:class:`InstanceExtrasMixin` is mixed into ``Instance``: it adds the
``backups``, ``logs`` and ``templates`` sub-managers, the metadata methods,
``sftp()``, and the collection-level classmethods ``create_from_backup`` and
``set_all_states`` (so ``client.instances.create_from_backup(...)`` works).
"""

from __future__ import annotations

import socket
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pylxd import exceptions, managers
from pylxd._types import JSONDict
from pylxd.models import _model as model
from pylxd.models import _streaming
from pylxd.models._mixins import (
    RenameMixin,
    check_name,
    drop_none,
    found,
    is_incus,
    name_from_url,
    quote,
)

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd._transport import _APINode
    from pylxd.client import Client
    from pylxd.models.operation import Operation


#: The actions ``PUT /1.0/instances`` accepts.
BULK_ACTIONS = ("start", "stop", "restart", "freeze", "unfreeze")

#: LXD's "never" timestamp (e.g. a backup that does not expire).
NEVER = "0001-01-01T00:00:00Z"


def _timestamp(value: datetime | str | None, what: str) -> str | None:
    """An RFC 3339 timestamp for LXD (a naive datetime is taken as UTC)."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        raise exceptions.InvalidArgumentType(
            f"{what} must be a datetime or an RFC 3339 string, not {type(value).__name__}"
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def _created_name(response: requests.Response, kind: str) -> str:
    """The name LXD gave a new object, read from its operation's resources."""
    resources = (response.json().get("metadata") or {}).get("resources") or {}
    urls = resources.get(kind) or ()
    if not urls:
        from pylxd import exceptions

        raise exceptions.LXDAPIException(response)
    return name_from_url(urls[0])


class InstanceBackup(RenameMixin, model.Model):
    """A backup of an instance, ``/1.0/instances/<name>/backups/<backup>``.

    Reach them through ``instance.backups`` (``all``, ``get``, ``exists``,
    ``create``); a backup can be renamed, deleted and exported (streamed).
    ``expires_at`` is ``"0001-01-01T00:00:00Z"`` for backups that never expire.
    """

    name = model.Attribute[str](readonly=True)
    created_at = model.Attribute[str](readonly=True)
    expires_at = model.Attribute[str](readonly=True)
    instance_only = model.Attribute[bool](readonly=True)
    container_only = model.Attribute[bool](readonly=True)
    optimized_storage = model.Attribute[bool](readonly=True)

    instance: model.Parent[InstanceExtrasMixin] = model.Parent()

    _error_kind = "Instance backup"

    @property
    def api(self) -> _APINode:
        return self.instance.api.backups[quote(self.name, "Instance backup")]

    @classmethod
    def all(cls, instance: InstanceExtrasMixin) -> list[InstanceBackup]:
        """Return the instance's backups, fully loaded in one request.

        Implements ``GET /1.0/instances/<name>/backups?recursion=1``.
        """
        response = instance.api.backups.get(params={"recursion": 1})
        return [
            cls._from_server(instance.client, item, instance=instance)
            for item in response.json()["metadata"]
        ]

    @classmethod
    def get(cls, instance: InstanceExtrasMixin, name: str) -> InstanceBackup:
        """Return the backup called ``name``.

        Implements ``GET /1.0/instances/<name>/backups/<backup>``.

        :raises NotFound: when the instance has no such backup.
        """
        response = instance.api.backups[quote(name, "Instance backup")].get()
        return cls._from_server(
            instance.client, response.json()["metadata"], instance=instance
        )

    @classmethod
    def exists(cls, instance: InstanceExtrasMixin, name: str) -> bool:
        """Tell whether the instance has a backup called ``name``."""
        return found(cls.get, instance, name)

    @classmethod
    def create(
        cls,
        instance: InstanceExtrasMixin,
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
        instance.client.assert_has_api_extension("container_backup")
        body = drop_none(
            name=name,
            expires_at=_timestamp(expires_at, "Backup expires_at"),
            instance_only=instance_only,
            optimized_storage=optimized_storage,
            compression_algorithm=compression_algorithm,
        )
        response = instance.api.backups.post(json=body)
        model.wait_for(instance.client, response, wait)
        created = name or _created_name(response, "backups")
        if wait:
            return cls.get(instance, created)
        return cls(instance.client, instance=instance, name=created)

    def rename(self, new_name: str, wait: bool = True) -> None:
        """Rename the backup.

        Implements ``POST /1.0/instances/<name>/backups/<backup>``.

        :raises ValueError: for a name that is empty or holds ``/``.
        """
        self._rename(new_name, wait=wait)

    def delete(self, wait: bool = True) -> None:
        """Delete the backup (``DELETE /1.0/instances/<name>/backups/<backup>``)."""
        super().delete(wait=wait)

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
        what = f"Backup {self.name!r} export"
        _streaming.check_target(target, what)
        response = self.api.export.get(stream=True)
        return _streaming.download(response, target, progress, what=what)


class InstanceLogs:
    """The log files of an instance, ``/1.0/instances/<name>/logs``.

    LXD keeps ``lxc.log`` and ``lxc.conf`` (which cannot be deleted) and the
    ``exec_*`` output of commands run with ``record-output``.
    """

    __slots__ = ("instance",)

    def __init__(self, instance: InstanceExtrasMixin) -> None:
        self.instance = instance

    def __repr__(self) -> str:
        return f"<InstanceLogs of {self.instance!r}>"

    @property
    def api(self) -> _APINode:
        """The ``_APINode`` of ``/1.0/instances/<name>/logs``."""
        return self.instance.api.logs

    def all(self) -> list[str]:
        """Return the names of the log files (``GET /1.0/instances/<name>/logs``)."""
        return [name_from_url(url) for url in self.api.get().json()["metadata"]]

    def get(self, filename: str) -> str:
        """Return the text of a log file, whole.

        Implements ``GET /1.0/instances/<name>/logs/<filename>``; see
        :meth:`export` to stream a large file.
        """
        return str(
            self.api[quote(filename, "Instance log file")]
            .get()
            .content.decode("utf-8", "replace")
        )

    def export(
        self,
        filename: str,
        target: _streaming.Target,
        progress: _streaming.Progress | None = None,
    ) -> int:
        """Download a log file to ``target`` (a path or a binary file object), streamed.

        Implements ``GET /1.0/instances/<name>/logs/<filename>``. A path is
        written under a temporary name and renamed into place when complete.

        :returns: the number of bytes written.
        :raises InvalidArgumentType: for a target that is neither (nothing sent).
        :raises TransferIncomplete: when the log arrives short.
        """
        what = f"Log {filename!r} export"
        _streaming.check_target(target, what)
        response = self.api[quote(filename, "Instance log file")].get(stream=True)
        return _streaming.download(response, target, progress, what=what)

    def delete(self, filename: str) -> None:
        """Delete a log file (``DELETE /1.0/instances/<name>/logs/<filename>``).

        :raises LXDAPIException: for ``lxc.log`` and ``lxc.conf``.
        """
        self.api[quote(filename, "Instance log file")].delete()


class InstanceTemplates:
    """The image template files of an instance, ``/1.0/instances/<name>/metadata/templates``.

    A template only takes effect when the instance's metadata names it
    (``put_metadata``/``patch_metadata`` with ``templates``).
    """

    __slots__ = ("instance",)

    def __init__(self, instance: InstanceExtrasMixin) -> None:
        self.instance = instance

    def __repr__(self) -> str:
        return f"<InstanceTemplates of {self.instance!r}>"

    @property
    def api(self) -> _APINode:
        """The ``_APINode`` of ``/1.0/instances/<name>/metadata/templates``."""
        return self.instance.api.metadata.templates

    def all(self) -> list[str]:
        """Return the template file names.

        Implements ``GET /1.0/instances/<name>/metadata/templates``.
        """
        return list(self.api.get().json()["metadata"])

    def get(self, name: str) -> str:
        """Return the content of a template file.

        Implements ``GET /1.0/instances/<name>/metadata/templates?path=<name>``.

        :raises NotFound: when there is no such template.
        """
        response = self.api.get(params={"path": name})
        return str(response.content.decode("utf-8"))

    def put(self, name: str, content: str | bytes) -> None:
        """Create or replace a template file.

        Implements ``POST /1.0/instances/<name>/metadata/templates?path=<name>``.

        :raises TypeError: when ``content`` is neither str nor bytes.
        """
        if isinstance(content, str):
            content = content.encode("utf-8")
        if not isinstance(content, bytes):
            raise exceptions.InvalidArgumentType(
                f"Template {name!r} content must be str or bytes, not {type(content).__name__}"
            )
        self.api.post(
            params={"path": name},
            data=content,
            headers={"Content-Type": "application/octet-stream"},
        )

    def delete(self, name: str) -> None:
        """Delete a template file.

        Implements ``DELETE /1.0/instances/<name>/metadata/templates?path=<name>``.

        :raises NotFound: when there is no such template.
        """
        self.api.delete(params={"path": name})


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
        self.api.metadata.put(json=_metadata_dict(metadata))

    def patch_metadata(self, metadata: JSONDict) -> None:
        """Update part of the instance's image metadata (maps are merged).

        Implements ``PATCH /1.0/instances/<name>/metadata``.

        :raises TypeError: when ``metadata`` is not a dict.
        """
        self.api.metadata.patch(json=_metadata_dict(metadata))

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
        created = name or _created_name(response, "instances")
        return cls.get(client, created) if wait else cls(client, name=created)  # type: ignore[call-arg]

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
        if action not in BULK_ACTIONS:
            raise exceptions.InvalidArgument(
                f"Bulk state action must be one of {', '.join(BULK_ACTIONS)}, not {action!r}"
            )
        client.assert_has_api_extension("instance_bulk_state_change")
        collection = _bulk_collection(cls)
        if collection != "instances" and is_incus(client):
            _check_only_this_type(client, cls)
            collection = "instances"
        state = {
            "action": action,
            "timeout": timeout,
            "force": force,
            "stateful": stateful,
        }
        response = client.api[collection].put(json={"state": state})
        done = model.wait_for(client, response, wait)
        if done is not None:
            return done
        from pylxd.models.operation import Operation

        return Operation(_client=client, **(response.json().get("metadata") or {}))


_OTHER_TYPE = {"container": "virtual-machine", "virtual-machine": "container"}
#: Collections that only hold one instance type (``PUT`` acts on that type only).
_TYPED_COLLECTIONS = {"container": "containers", "virtual-machine": "virtual-machines"}


def _check_only_this_type(client: Client, cls: Any) -> None:
    """Refuse an Incus bulk change that would reach instances of another type.

    Incus serves no ``/1.0/containers``, and neither it nor LXD filters
    ``PUT /1.0/instances`` on ``?instance-type=``: acting on one type is only
    possible when the project holds no other.
    """
    other = _OTHER_TYPE[cls._instance_type]
    response = client.api.instances.get(params={"instance-type": other})
    others = [name_from_url(url) for url in response.json()["metadata"] or ()]
    if others:
        raise exceptions.LXDAPIExtensionNotAvailable(
            f"{cls.__name__}.set_all_states: Incus has no /1.0/"
            f"{_bulk_collection(cls)} and PUT /1.0/instances would change "
            f"{', '.join(sorted(others))} too; use client.instances.set_all_states"
        )


def _bulk_collection(cls: type) -> str:
    """``containers`` for ``Container``, ``virtual-machines`` for ``VirtualMachine``."""
    return _TYPED_COLLECTIONS.get(
        getattr(cls, "_instance_type", None) or "", "instances"
    )


def _metadata_dict(metadata: Any) -> JSONDict:
    if not isinstance(metadata, dict):
        raise exceptions.InvalidArgumentType(
            f"Instance metadata must be a dict, not {type(metadata).__name__}"
        )
    return metadata

"""LXD instances (containers and virtual machines) and their snapshots.

``/1.0/instances`` and ``/1.0/instances/<name>/snapshots``: here are the
collection (``all``, ``get``, ``create``), loading, ``rename``, restoring a
snapshot, and the ``Snapshot`` model. The rest of ``Instance`` comes from its
rooms, one role each: ``save`` from
:class:`~pylxd.models._instance_save.InstanceSaveMixin`, state and lifecycle
from :class:`~pylxd.models._instance_lifecycle.InstanceLifecycleMixin`, copy,
migration and publish from
:class:`~pylxd.models._instance_migration.InstanceMigrationMixin`, exec and
consoles from :class:`~pylxd.models._exec.ExecMixin`, backups, logs, metadata
and templates from :class:`~pylxd.models._instance_subresources.InstanceSubresourcesMixin`,
Incus's additions from
:class:`~pylxd.models._instance_incus.IncusInstanceMixin`, and file transfers
from ``instance.files`` (:mod:`pylxd.models.files`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from pylxd import exceptions, managers
from pylxd._types import JSONDict
from pylxd.models import _compat
from pylxd.models import _model as model
from pylxd.models._collection import ChildMixin
from pylxd.models._compat import (  # noqa: F401  (pylxd 2.4.2's names, patch targets)
    LXDAPIException,
    errno,
    json,
    logging,
    os,
    parse,
    stat,
    suppress,
    time,
    warnings,
)
from pylxd.models._dates import format_time
from pylxd.models._exec import (  # noqa: F401  (pylxd's name for the result type)
    ExecMixin,
    _InstanceExecuteResult,
)
from pylxd.models._instance_config import (  # noqa: F401  (name_problem re-exported)
    check_instance_name,
    check_source,
    copy_source_profiles,
    created_name,
    name_problem,
)
from pylxd.models._instance_incus import IncusInstanceMixin
from pylxd.models._instance_lifecycle import (  # noqa: F401  (importable from here)
    STATUS_FROZEN,
    STATUS_RUNNING,
    STATUS_STOPPED,
    InstanceLifecycleMixin,
)
from pylxd.models._instance_migration import InstanceMigrationMixin
from pylxd.models._instance_save import InstanceSaveMixin
from pylxd.models._instance_subresources import InstanceSubresourcesMixin
from pylxd.models._mixins import (
    CollectionMixin,
    RenameMixin,
    check_name,
    drop_none,
    found,
    listed_names,
    quote,
)

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd.client import Client
    from pylxd.models.files import FilesManager


#: pylxd's name for the state object :meth:`Instance.state` returns.
InstanceState = model.AttributeDict

#: Keys of ``GET /1.0/instances?recursion=2`` items that are not attributes.
_FULL_KEYS = frozenset(("state", "snapshots", "backups"))


def _files_manager(instance: Instance) -> FilesManager:
    # Imported on first use (no import cycle): most instance work never
    # touches files, and the files rooms are a large part of this import.
    from pylxd.models.files import FilesManager

    return FilesManager(instance)


class _FilesManagerAlias:
    """``Instance.FilesManager``: pylxd's public name for the files manager class."""

    def __get__(self, obj: object, owner: type) -> type[FilesManager]:
        from pylxd.models.files import FilesManager  # as in _files_manager

        return FilesManager


class Instance(
    InstanceSaveMixin,
    InstanceLifecycleMixin,
    InstanceMigrationMixin,
    ExecMixin,
    InstanceSubresourcesMixin,
    IncusInstanceMixin,
    CollectionMixin,
    model.Model,
):
    """An LXD instance, ``/1.0/instances/<name>``.

    This class is not intended to be used directly, but rather to be used via
    ``client.instances`` (``client.containers``, ``client.virtual_machines``).
    ``save()`` replaces the instance's configuration (``PUT``); state changes
    waited on update ``status`` and ``status_code`` without another request.
    """

    __slots__ = ("_full",)

    _endpoint = "instances"
    #: The ``type`` this class creates and lists (None: every type).
    _instance_type: ClassVar[str | None] = None

    architecture = model.Attribute[str]()
    config = model.Attribute[dict[str, str]]()
    created_at = model.Attribute[str](readonly=True)
    devices = model.Attribute[dict[str, dict[str, str]]]()
    ephemeral = model.Attribute[bool]()
    expanded_config = model.Attribute[dict[str, str]](readonly=True)
    expanded_devices = model.Attribute[dict[str, dict[str, str]]](readonly=True)
    name = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    profiles = model.Attribute[list[str]]()
    status = model.Attribute[str](readonly=True)
    status_code = model.Attribute[int](readonly=True)
    last_used_at = model.Attribute[str](readonly=True)
    location = model.Attribute[str](readonly=True)
    type = model.Attribute[str](readonly=True)
    project = model.Attribute[str](readonly=True, optional=True)
    stateful = model.Attribute[bool](readonly=True)

    files = model.Manager(_files_manager)
    snapshots = model.Manager(lambda inst: managers.SnapshotManager(inst.client, inst))
    FilesManager = _FilesManagerAlias()

    # -- loading -----------------------------------------------------------
    def _load(self, payload: dict[str, Any], rollback: bool = False) -> None:
        # recursion=2 adds state, snapshots and backups: kept apart, not attributes.
        if not _FULL_KEYS.isdisjoint(payload):
            full = {key: payload[key] for key in _FULL_KEYS if key in payload}
            object.__setattr__(self, "_full", full)
            payload = {k: v for k, v in payload.items() if k not in full}
        if payload.get("location") is not None and not self._clustered():
            # LXD says "none" off a cluster; pylxd reports None.
            payload = {**payload, "location": None}
        super()._load(payload, rollback)

    def _clustered(self) -> bool:
        client = self.client
        return client is None or bool(client.server_clustered)

    @property
    def cached_state(self) -> model.AttributeDict | None:
        """The state sent with ``all(recursion=2)``, without a request (None otherwise).

        :meth:`state` always reads the current state.
        """
        state = (self._raw_attr("_full") or {}).get("state")
        return None if state is None else model.AttributeDict(state)

    @property
    def cached_snapshots(self) -> list[Snapshot] | None:
        """The snapshots sent with ``all(recursion=2)`` (None otherwise)."""
        full = self._raw_attr("_full") or {}
        if "snapshots" not in full:
            return None
        return [
            Snapshot._from_server(self.client, item, instance=self)
            for item in full["snapshots"] or ()
        ]

    # -- the collection ----------------------------------------------------
    @classmethod
    def all(
        cls,
        client: Client,
        recursion: int = 1,
        fields: Iterable[str] | None = None,
        filter: str | None = None,
    ) -> list[Instance]:
        """Get all instances (of this class's type) in one request.

        Implements ``GET /1.0/instances?recursion=1``.

        :param recursion: 1 (default) loads every attribute, so reading
            ``status`` costs nothing more; 0 returns objects holding only their
            name (loaded on first use, as pylxd did); 2 also brings each
            instance's state and snapshots (:attr:`cached_state`).
        :param fields: with recursion 2, the state fields to compute, e.g.
            ``["state.network"]``. As in pylxd, they are ignored for another
            recursion, and on servers without
            ``instances_state_selective_recursion`` (a plain recursion 2).
        :param filter: an LXD filter such as ``"status eq Running"``.
        :raises InvalidArgumentType: for a ``fields`` string (a list is needed).
        """
        params: JSONDict = {
            "recursion": cls._recursion_param(client, recursion, fields)
        }
        if filter is not None:
            params["filter"] = filter
        params.update(cls._type_query())
        response = cls._collection(client).get(params=params)
        if recursion == 0:
            return [cls(client, name=name) for name in listed_names(response)]
        items = exceptions.metadata_of(
            response, (list, type(None)), items=dict, key=cls._key
        )
        return [cls._from_server(client, item) for item in items or ()]

    @classmethod
    def _type_query(cls) -> dict[str, str]:
        """``?instance-type=`` for a typed class (LXD 5.0 and Incus filter on it)."""
        if cls._instance_type is None:
            return {}
        return {"instance-type": cls._instance_type}

    @classmethod
    def get(cls, client: Client, name: str) -> Instance:
        """Get the instance called ``name`` (of this class's type).

        Implements ``GET /1.0/instances/<name>``. :class:`Container` and
        :class:`VirtualMachine` check the ``type``: a container is not found
        as a virtual machine, as with LXD's typed collections (LXD 5.0 also
        filters on the ``?instance-type=`` sent; Incus 6.0 ignores it).

        :raises NotFound: when no instance of that name (and type) exists.
        """
        metadata, response = cls._read(client, name)
        return cls._from_server(client, metadata, etag=model.etag_of(response))

    @classmethod
    def exists(cls, client: Client, name: str) -> bool:
        """Tell whether an instance called ``name`` (of this class's type) exists.

        Implements ``GET /1.0/instances/<name>``, read and checked as by
        :meth:`get`, without building the object.
        """
        return found(cls._read, client, name)

    @classmethod
    def _read(cls, client: Client, name: str) -> tuple[JSONDict, requests.Response]:
        """The checked metadata of instance ``name`` (of this class's type), and
        the answer it came in.

        :raises NotFound: when no instance of that name (and type) exists.
        """
        query = cls._type_query()
        kind = cls._error_kind or cls.__name__
        with exceptions.naming(kind, name):
            node = cls._collection(client)[quote(name, kind)]
            response = node.get(params=query) if query else node.get()
            metadata = exceptions.metadata_of(response, key=cls._key)
            if query and metadata.get("type") != cls._instance_type:
                raise _instance_not_found(response)
        return metadata, response

    @staticmethod
    def _recursion_param(
        client: Client, recursion: int, fields: Iterable[str] | None
    ) -> str:
        if recursion not in (0, 1, 2):
            raise exceptions.InvalidArgument(
                f"Instance.all: recursion must be 0, 1 or 2, not {recursion!r}"
            )
        if isinstance(fields, (str, bytes)):
            raise exceptions.InvalidArgumentType(
                f"Instance.all: fields must be a list of field names, not {fields!r}"
            )
        if (
            fields is None
            or recursion != 2
            or not client.has_api_extension("instances_state_selective_recursion")
        ):
            return str(recursion)
        return f"2;fields={','.join(fields)}"

    @classmethod
    def create(
        cls,
        client: Client,
        config: JSONDict,
        wait: bool = False,
        target: str | None = None,
    ) -> Instance:
        """Create a new instance from ``config`` (LXD's ``InstancesPost``).

        Implements ``POST /1.0/instances``. ``config`` is checked first (a
        valid name when given, a ``source`` of a known shape), so nothing is
        created when it is wrong. A ``copy`` source without ``profiles`` gets
        the source instance's profiles (LXD would otherwise find no root disk).
        Without a name, LXD picks one and the returned object carries it.

        :param wait: wait for the creation to finish.
        :param target: the cluster member to create the instance on.
        :returns: the instance (its attributes load on first use).
        :raises ValueError: when ``config`` is malformed.
        :raises Conflict: (when waited) when an instance of that name exists.
        :raises LXDAPIException: with LXD's message when the creation fails.
        """
        body = cls._creation_body(client, config)
        collection = cls._collection(client)
        if body.get("type", cls._instance_type) != cls._instance_type:
            # Container.create({"type": "virtual-machine", ...}) keeps the
            # caller's type, as in pylxd: only /1.0/instances takes any type.
            collection = client.api.instances
        with exceptions.naming(cls.__name__, body.get("name") or "(unnamed)"):
            response = collection.post(json=body, target=target)
            model.wait_for(client, response, wait)
        name = body.get("name") or created_name(response)
        return cls(client, name=name)

    @classmethod
    def _creation_body(cls, client: Client, config: JSONDict) -> JSONDict:
        owner = cls.__name__
        if not isinstance(config, dict):
            raise exceptions.InvalidArgumentType(
                f"{owner}.create: config must be a dict, not {type(config).__name__}"
            )
        body = dict(config)
        if body.get("name") is not None:
            check_instance_name(f"{owner}.create", body["name"])
        source = check_source(owner, body.get("source"))
        if cls._instance_type is not None:
            body.setdefault("type", cls._instance_type)
        if source["type"] == "copy" and "profiles" not in body:
            body["profiles"] = copy_source_profiles(client, source)
        return body

    # -- the object --------------------------------------------------------
    def rename(self, name: str, wait: bool = False) -> None:
        """Rename the instance (it must be stopped).

        Implements ``POST /1.0/instances/<name>`` with ``{"name": new}``.

        :raises ValueError: when ``name`` is not a valid instance name.
        :raises LXDAPIException: with LXD's message when the rename fails.
        """
        check_instance_name(f"{type(self).__name__}.rename", name)
        response = self.api.post(json={"name": name})
        model.wait_for(self.client, response, wait)
        object.__setattr__(self, "name", name)

    def restore_snapshot(
        self, snapshot_name: str, wait: bool = False, stateful: bool = False
    ) -> requests.Response:
        """Restore the instance to snapshot ``snapshot_name``.

        Implements ``PUT /1.0/instances/<name>`` with ``{"restore": name,
        "stateful": stateful}``.

        :param stateful: restore the snapshot's running state too (a stateful
            snapshot; needs CRIU).
        :returns: the original response (not the operation result).
        :raises LXDAPIException: when the restore fails.
        """
        check_name("Snapshot", snapshot_name)
        body = {"restore": snapshot_name, "stateful": stateful}
        response = self.api.put(json=body)
        model.wait_for(self.client, response, wait)
        return response


def _instance_not_found(response: requests.Response) -> exceptions.NotFound:
    """LXD 5.0's answer for an instance of another type (``/1.0/containers/<vm>``)."""
    import requests  # the answer is built like the server's own 404

    reply = requests.Response()
    reply.status_code = 404
    reply.url, reply.request = response.url, response.request
    reply.headers["Content-Type"] = "application/json"
    body = {"type": "error", "error": "Instance not found", "error_code": 404}
    reply._content = json.dumps(body).encode()
    return exceptions.NotFound(reply)


class Snapshot(ChildMixin, RenameMixin, model.Model):
    """A snapshot of an instance, ``/1.0/instances/<name>/snapshots/<snapshot>``.

    Snapshots are keyed by their own name (LXD's ``<instance>/<snapshot>`` is
    hidden). ``save()`` sends the only writable field, ``expires_at``.
    """

    _endpoint = "snapshots"

    name = model.Attribute[str](readonly=True)
    created_at = model.Attribute[str](readonly=True)
    expires_at = model.Attribute[str](optional=True)
    stateful = model.Attribute[bool](readonly=True)
    last_used_at = model.Attribute[str](readonly=True, optional=True)
    architecture = model.Attribute[str](readonly=True, optional=True)
    config = model.Attribute[dict[str, str]](readonly=True, optional=True)
    devices = model.Attribute[dict[str, dict[str, str]]](readonly=True, optional=True)
    ephemeral = model.Attribute[bool](readonly=True, optional=True)
    expanded_config = model.Attribute[dict[str, str]](readonly=True, optional=True)
    expanded_devices = model.Attribute[dict[str, dict[str, str]]](
        readonly=True, optional=True
    )
    profiles = model.Attribute[list[str]](readonly=True, optional=True)
    size = model.Attribute[int](readonly=True, optional=True)

    instance: model.Parent[Instance] = model.Parent()

    _error_kind = "Snapshot"

    def _load(self, payload: dict[str, Any], rollback: bool = False) -> None:
        name = payload.get("name")
        if isinstance(name, str) and "/" in name:  # older LXD: "<instance>/<snap>"
            payload = {**payload, "name": name.rsplit("/", 1)[-1]}
        super()._load(payload, rollback)

    @classmethod
    def create(
        cls,
        client: Client,
        instance: Instance,
        name: str,
        stateful: bool = False,
        wait: bool = False,
        expires_at: datetime | str | None = None,
    ) -> Snapshot:
        """Snapshot the instance (``POST /1.0/instances/<name>/snapshots``).

        :param stateful: include the running state (needs CRIU).
        :param expires_at: when LXD deletes the snapshot (a datetime, naive
            meaning UTC, or an RFC 3339 string).
        :raises InvalidArgument: for a name that is empty, ``.``, ``..`` or
            holds ``/`` (a ValueError).
        :raises LXDAPIException: with LXD's message when it fails (waited).
        """
        check_name("Snapshot", name)
        expiry = format_time(expires_at, "Snapshot expires_at")
        body = {"name": name, "stateful": stateful, **drop_none(expires_at=expiry)}
        cls._post(client, instance, name, body, wait)
        return cls._lazy(client, instance, name)

    def rename(self, new_name: str, wait: bool = False) -> None:
        """Rename the snapshot (``POST`` ``{"name": new}`` to its URL)."""
        self._rename(new_name, wait=wait)

    #: The instance's ``publish`` (``POST /1.0/images``), from this snapshot.
    publish = InstanceMigrationMixin.publish

    def _publish_source(self) -> JSONDict:
        return {"type": "snapshot", "name": f"{self.instance.name}/{self.name}"}

    def restore(self, wait: bool = False) -> requests.Response:
        """Restore the instance to this snapshot (with its state, if stateful).

        :returns: the original response (not the operation result).
        :raises LXDAPIException: if the operation fails.
        """
        return self.instance.restore_snapshot(
            self.name, wait, stateful=bool(self.stateful)
        )


#: Seams that ``execute`` resolves from this module when it runs (tests patch
#: them here); loaded on first use so that instances work without ws4py's import.
_LAZY_WEBSOCKET_NAMES = ("_CommandWebsocketClient", "_StdinWebsocket")


def __getattr__(name: str) -> Any:
    if name in _LAZY_WEBSOCKET_NAMES:
        from pylxd import _websocket_exec

        value = getattr(_websocket_exec, name)
        globals()[name] = value
        return value
    if name in _compat.LAZY:  # pylxd 2.4.2's names, imported when used
        value = _compat.lazy(name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pylxd.models.instance' has no attribute {name!r}")

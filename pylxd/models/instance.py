"""LXD instances (containers and virtual machines) and their snapshots.

``/1.0/instances``, ``/1.0/instances/<name>/state`` and
``/1.0/instances/<name>/snapshots``. Exec and consoles come from
:class:`~pylxd.models._exec.ExecMixin`, backups, logs, metadata and templates
from :class:`~pylxd.models._instance_extras.InstanceExtrasMixin`, and file
transfers from ``instance.files`` (:mod:`pylxd.models._files`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from pylxd import exceptions, managers
from pylxd._types import JSONDict
from pylxd.models import _compat
from pylxd.models import _model as model
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
from pylxd.models._instance_extras import InstanceExtrasMixin
from pylxd.models._instance_incus import IncusInstanceMixin
from pylxd.models._mixins import (
    CollectionMixin,
    check_name,
    drop_none,
    found,
    name_from_url,
    quote,
)
from pylxd.models.operation import cancel_quietly

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd.client import Client


STATUS_STOPPED = 102
STATUS_RUNNING = 103
STATUS_FROZEN = 110

#: The status an instance has once a state action succeeded.
_STATUS_AFTER: dict[str, tuple[str, int]] = {
    "start": ("Running", STATUS_RUNNING),
    "restart": ("Running", STATUS_RUNNING),
    "unfreeze": ("Running", STATUS_RUNNING),
    "freeze": ("Frozen", STATUS_FROZEN),
    "stop": ("Stopped", STATUS_STOPPED),
}

#: pylxd's name for the state object :meth:`Instance.state` returns.
InstanceState = model.AttributeDict

#: Keys of ``GET /1.0/instances?recursion=2`` items that are not attributes.
_FULL_KEYS = ("state", "snapshots", "backups")

#: The writable fields a stale-ETag retry compares with the server's.
_ETAG_FIELDS = ("architecture", "config", "devices", "ephemeral", "profiles")
#: How many times a save is sent again when only ``volatile.*`` keys changed
#: (they change several times while an instance starts).
_VOLATILE_RETRIES = 3


def _not_volatile(config: Any) -> Any:
    """``config`` without the ``volatile.*`` keys LXD rewrites by itself."""
    if not isinstance(config, dict):
        return config
    return {k: v for k, v in config.items() if not k.startswith("volatile.")}


#: What LXD 5.0 says when an instance of that name exists (as a failed operation).


def _publish(
    client: Client, source: JSONDict, public: bool, wait: bool, extra: JSONDict
) -> Any:
    """Publish an instance or snapshot as an image (``POST /1.0/images``)."""
    aliases = extra.pop("aliases", None)
    if aliases is not None:
        extra["aliases"] = [a if isinstance(a, dict) else {"name": a} for a in aliases]
        for alias in extra["aliases"]:
            check_name("Image alias", alias.get("name"), slash=True)
    body = {"public": public, "source": source, **drop_none(**extra)}
    response = client.api.images.post(json=body)
    operation = model.wait_for(client, response, wait)
    if operation is None:
        return None
    return client.images.get(operation.metadata["fingerprint"])


def _files_manager(instance: Instance) -> Any:
    from pylxd.models import _files  # written apart; imported on first use

    return _files.FilesManager(instance)


class _FilesManagerAlias:
    """``Instance.FilesManager``: pylxd's public name for the files manager class."""

    def __get__(self, obj: object, owner: type) -> Any:
        from pylxd.models import _files

        return _files.FilesManager


class Instance(
    ExecMixin, InstanceExtrasMixin, IncusInstanceMixin, CollectionMixin, model.Model
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
        full = {key: payload[key] for key in _FULL_KEYS if key in payload}
        if full:
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
        items = exceptions.metadata_of(
            response, (list, type(None)), items=str if recursion == 0 else dict
        )
        items = items or []
        if recursion == 0:
            return [cls(client, name=name_from_url(url)) for url in items]
        return [cls._from_server(client, item) for item in items]

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
        query = cls._type_query()
        kind = cls._error_kind or cls.__name__
        with exceptions.naming(kind, name):
            node = cls._collection(client)[quote(name, kind)]
            response = node.get(params=query) if query else node.get()
            metadata = response.json()["metadata"]
            if query and metadata.get("type") != cls._instance_type:
                raise _instance_not_found(response)
        return cls._from_server(client, metadata, etag=model.etag_of(response))

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

    def state(self) -> model.AttributeDict:
        """Get the runtime state: status, memory, network, pid, processes, disk, cpu.

        Implements ``GET /1.0/instances/<name>/state``.
        """
        return model.AttributeDict(exceptions.metadata_of(self.api.state.get()))

    def wait_until(
        self,
        status: str | None = None,
        *,
        ipv4: bool | str | None = None,
        ipv6: bool | str | None = None,
        interface: str | None = None,
        agent: bool = False,
        timeout: float = 60.0,
    ) -> model.AttributeDict:
        """Wait until the instance is in a state, and return that state.

        Reads ``GET /1.0/instances/<name>/state``. A ``status`` alone is
        waited for on LXD's ``lifecycle`` events (no polling); addresses and
        the VM agent have no event and are polled, less often as time goes by.
        Every condition given must hold at once.

        >>> instance.wait_until("Running", ipv4=True, timeout=30)  # doctest: +SKIP

        :param status: e.g. ``"Running"``, ``"Stopped"``, ``"Frozen"``.
        :param ipv4: True for any global IPv4 address, or one address.
        :param ipv6: True for any global IPv6 address, or one address.
        :param interface: where the address must be (e.g. ``"eth0"``; any
            address of its family counts then). By default any interface but
            ``lo``, with a global address.
        :param agent: a virtual machine's agent answers (LXD then reports the
            guest's processes; it reports -1 until then).
        :param timeout: seconds to wait at most.
        :returns: the state that met the condition.
        :raises WaitTimeout: (a ``TimeoutError``) when it is not met in time.
        :raises InvalidArgument: when no condition is given.
        """
        from pylxd.models import _conditions

        condition = _conditions.InstanceCondition(status, ipv4, ipv6, interface, agent)
        state = _conditions.wait_for_instance(self, condition, timeout)
        return model.AttributeDict(state)

    def start(self, timeout: int = 30, force: bool = True, wait: bool = False) -> None:
        """Start the instance (``PUT /1.0/instances/<name>/state``)."""
        self._set_state("start", timeout, force, wait)

    def stop(self, timeout: int = 30, force: bool = True, wait: bool = False) -> None:
        """Stop the instance (``PUT /1.0/instances/<name>/state``).

        An ephemeral instance is deleted by LXD when it stops: once waited on,
        the object is detached from its client (when ``ephemeral`` was loaded).
        """
        self._set_state("stop", timeout, force, wait)

    def restart(
        self, timeout: int = 30, force: bool = True, wait: bool = False
    ) -> None:
        """Restart the instance (``PUT /1.0/instances/<name>/state``)."""
        self._set_state("restart", timeout, force, wait)

    def freeze(self, timeout: int = 30, force: bool = True, wait: bool = False) -> None:
        """Freeze the instance (``PUT /1.0/instances/<name>/state``)."""
        self._set_state("freeze", timeout, force, wait)

    def unfreeze(
        self, timeout: int = 30, force: bool = True, wait: bool = False
    ) -> None:
        """Unfreeze the instance (``PUT /1.0/instances/<name>/state``)."""
        self._set_state("unfreeze", timeout, force, wait)

    def save(self, wait: bool = False, *, if_match: bool | None = None) -> None:
        """Save the instance: ``PUT`` every writable attribute.

        Implements ``PUT /1.0/instances/<name>``. LXD keeps ``volatile.*``
        config keys for itself and refuses a config that drops some of them,
        so the server's ``volatile.*`` keys that a new ``config`` does not
        mention are sent back as they are.

        :param if_match: send ``If-Match`` with the instance's ETag (None: the
            client's switch). LXD rewrites ``volatile.*`` keys when the
            instance starts or stops, which changes its ETag: when only those
            changed on the server, the save is sent again with the server's
            new ``volatile.*`` values and ETag (a few times at most).
        :raises PreconditionFailed: when anything else changed on the server
            since the instance was loaded (nothing was saved).
        """
        body = self._save_payload()
        if self._if_match_headers(if_match) is None:
            self._save_body(body, wait, if_match)
            return
        for attempt in range(_VOLATILE_RETRIES + 1):
            try:
                self._save_body(body, wait, True)
                return
            except exceptions.PreconditionFailed:
                fresh = self._volatile_only_change()
                if fresh is None or attempt == _VOLATILE_RETRIES:
                    raise
                body = fresh

    def _save_payload(self) -> JSONDict:
        body = self.marshall()
        config = body.get("config")
        if isinstance(config, dict):
            body["config"] = {**self._server_volatile_keys(config), **config}
        return body

    def _loaded(self, key: str) -> Any:
        """The value of ``key`` as loaded from the server (MISSING: unknown)."""
        if key in self.__orig__:
            return self.__orig__[key]
        if key in self.__dirty__ or not self._is_loaded(key):
            return model.MISSING
        return self._raw_attr(key)

    def _volatile_only_change(self) -> JSONDict | None:
        """After a 412: the body to send again when only ``volatile.*`` changed.

        Reads the instance once; when its state differs from the loaded one
        only in ``volatile.*`` keys, the new ETag is adopted and the body is
        rebuilt with the server's ``volatile.*`` values; otherwise None.
        """
        response = self.api.get()
        server = exceptions.metadata_of(response)
        for key in _ETAG_FIELDS:
            loaded, now = self._loaded(key), server.get(key)
            if key == "config":
                loaded, now = _not_volatile(loaded), _not_volatile(now)
            if loaded is model.MISSING or loaded != now:
                return None
        config = server.get("config") or {}
        object.__setattr__(self, "_etag", model.etag_of(response))
        self.__orig__["config"] = model._json_copy(config)
        body = self._save_payload()
        local = body.get("config")
        if isinstance(local, dict):  # the server's volatile values win now
            kept = {k: v for k, v in local.items() if not k.startswith("volatile.")}
            fresh = {k: v for k, v in config.items() if k.startswith("volatile.")}
            body["config"] = {**kept, **fresh}
        return body

    def _server_volatile_keys(self, config: JSONDict) -> JSONDict:
        server = self.__orig__.get("config")
        if server is None:  # config was assigned before anything was loaded
            server = exceptions.metadata_of(self.api.get()).get("config") or {}
        return {
            key: value
            for key, value in server.items()
            if key.startswith("volatile.") and key not in config
        }

    def _set_state(self, action: str, timeout: int, force: bool, wait: bool) -> None:
        body = {"action": action, "timeout": timeout, "force": force}
        response = self.api.state.put(json=body)
        if not wait:
            return
        model.wait_for(self.client, response, wait)
        # The new status is known: no GET needed.
        status, code = _STATUS_AFTER[action]
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "status_code", code)
        self.__dirty__.difference_update(("status", "status_code"))
        # LXD rewrites volatile.* keys on state changes: a later save() must
        # send them back, so they are re-read lazily if used.
        self._invalidate("config", "expanded_config", "last_used_at")
        if action == "stop" and self._raw_attr("ephemeral") is True:
            object.__setattr__(self, "client", None)  # LXD deleted it

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

    def publish(
        self,
        public: bool = False,
        wait: bool = False,
        compression_algorithm: str | None = None,
        *,
        aliases: Iterable[str | JSONDict] | None = None,
        properties: dict[str, str] | None = None,
    ) -> Any:
        """Publish the (stopped) instance as an image.

        Implements ``POST /1.0/images`` with an ``instance`` source.

        :param aliases: alias names (or ``{"name", "description"}`` dicts).
        :returns: the :class:`~pylxd.models.image.Image` when waited, else None.
        :raises LXDAPIException: when LXD refuses (e.g. a running instance).
        """
        extra = {
            "aliases": aliases,
            "properties": properties,
            "compression_algorithm": compression_algorithm,
        }
        source = {"type": "instance", "name": self.name}
        return _publish(self.client, source, public, wait, extra)

    # -- copy and migration between servers --------------------------------
    def generate_migration_data(self, live: bool = False) -> JSONDict:
        """Start a migration source and return the request for the target.

        Implements ``POST /1.0/instances/<name>`` with ``{"migration": true}``.
        The result is a ``POST /1.0/instances`` body for the target server,
        which pulls the instance from this server. LXD requires that the
        target can reach this server over HTTPS: ``source.operation`` is an
        ``https://`` URL (the client's own URL, or for a local Unix-socket
        client the first of ``host_info['environment']['addresses']``, i.e.
        ``core.https_address`` must be set) and ``source.certificate`` is this
        server's certificate, which the target checks.

        The result also holds pylxd's legacy keys ``epehemeral`` (sic) and
        ``default`` (the profiles), which LXD ignores.

        :raises InvalidArgument: when this server has no HTTPS address.
        :raises LXDAPIException: if the request to migrate fails.
        """
        self.sync()
        data = self._start_transfer(live, instance_only=False, keep_volatile=True)[1]
        return {**data, "epehemeral": data["ephemeral"], "default": data["profiles"]}

    def _start_transfer(
        self, live: bool, instance_only: bool, keep_volatile: bool
    ) -> tuple[requests.Response, JSONDict]:
        operations_url = self._source_operations_url()
        # "live" is always sent: LXD 5.0 treats a running instance as live when
        # the key is missing (and then needs CRIU), false copies it statelessly.
        body: JSONDict = {"migration": True, "live": live}
        if instance_only:
            body["instance_only"] = True
        response = self.api.post(json=body)
        operation = exceptions.metadata_of(response)
        source = {
            "type": "migration",
            "mode": "pull",
            "operation": f"{operations_url}/{operation['id']}",
            "certificate": self.client.host_info.get("environment", {}).get(
                "certificate", ""
            ),
            "secrets": operation["metadata"],
        }
        if live:
            source["live"] = True
        if instance_only:
            source["instance_only"] = True
        return response, {**self._transfer_fields(keep_volatile), "source": source}

    def _transfer_fields(self, keep_volatile: bool) -> JSONDict:
        config = dict(self.config)
        if not keep_volatile:  # as LXD does for copies: new MACs, ids and state
            config = {
                k: v
                for k, v in config.items()
                if not k.startswith("volatile.") or k == "volatile.base_image"
            }
        return {
            "name": self.name,
            "architecture": self.architecture,
            "type": self.type,
            "config": config,
            "devices": self.devices,
            "ephemeral": self.ephemeral,
            "profiles": self.profiles,
            "description": self.description,
        }

    def _source_operations_url(self) -> str:
        """The ``https://`` URL of this server's operations, as a target sees it."""
        api = self.client.api
        if api.scheme == "https":
            return api.operations._api_endpoint
        environment = self.client.host_info.get("environment", {})
        addresses = environment.get("addresses") or []
        if not addresses:
            raise exceptions.InvalidArgument(
                f"Cannot migrate {type(self).__name__} {self.name!r} from "
                f"{api._describe()}: that LXD has no HTTPS address for the target "
                "to pull from (set core.https_address)"
            )
        return f"https://{addresses[0]}/1.0/operations"

    def _transfer(
        self,
        new_client: Client,
        live: bool,
        instance_only: bool,
        keep_volatile: bool,
        wait: bool,
        name: str | None = None,
    ) -> Instance:
        response, request = self._start_transfer(live, instance_only, keep_volatile)
        if name is not None:
            request["name"] = name
        try:
            new = type(self).create(new_client, request, wait=wait)
        except (
            exceptions.LXDAPIException,
            exceptions.ClientConnectionFailed,
            ValueError,
        ):
            # The migration source would linger until LXD times it out.
            cancel_quietly(self.client, exceptions.operation_of(response))
            raise
        # The source ends after the target (e.g. it unfreezes a running one).
        model.wait_for(self.client, response, wait)
        return new

    def copy(
        self,
        new_client: Client,
        name: str | None = None,
        instance_only: bool = False,
        live: bool = False,
        wait: bool = False,
    ) -> Instance:
        """Copy the instance to ``new_client``'s server, keeping this one.

        Implements ``POST /1.0/instances/<name>`` (``migration``) on this
        server and ``POST /1.0/instances`` (``migration`` source) on the target.
        With ``new_client`` being this instance's own client, this is a local
        copy (``POST /1.0/instances`` with a ``copy`` source; ``name`` is then
        needed, or LXD picks one). Otherwise the target pulls the instance
        from this server (see :meth:`generate_migration_data` for what LXD
        requires); volatile keys other than ``volatile.base_image`` are
        dropped, as LXD does for copies.

        A running instance is copied statelessly (its file system, as it is
        then) unless ``live`` is set. When ``wait`` is set, both the target's
        and this server's operations are waited for.

        :param name: the new instance's name (default: the same name).
        :param instance_only: leave the snapshots behind.
        :param live: copy the running state too (needs CRIU).
        :returns: the new instance, on ``new_client``.
        :raises LXDAPIException: with LXD's message when the copy fails.
        """
        if name is not None:
            # Before a migration is opened on the source (it would need cancelling).
            check_instance_name(f"{type(self).__name__}.copy", name)
        if new_client is self.client:
            return self._local_copy(name, instance_only, wait)
        self.sync()
        return self._transfer(new_client, live, instance_only, False, wait, name)

    def _local_copy(
        self, name: str | None, instance_only: bool, wait: bool
    ) -> Instance:
        source: JSONDict = {"type": "copy", "source": self.name}
        if instance_only:
            source["instance_only"] = True
        config = drop_none(name=name, source=source, profiles=self.profiles)
        return type(self).create(self.client, config, wait=wait)

    def migrate(
        self, new_client: Client, live: bool = False, wait: bool = False
    ) -> Instance:
        """Move the instance to ``new_client``'s server.

        Implements ``POST /1.0/instances/<name>`` (``migration``) here,
        ``POST /1.0/instances`` (``migration`` source) on the target, then
        ``DELETE /1.0/instances/<name>`` here.
        The target pulls the instance (see :meth:`generate_migration_data`
        for what LXD requires), then the source is deleted. The transfer is
        always waited for, since the source can only be removed afterwards;
        ``wait`` applies to that deletion. As in pylxd, an instance that is
        not stopped is migrated live whatever ``live`` says (LXD needs CRIU
        for a container, or a stateful VM, and refuses otherwise).

        :returns: the instance on ``new_client``.
        :raises InvalidArgument: for the same server, or a source without an
            HTTPS address.
        :raises LXDAPIException: if any of the API calls fail.
        """
        if new_client is self.client:
            raise exceptions.InvalidArgument(
                f"{type(self).__name__}.migrate: {self.name!r} is already on that server"
            )
        self.sync()
        live = live or self.status_code != STATUS_STOPPED
        new = self._transfer(new_client, live, False, True, wait=True)
        self.delete(wait=wait)
        return new


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


class Snapshot(model.Model):
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

    def _load(self, payload: dict[str, Any], rollback: bool = False) -> None:
        name = payload.get("name")
        if isinstance(name, str) and "/" in name:  # older LXD: "<instance>/<snap>"
            payload = {**payload, "name": name.rsplit("/", 1)[-1]}
        super()._load(payload, rollback)

    @property
    def api(self) -> Any:
        return self.instance.api.snapshots[quote(self.name, "Snapshot")]

    @staticmethod
    def _collection(instance: Instance) -> Any:
        return instance.api.snapshots

    @classmethod
    def all(cls, client: Client, instance: Instance) -> list[Snapshot]:
        """Get the instance's snapshots, fully loaded, in one request.

        Implements ``GET /1.0/instances/<name>/snapshots?recursion=1``.
        """
        response = cls._collection(instance).get(params={"recursion": 1})
        items = exceptions.metadata_of(response, (list, type(None)), items=dict)
        return [
            cls._from_server(client, item, instance=instance) for item in items or []
        ]

    @classmethod
    def get(cls, client: Client, instance: Instance, name: str) -> Snapshot:
        """Get snapshot ``name`` (``GET /1.0/instances/<name>/snapshots/<snap>``).

        :raises NotFound: when the instance or the snapshot does not exist.
        """
        response = cls._collection(instance)[quote(name, "Snapshot")].get()
        metadata = exceptions.metadata_of(response)
        return cls._from_server(client, metadata, instance=instance)

    @classmethod
    def exists(cls, client: Client, instance: Instance, name: str) -> bool:
        """Tell whether the instance has a snapshot named ``name``."""
        return found(cls.get, client, instance, name)

    @classmethod
    def create(
        cls,
        client: Client,
        instance: Instance,
        name: str,
        stateful: bool = False,
        wait: bool = False,
        expires_at: str | None = None,
    ) -> Snapshot:
        """Snapshot the instance (``POST /1.0/instances/<name>/snapshots``).

        :param stateful: include the running state (needs CRIU).
        :param expires_at: when LXD deletes the snapshot (RFC 3339).
        :raises InvalidArgument: for a name that is empty, ``.``, ``..`` or
            holds ``/`` (a ValueError).
        :raises LXDAPIException: with LXD's message when it fails (waited).
        """
        check_name("Snapshot", name)
        body = {"name": name, "stateful": stateful, **drop_none(expires_at=expires_at)}
        response = cls._collection(instance).post(json=body)
        model.wait_for(client, response, wait)
        return cls(client, instance=instance, name=name)

    def rename(self, new_name: str, wait: bool = False) -> None:
        """Rename the snapshot (``POST`` ``{"name": new}`` to its URL)."""
        check_name("Snapshot", new_name)
        response = self.api.post(json={"name": new_name})
        model.wait_for(self.client, response, wait)
        object.__setattr__(self, "name", new_name)

    def publish(
        self,
        public: bool = False,
        wait: bool = False,
        compression_algorithm: str | None = None,
        *,
        aliases: Iterable[str | JSONDict] | None = None,
        properties: dict[str, str] | None = None,
    ) -> Any:
        """Publish the snapshot as an image (``POST /1.0/images``).

        :returns: the :class:`~pylxd.models.image.Image` when waited, else None.
        """
        extra = {
            "aliases": aliases,
            "properties": properties,
            "compression_algorithm": compression_algorithm,
        }
        source = {"type": "snapshot", "name": f"{self.instance.name}/{self.name}"}
        return _publish(self.client, source, public, wait, extra)

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
        from pylxd import _websocket

        value = getattr(_websocket, name)
        globals()[name] = value
        return value
    if name in _compat.LAZY:  # pylxd 2.4.2's names, imported when used
        value = _compat.lazy(name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pylxd.models.instance' has no attribute {name!r}")

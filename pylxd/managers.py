"""Managers: model classmethods bound to a client (or to a parent object).

``client.profiles.get("default")`` is ``Profile.get(client, "default")``.
The model class is resolved when a method is used, so classmethods patched
in tests are seen, and models can import this module for their sub-managers.
"""

from __future__ import annotations

import functools
import importlib
import types
import typing
from contextlib import contextmanager
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Iterator,
    Literal,
    Protocol,
    TypeAlias,
    TypeVar,
    overload,
)

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client
    from pylxd.models.certificate import Certificate
    from pylxd.models.cluster import (
        Cluster,
        ClusterCertificate,
        ClusterGroup,
        ClusterMember,
    )
    from pylxd.models.container import Container
    from pylxd.models.image import Image, ImageAlias
    from pylxd.models.instance import Instance, Snapshot
    from pylxd.models.instance_backup import InstanceBackup
    from pylxd.models.network import (
        Network,
        NetworkForward,
        NetworkLoadBalancer,
        NetworkPeer,
    )
    from pylxd.models.network_acl import NetworkACL
    from pylxd.models.network_integration import NetworkIntegration
    from pylxd.models.network_zone import NetworkZone, NetworkZoneRecord
    from pylxd.models.operation import Operation
    from pylxd.models.profile import Profile
    from pylxd.models.project import Project
    from pylxd.models.server import Server
    from pylxd.models.storage_bucket import (
        StorageBucket,
        StorageBucketBackup,
        StorageBucketKey,
    )
    from pylxd.models.storage_pool import (
        StoragePool,
        StorageResources,
        StorageVolume,
        StorageVolumeSnapshot,
    )
    from pylxd.models.storage_volume_backup import StorageVolumeBackup
    from pylxd.models.virtual_machine import VirtualMachine
    from pylxd.models.warning import Warning

#: The model class a manager makes objects of.
_M = TypeVar("_M")

# The models, named for the managers' type parameters: managers resolve their
# model by dotted path at run time (models import this module).
_Certificate: TypeAlias = "Certificate"
_Cluster: TypeAlias = "Cluster"
_ClusterCertificate: TypeAlias = "ClusterCertificate"
_ClusterGroup: TypeAlias = "ClusterGroup"
_ClusterMember: TypeAlias = "ClusterMember"
_Container: TypeAlias = "Container"
_Image: TypeAlias = "Image"
_ImageAlias: TypeAlias = "ImageAlias"
_Instance: TypeAlias = "Instance"
_InstanceBackup: TypeAlias = "InstanceBackup"
_Network: TypeAlias = "Network"
_NetworkACL: TypeAlias = "NetworkACL"
_NetworkForward: TypeAlias = "NetworkForward"
_NetworkIntegration: TypeAlias = "NetworkIntegration"
_NetworkLoadBalancer: TypeAlias = "NetworkLoadBalancer"
_NetworkPeer: TypeAlias = "NetworkPeer"
_NetworkZone: TypeAlias = "NetworkZone"
_NetworkZoneRecord: TypeAlias = "NetworkZoneRecord"
_Operation: TypeAlias = "Operation"
_Profile: TypeAlias = "Profile"
_Project: TypeAlias = "Project"
_Server: TypeAlias = "Server"
_Snapshot: TypeAlias = "Snapshot"
_StorageBucket: TypeAlias = "StorageBucket"
_StorageBucketBackup: TypeAlias = "StorageBucketBackup"
_StorageBucketKey: TypeAlias = "StorageBucketKey"
_StoragePool: TypeAlias = "StoragePool"
_StorageResources: TypeAlias = "StorageResources"
_StorageVolume: TypeAlias = "StorageVolume"
_StorageVolumeBackup: TypeAlias = "StorageVolumeBackup"
_StorageVolumeSnapshot: TypeAlias = "StorageVolumeSnapshot"
_VirtualMachine: TypeAlias = "VirtualMachine"
_Warning: TypeAlias = "Warning"


@functools.lru_cache(maxsize=None)
def _resolve(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    model: type = getattr(importlib.import_module(module), name)
    return model


def _model_parameter(manager: type) -> str | None:
    """The model a manager class's type parameter names (``_Collection[_Profile]``
    is ``"Profile"``), or None when it has none of its own."""
    for base in vars(manager).get("__orig_bases__", ()):
        for arg in typing.get_args(base):
            if isinstance(arg, typing.ForwardRef):
                return arg.__forward_arg__
    return None


class _Verb:
    """``manager.get`` etc.: the model's classmethod of that name, bound at each
    access as by :meth:`BaseManager.__getattr__`, but found by the first
    lookup (the common verbs are most of a manager's use). A model without
    it raises AttributeError, and then ``__getattr__`` says so."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, manager: Any, owner: type | None = None) -> Any:
        if manager is None:
            return self
        return manager._bind(self.name)


#: The verbs :class:`BaseManager` finds with :class:`_Verb`.
_VERBS = frozenset(("get", "all", "exists", "create"))


class BaseManager(Generic[_M]):
    """Bind the classmethods of ``manager_for`` (a ``_M``) to the leading arguments.

    The verbs a model has are declared for type checkers by the mixins below
    (``client.instances.get`` returns an
    :class:`~pylxd.models.instance.Instance`); at run time they, and the
    model's other classmethods, are looked up on the model class at each use
    (:meth:`__getattr__`), so classmethods patched in tests are seen.
    """

    #: The model's dotted path (``"pylxd.models.Profile"``, as in pylxd),
    #: from the manager's type parameter: a manager names its model once.
    manager_for: ClassVar[str]
    _bound: tuple[object, ...]
    _bound_kwargs: dict[str, object]  # pylxd binds keyword arguments too
    #: Where attributes set on the manager are kept (see _ClientManager).
    _set_attrs: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        model = _model_parameter(cls)
        if model is not None and "manager_for" not in vars(cls):
            cls.manager_for = "pylxd.models." + model

    def __init__(self, *bound: object, **bound_kwargs: object) -> None:
        # Straight into the instance: private names need none of
        # __setattr__'s bookkeeping, and a client's managers are made on
        # every access.
        vars(self).update(_bound=bound, _bound_kwargs=bound_kwargs, _set_attrs={})

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_"):
            self._set_attrs[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if not name.startswith("_"):
            self._set_attrs.pop(name, None)
        object.__delattr__(self, name)

    @property
    def model(self) -> type:
        """The model class this manager creates objects of."""
        return _resolve(self.manager_for)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._bind(name)

    def _bind(self, name: str) -> functools.partial[Any]:
        method = getattr(self.model, name)
        if not isinstance(method, types.MethodType):  # bind classmethods only
            raise AttributeError(f"{type(self).__name__} has no method {name!r}")
        return functools.partial(method, *self._bound, **self._bound_kwargs)

    if not TYPE_CHECKING:  # (type checkers see the verbs of the mixins below)
        get = _Verb()
        all = _Verb()
        exists = _Verb()
        create = _Verb()

    def __dir__(self) -> list[str]:
        own = set(super().__dir__()) - _VERBS  # those of the model only
        model = self.model
        bound = {
            name
            for name in dir(model)
            if not name.startswith("_")
            and isinstance(getattr(model, name, None), types.MethodType)
        }
        return sorted(own | bound)

    def __repr__(self) -> str:
        owner = self._bound[-1] if self._bound else None
        of = f" of {owner!r}" if hasattr(owner, "__attributes__") else ""
        return f"<{type(self).__name__} for {self.manager_for.rsplit('.', 1)[-1]}{of}>"


# The verbs, as type checkers see them (gitlab's GetMixin, ListMixin...): the
# mixins have no run-time members, BaseManager.__getattr__ binds the model's.
class _Gets(Generic[_M]):
    if TYPE_CHECKING:  # pragma: no cover

        def get(self, *args: Any, **kwargs: Any) -> _M: ...


class _Lists(Generic[_M]):
    if TYPE_CHECKING:  # pragma: no cover

        def all(self, *args: Any, **kwargs: Any) -> list[_M]: ...


class _Checks:
    if TYPE_CHECKING:  # pragma: no cover

        def exists(self, *args: Any, **kwargs: Any) -> bool: ...


class _Creates(Generic[_M]):
    if TYPE_CHECKING:  # pragma: no cover

        def create(self, *args: Any, **kwargs: Any) -> _M: ...


if TYPE_CHECKING:  # pragma: no cover

    class _Collection(_Gets[_M], _Lists[_M], _Checks, _Creates[_M], BaseManager[_M]):
        """A manager of a REST collection: ``get``, ``all``, ``exists``, ``create``."""

else:
    # At run time a collection's manager is a plain BaseManager (its verbs
    # are the model's, bound by __getattr__), as in pylxd.
    _Collection = BaseManager


class CertificateManager(_Collection[_Certificate]):
    """``client.certificates``: Certificate objects."""


class InstanceManager(_Collection[_Instance]):
    """``client.instances``: Instance objects."""


class ContainerManager(_Collection[_Container]):
    """``client.containers``: Container objects."""


class VirtualMachineManager(_Collection[_VirtualMachine]):
    """``client.virtual_machines``: VirtualMachine objects."""


class ImageManager(_Collection[_Image]):
    @property
    def aliases(self) -> ImageAliasManager:
        """``client.images.aliases``: the image aliases (all/get/create...)."""
        return ImageAliasManager(*self._bound)


class ImageAliasManager(_Collection[_ImageAlias]):
    """``client.images.aliases``: ImageAlias objects."""


class NetworkManager(_Collection[_Network]):
    """``client.networks``: Network objects."""


class NetworkACLManager(_Collection[_NetworkACL]):
    """``client.network_acls``: NetworkACL objects."""


class NetworkForwardManager(_Collection[_NetworkForward]):
    """``network.forwards``: NetworkForward objects."""


class NetworkPeerManager(_Collection[_NetworkPeer]):
    """``network.peers``: NetworkPeer objects."""


class NetworkZoneManager(_Collection[_NetworkZone]):
    """``client.network_zones``: NetworkZone objects."""


class NetworkZoneRecordManager(_Collection[_NetworkZoneRecord]):
    """``zone.records``: NetworkZoneRecord objects."""


class OperationManager(_Gets[_Operation], _Lists[_Operation], BaseManager[_Operation]):
    """``client.operations``: Operation objects."""


class ProfileManager(_Collection[_Profile]):
    """``client.profiles``: Profile objects."""


class ProjectManager(_Collection[_Project]):
    """``client.projects``: Project objects."""


class SnapshotManager(_Collection[_Snapshot]):
    """``instance.snapshots``: Snapshot objects."""


class StoragePoolManager(_Collection[_StoragePool]):
    """``client.storage_pools``: StoragePool objects."""


class StorageResourcesManager(_Gets[_StorageResources], BaseManager[_StorageResources]):
    """``pool.resources``: StorageResources objects."""


class StorageVolumeManager(_Collection[_StorageVolume]):
    """``pool.volumes``: StorageVolume objects."""


class StorageVolumeSnapshotManager(_Collection[_StorageVolumeSnapshot]):
    if TYPE_CHECKING:  # pragma: no cover
        # As in pylxd, ``all()`` gives names; ``all(use_recursion=True)`` objects.
        @overload
        def all(self, use_recursion: Literal[False] = False) -> list[str]: ...

        @overload
        def all(self, use_recursion: Literal[True]) -> list[StorageVolumeSnapshot]: ...

        def all(
            self, use_recursion: bool = False
        ) -> list[str] | list[StorageVolumeSnapshot]: ...


class StorageVolumeBackupManager(_Collection[_StorageVolumeBackup]):
    """``volume.backups``: StorageVolumeBackup objects."""


class ClusterManager(_Gets[_Cluster], BaseManager[_Cluster]):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # pylxd 2.4.2's ClusterManager(client) keeps it as _client.
        self._client = args[0] if args else kwargs.get("client")

    # ``client.cluster.members`` etc. work without reading the cluster first.
    @property
    def members(self) -> ClusterMemberManager:
        """The cluster members (``client.cluster.members.all()``)."""
        return ClusterMemberManager(*self._bound)

    @property
    def groups(self) -> ClusterGroupManager:
        """The cluster groups (``client.cluster.groups.all()``)."""
        return ClusterGroupManager(*self._bound)

    @property
    def certificate(self) -> ClusterCertificateManager:
        """The cluster certificate (``client.cluster.certificate.put(cert, key)``)."""
        return ClusterCertificateManager(*self._bound)


class ClusterMemberManager(
    _Gets[_ClusterMember], _Lists[_ClusterMember], _Checks, BaseManager[_ClusterMember]
):
    """``client.cluster.members``: ClusterMember objects."""


class ClusterCertificateManager(BaseManager[_ClusterCertificate]):
    """``client.cluster.certificate``: ClusterCertificate objects."""


class ClusterGroupManager(_Collection[_ClusterGroup]):
    """``client.cluster.groups``: ClusterGroup objects."""


class WarningManager(_Gets[_Warning], _Lists[_Warning], _Checks, BaseManager[_Warning]):
    """``client.warnings``: Warning objects."""


class InstanceBackupManager(_Collection[_InstanceBackup]):
    """``instance.backups``: InstanceBackup objects."""


class ServerManager(_Gets[_Server], BaseManager[_Server]):
    """``client.server``: Server objects."""


class NetworkLoadBalancerManager(_Collection[_NetworkLoadBalancer]):
    """``network.load_balancers``: NetworkLoadBalancer objects."""


class NetworkIntegrationManager(_Collection[_NetworkIntegration]):
    """``client.network_integrations``: NetworkIntegration objects."""


class StorageBucketManager(_Collection[_StorageBucket]):
    """``pool.buckets``: StorageBucket objects."""


class StorageBucketKeyManager(_Collection[_StorageBucketKey]):
    """``bucket.keys``: StorageBucketKey objects."""


class StorageBucketBackupManager(_Collection[_StorageBucketBackup]):
    """``bucket.backups``: StorageBucketBackup objects."""


class _Stoppable(Protocol):
    def stop(self) -> None: ...


_S = TypeVar("_S", bound=_Stoppable)


@contextmanager
def web_socket_manager(manager: _S) -> Iterator[_S]:
    """Yield ``manager`` (e.g. a ws4py ``WebSocketManager``) and stop it on exit.

    >>> class Manager:
    ...     def stop(self):
    ...         print("stopped")
    >>> with web_socket_manager(Manager()):
    ...     pass
    stopped
    """
    try:
        yield manager
    finally:
        manager.stop()


#: The managers every Client carries, by attribute name.
CLIENT_MANAGERS: dict[str, type[BaseManager]] = {
    "certificates": CertificateManager,
    "instances": InstanceManager,
    "containers": ContainerManager,
    "virtual_machines": VirtualMachineManager,
    "images": ImageManager,
    "networks": NetworkManager,
    "network_acls": NetworkACLManager,
    "network_zones": NetworkZoneManager,
    "network_integrations": NetworkIntegrationManager,
    "operations": OperationManager,
    "profiles": ProfileManager,
    "projects": ProjectManager,
    "storage_pools": StoragePoolManager,
    "cluster": ClusterManager,
    "warnings": WarningManager,
    "server": ServerManager,
}


class _ClientManager:
    """``client.<name>``: a manager bound to the client, made on each access.

    The client does not keep its managers, so that a manager's reference to
    its client is no reference cycle: a dropped client is freed (and its
    sockets closed) at once, without the cyclic garbage collector, while
    ``Client().instances.all()`` still keeps the client alive as long as it
    needs it. Attributes set on a manager (tests patch
    ``client.operations.wait_for_operation``) are kept per client and seen
    by every later manager of that name.
    """

    def __init__(self, manager_cls: type[BaseManager]) -> None:
        self.manager_cls = manager_cls

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, client: Any, owner: type | None = None) -> Any:
        if client is None:
            return self
        manager = self.manager_cls(client)
        store = client.__dict__.setdefault("_manager_attrs", {})
        attrs = vars(manager)["_set_attrs"] = store.setdefault(self.name, {})
        if attrs:
            vars(manager).update(attrs)
        return manager


def install_client_managers(client_cls: type) -> None:
    """Give ``client_cls`` one manager per entry of :data:`CLIENT_MANAGERS`."""
    for name, manager_cls in CLIENT_MANAGERS.items():
        slot = _ClientManager(manager_cls)
        slot.__set_name__(client_cls, name)
        setattr(client_cls, name, slot)


def wire_client(client: Client) -> None:
    """Give ``client`` managers of its own (a copy's own, not its origin's).

    The managers themselves are made on access (:class:`_ClientManager`);
    this forgets attributes set on the managers of the client copied.
    """
    client.__dict__["_manager_attrs"] = {}

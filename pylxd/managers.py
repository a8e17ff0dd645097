"""Managers: model classmethods bound to a client (or to a parent object).

``client.profiles.get("default")`` is ``Profile.get(client, "default")``.
The model class is resolved when a method is used, so classmethods patched
in tests are seen, and models can import this module for their sub-managers.
"""

from __future__ import annotations

import functools
import importlib
import types
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client


@functools.lru_cache(maxsize=None)
def _resolve(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


class BaseManager:
    """Bind the classmethods of ``manager_for`` to the leading arguments."""

    manager_for: ClassVar[str]

    def __init__(self, *bound: object, **bound_kwargs: object) -> None:
        self._bound = bound
        self._bound_kwargs = bound_kwargs  # pylxd binds keyword arguments too
        #: Where attributes set on the manager are kept (see _ClientManager).
        self._set_attrs: dict[str, Any] = {}

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
        method = getattr(self.model, name)
        if not isinstance(method, types.MethodType):  # bind classmethods only
            raise AttributeError(f"{type(self).__name__} has no method {name!r}")
        return functools.partial(method, *self._bound, **self._bound_kwargs)

    def __dir__(self) -> list[str]:
        own = set(super().__dir__())
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


class CertificateManager(BaseManager):
    manager_for = "pylxd.models.certificate.Certificate"


class InstanceManager(BaseManager):
    manager_for = "pylxd.models.instance.Instance"


class ContainerManager(BaseManager):
    manager_for = "pylxd.models.container.Container"


class VirtualMachineManager(BaseManager):
    manager_for = "pylxd.models.virtual_machine.VirtualMachine"


class ImageManager(BaseManager):
    manager_for = "pylxd.models.image.Image"

    @property
    def aliases(self) -> ImageAliasManager:
        """``client.images.aliases``: the image aliases (all/get/create...)."""
        return ImageAliasManager(*self._bound)


class ImageAliasManager(BaseManager):
    manager_for = "pylxd.models.image.ImageAlias"


class NetworkManager(BaseManager):
    manager_for = "pylxd.models.network.Network"


class NetworkACLManager(BaseManager):
    manager_for = "pylxd.models.network_acl.NetworkACL"


class NetworkForwardManager(BaseManager):
    manager_for = "pylxd.models.network.NetworkForward"


class NetworkPeerManager(BaseManager):
    manager_for = "pylxd.models.network.NetworkPeer"


class NetworkZoneManager(BaseManager):
    manager_for = "pylxd.models.network_zone.NetworkZone"


class NetworkZoneRecordManager(BaseManager):
    manager_for = "pylxd.models.network_zone.NetworkZoneRecord"


class OperationManager(BaseManager):
    manager_for = "pylxd.models.operation.Operation"


class ProfileManager(BaseManager):
    manager_for = "pylxd.models.profile.Profile"


class ProjectManager(BaseManager):
    manager_for = "pylxd.models.project.Project"


class SnapshotManager(BaseManager):
    manager_for = "pylxd.models.instance.Snapshot"


class StoragePoolManager(BaseManager):
    manager_for = "pylxd.models.storage_pool.StoragePool"


class StorageResourcesManager(BaseManager):
    manager_for = "pylxd.models.storage_pool.StorageResources"


class StorageVolumeManager(BaseManager):
    manager_for = "pylxd.models.storage_pool.StorageVolume"


class StorageVolumeSnapshotManager(BaseManager):
    manager_for = "pylxd.models.storage_pool.StorageVolumeSnapshot"


class StorageVolumeBackupManager(BaseManager):
    manager_for = "pylxd.models.storage_volume_backup.StorageVolumeBackup"


class ClusterManager(BaseManager):
    manager_for = "pylxd.models.cluster.Cluster"

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


class ClusterMemberManager(BaseManager):
    manager_for = "pylxd.models.cluster.ClusterMember"


class ClusterCertificateManager(BaseManager):
    manager_for = "pylxd.models.cluster.ClusterCertificate"


class ClusterGroupManager(BaseManager):
    manager_for = "pylxd.models.cluster.ClusterGroup"


class WarningManager(BaseManager):
    manager_for = "pylxd.models.warning.Warning"


class InstanceBackupManager(BaseManager):
    manager_for = "pylxd.models.instance_backup.InstanceBackup"


class ServerManager(BaseManager):
    manager_for = "pylxd.models.server.Server"


class NetworkLoadBalancerManager(BaseManager):
    manager_for = "pylxd.models.network.NetworkLoadBalancer"


class NetworkIntegrationManager(BaseManager):
    manager_for = "pylxd.models.network_integration.NetworkIntegration"


class StorageBucketManager(BaseManager):
    manager_for = "pylxd.models.storage_bucket.StorageBucket"


class StorageBucketKeyManager(BaseManager):
    manager_for = "pylxd.models.storage_bucket.StorageBucketKey"


class StorageBucketBackupManager(BaseManager):
    manager_for = "pylxd.models.storage_bucket.StorageBucketBackup"


_Stoppable = TypeVar("_Stoppable")


@contextmanager
def web_socket_manager(manager: _Stoppable) -> Iterator[_Stoppable]:
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
        manager.stop()  # type: ignore[attr-defined]


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
        object.__setattr__(manager, "_set_attrs", store.setdefault(self.name, {}))
        manager.__dict__.update(manager._set_attrs)
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

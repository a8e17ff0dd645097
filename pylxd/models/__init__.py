"""pylxd's models, imported on first use so that ``import pylxd`` stays cheap."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

_WHERE = {
    "Certificate": "certificate",
    "Cluster": "cluster",
    "ClusterCertificate": "cluster",
    "ClusterGroup": "cluster",
    "ClusterJoinToken": "cluster_join_token",
    "ClusterMember": "cluster",
    "Container": "container",
    "Image": "image",
    "ImageAlias": "image",
    "Instance": "instance",
    "InstanceBackup": "instance_backup",
    "Network": "network",
    "NetworkACL": "network_acl",
    "NetworkForward": "network",
    "NetworkIntegration": "network_integration",
    "NetworkLoadBalancer": "network",
    "NetworkPeer": "network",
    "NetworkState": "network",
    "NetworkZone": "network_zone",
    "NetworkZoneRecord": "network_zone",
    "Operation": "operation",
    "Profile": "profile",
    "Project": "project",
    "Server": "server",
    "Snapshot": "instance",
    "StoragePool": "storage_pool",
    "StorageBucket": "storage_bucket",
    "StorageBucketBackup": "storage_bucket",
    "StorageBucketKey": "storage_bucket",
    "StorageResources": "storage_pool",
    "StorageVolume": "storage_volume",
    "StorageVolumeBackup": "storage_volume_backup",
    "StorageVolumeSnapshot": "storage_volume",
    "VirtualMachine": "virtual_machine",
    "Warning": "warning",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        # pylxd 2.4.2 imports every submodule here: ``pylxd.models.instance``
        # works after ``import pylxd.models``. Ours are imported when reached.
        if not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}"):
            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module 'pylxd.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pylxd.models.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))

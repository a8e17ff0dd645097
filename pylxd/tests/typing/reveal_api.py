"""What a type checker sees of the public API: ``reveal_type`` for mypy.

Not run: :mod:`pylxd.tests.test_typing` checks this file with mypy and
compares each revealed type with the one named in the comment above it.
Excluded from ``mypy -p pylxd`` (setup.cfg) so that its notes stay here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pylxd import Client

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import reveal_type


def reveal(client: Client) -> None:  # pragma: no cover
    instance = client.instances.get("x")
    # pylxd.models.instance.Instance
    reveal_type(instance)
    # list[pylxd.models.profile.Profile]
    reveal_type(client.profiles.all())
    # bool
    reveal_type(client.instances.exists("x"))
    # pylxd.models.instance.Instance
    reveal_type(client.instances.create({"name": "x"}, wait=True))
    # dict[str, str]
    reveal_type(instance.config)
    # dict[str, dict[str, str]]
    reveal_type(instance.devices)
    # str
    reveal_type(instance.status)
    # str
    reveal_type(instance.created_at)
    # list[str]
    reveal_type(instance.profiles)
    # pylxd.models.instance.Snapshot
    reveal_type(instance.snapshots.get("s"))
    # pylxd.models.instance.Instance
    reveal_type(instance.snapshots.get("s").instance)
    # pylxd.models.container.Container
    reveal_type(client.containers.get("x"))
    # pylxd.models.image.Image
    reveal_type(client.images.get("f00"))
    # list[pylxd.models.image.ImageAlias]
    reveal_type(client.images.aliases.all())
    pool = client.storage_pools.get("default")
    # dict[str, str]
    reveal_type(pool.config)
    volume = pool.volumes.get("custom", "v")
    # pylxd.models.storage_volume.StorageVolume
    reveal_type(volume)
    # list[str]
    reveal_type(volume.snapshots.all())
    # list[pylxd.models.storage_volume.StorageVolumeSnapshot]
    reveal_type(volume.snapshots.all(use_recursion=True))
    # pylxd.models.cluster.Cluster
    reveal_type(client.cluster.get())
    # list[pylxd.models.operation.Operation]
    reveal_type(client.operations.all())
    # pylxd.models.cluster.ClusterMember
    reveal_type(client.cluster.members.get("c1"))
    bucket = pool.buckets.get("b")
    # pylxd.models.storage_bucket.StorageBucketBackup
    reveal_type(bucket.backups.create("b1"))
    # pylxd.models.storage_bucket.StorageBucketBackup
    reveal_type(bucket.backups.create())
    forward = client.networks.get("lxdbr0").forwards.get("10.0.0.1")
    # list[str]
    reveal_type(forward.network.used_by)

"""Contract: the objects both answer with carry the same fields (the daemon's)."""

from __future__ import annotations

from typing import Any

from integration.contract.conftest import said

SHAPES = {
    "instance": {
        "architecture", "config", "created_at", "description", "devices",
        "ephemeral", "expanded_config", "expanded_devices", "last_used_at",
        "location", "name", "profiles", "project", "stateful", "status",
        "status_code", "type",
    },
    "state": {
        "cpu", "disk", "memory", "network", "pid", "processes", "status",
        "status_code",
    },
    "snapshot": {
        "architecture", "config", "created_at", "devices", "ephemeral",
        "expanded_config", "expanded_devices", "expires_at", "last_used_at",
        "name", "profiles", "size", "stateful",
    },
    "profile": {"config", "description", "devices", "name", "used_by"},
    "project": {"config", "description", "name", "used_by"},
    "pool": {
        "config", "description", "driver", "locations", "name", "status",
        "used_by",
    },
    "alias": {"description", "name", "target", "type"},
    "image": {
        "aliases", "architecture", "auto_update", "cached", "created_at",
        "expires_at", "filename", "fingerprint", "last_used_at", "profiles",
        "properties", "public", "size", "type", "uploaded_at",
    },
    "network": {
        "config", "description", "locations", "managed", "name", "status",
        "type", "used_by",
    },
    "volume": {
        "config", "content_type", "created_at", "description", "location",
        "name", "project", "type", "used_by",
    },
    "host": {
        "api_extensions", "api_status", "api_version", "auth", "auth_methods",
        "config", "environment", "public",
    },
    "pool_resources": {"inodes", "space"},
    "resources": {
        "cpu", "memory", "gpu", "network", "storage", "usb", "pci", "system",
    },
}  # fmt: skip
#: What Incus 6.0.4 adds to LXD 5.0.2's objects.
INCUS_ADDS = {
    "state": {"os_info", "started_at"},
    "profile": {"project"},
    "image": {"project"},
    "network": {"project"},
    "host": {"auth_user_method", "auth_user_name"},
    "resources": {"load"},
}


def metadata(node: Any, **params: Any) -> Any:
    return node.get(params=params or None).json()["metadata"]


def test_object_fields(backend: Any) -> None:
    client, api = backend.client, backend.client.api
    instance = backend.instance()
    instance.snapshots.create("s1", wait=True)
    volume = backend.name()
    pool = api.storage_pools["default"]
    pool.volumes.custom.post(json={"name": volume})
    backend.defer(lambda: pool.volumes.custom[volume].delete())
    target = metadata(api.images.aliases[backend.image_alias])["target"]
    seen = {
        "instance": metadata(api.instances[instance.name]),
        "state": metadata(api.instances[instance.name].state),
        "snapshot": metadata(api.instances[instance.name].snapshots["s1"]),
        "profile": metadata(api.profiles["default"]),
        "project": metadata(api.projects["default"]),
        "pool": metadata(pool),
        "alias": metadata(api.images.aliases[backend.image_alias]),
        "image": metadata(api.images[target]),
        "network": metadata(api.networks["lo"]),
        "volume": metadata(pool.volumes.custom[volume]),
        "host": client.host_info,
        "pool_resources": metadata(pool.resources),
        "resources": metadata(api.resources),
    }
    adds = said({}, INCUS_ADDS)
    expected = {kind: fields | adds.get(kind, set()) for kind, fields in SHAPES.items()}
    assert {kind: set(found) for kind, found in seen.items()} == expected


def test_full_recursion_adds_state_snapshots_and_backups(backend: Any) -> None:
    instance = backend.instance()
    listed = metadata(backend.client.api.instances, recursion=2)
    mine = [i for i in listed if i["name"] == instance.name][0]
    assert set(mine) == SHAPES["instance"] | {"backups", "snapshots", "state"}

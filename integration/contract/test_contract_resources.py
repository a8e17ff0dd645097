"""Contract: profiles, projects, images and aliases, networks and storage."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from integration.contract.conftest import not_found, said
from pylxd import exceptions


def failure(call: Callable[[], Any]) -> tuple[str, str]:
    """The exception class ``call`` raises and LXD's own error text.

    The text comes from the response (``error``, or ``metadata.err`` of a
    failed operation), not from ``str()``, which pylxd may enrich.
    """
    with pytest.raises(exceptions.LXDAPIException) as info:
        call()
    body = info.value.response.json()
    text = body.get("error") or (body.get("metadata") or {}).get("err", "")
    return type(info.value).__name__, text


# -- profiles ----------------------------------------------------------------
def test_profile_crud(backend: Any) -> None:
    client = backend.client
    name = backend.name()
    backend.defer(lambda: client.profiles.get(name).delete())
    profile = client.profiles.create(
        name, config={"limits.cpu": "1"}, description="first"
    )
    assert (profile.name, profile.description) == (name, "first")
    assert profile.config == {"limits.cpu": "1"}
    assert profile.devices == {}
    assert profile.used_by == []
    profile.config["limits.memory"] = "64MiB"
    profile.save()
    assert client.profiles.get(name).config == {
        "limits.cpu": "1",
        "limits.memory": "64MiB",
    }
    assert name in [p.name for p in client.profiles.all()]
    new = backend.name()
    backend.defer(lambda: client.profiles.get(new).delete())
    profile.rename(new)
    assert client.profiles.exists(new) and not client.profiles.exists(name)
    client.profiles.get(new).delete()
    assert not client.profiles.exists(new)


@pytest.mark.parametrize("collection", ["profiles", "network-acls"])
def test_write_answers_carry_lxd_s_metadata(backend: Any, collection: str) -> None:
    """A create or rename answers ``metadata: null``; ``PUT``, ``PATCH`` and
    ``DELETE`` answer ``{}`` (LXD's empty sync response)."""
    api = backend.client.api[collection]
    name, new = backend.name(), backend.name()
    backend.defer(lambda: api[name].delete())
    backend.defer(lambda: api[new].delete())
    seen = {
        "create": api.post(json={"name": name}),
        "put": api[name].put(json={"description": "put", "config": {}}),
        "patch": api[name].patch(json={"description": "patched"}),
        "rename": api[name].post(json={"name": new}),
        "delete": api[new].delete(),
    }
    metadata = {verb: response.json()["metadata"] for verb, response in seen.items()}
    assert metadata == {
        "create": None,
        "put": {},
        "patch": {},
        "rename": None,
        "delete": {},
    }


def test_profile_errors(backend: Any) -> None:
    client = backend.client
    assert failure(lambda: client.profiles.get(backend.name())) == (
        "NotFound",
        "Fetch profile: Profile not found",
    )
    assert failure(lambda: client.profiles.get("default").delete()) == (
        "Forbidden",
        'The "default" profile cannot be deleted',
    )
    name = backend.name()
    backend.defer(lambda: client.profiles.get(name).delete())
    client.profiles.create(name)
    assert failure(lambda: client.profiles.create(name)) == (
        "Conflict",
        f'Error inserting "{name}" into database: The profile already exists',
    )


def test_profile_used_by_an_instance(backend: Any) -> None:
    client = backend.client
    name = backend.name()
    backend.defer(lambda: client.profiles.get(name).delete())
    client.profiles.create(name)
    instance = backend.instance(profiles=["default", name])
    assert client.profiles.get(name).used_by == [f"/1.0/instances/{instance.name}"]
    assert failure(lambda: client.profiles.get(name).delete()) == (
        "LXDAPIException",
        "Profile is currently in use",
    )


# -- projects ----------------------------------------------------------------
def test_project_crud(backend: Any) -> None:
    client = backend.client
    name = backend.name()
    backend.defer(lambda: client.projects.get(name).delete())
    project = client.projects.create(name, description="mine")
    assert project.description == "mine"
    assert project.config == {
        "features.images": "true",
        "features.profiles": "true",
        "features.storage.volumes": "true",
        **said({}, {"features.storage.buckets": "true"}),
    }
    assert client.projects.exists(name)
    scoped = client.with_project(name)
    assert [p.name for p in scoped.profiles.all()] == ["default"]
    project.description = "edited"
    project.save()
    assert client.projects.get(name).description == "edited"
    new = backend.name()
    backend.defer(lambda: client.projects.get(new).delete())
    renamed = project.rename(new)
    assert renamed.name == new
    assert not client.projects.exists(name)
    client.projects.get(new).delete()
    assert not client.projects.exists(new)


def test_project_errors(backend: Any) -> None:
    client = backend.client
    assert failure(lambda: client.projects.get(backend.name())) == (
        "NotFound",
        "Project not found",
    )
    name = backend.name()
    backend.defer(lambda: client.projects.get(name).delete())
    client.projects.create(name)
    assert failure(lambda: client.projects.create(name)) == (
        "Conflict",
        f'Failed creating project "{name}": Failed adding database record: '
        + said(
            'This "projects" entry already exists',
            'Failed to create "projects" entry: UNIQUE constraint failed: '
            "projects.name",
        ),
    )
    assert failure(lambda: client.projects.get("default").delete()) == (
        "Forbidden",
        "The 'default' project cannot be deleted",
    )


# -- images and aliases ------------------------------------------------------
def test_image_by_alias(backend: Any) -> None:
    image = backend.client.images.get_by_alias(backend.image_alias)
    assert image.properties["os"] == "busybox"
    assert image.architecture == "x86_64"
    assert image.type == "container"
    assert image.public is False
    assert {"name": backend.image_alias, "description": ""} in image.aliases
    assert backend.client.images.exists(image.fingerprint)
    assert backend.client.images.exists(backend.image_alias, alias=True)
    assert image.fingerprint in [i.fingerprint for i in backend.client.images.all()]


def test_alias_crud(backend: Any) -> None:
    client = backend.client
    target = client.images.get_by_alias(backend.image_alias).fingerprint
    name = backend.name()
    backend.defer(lambda: client.images.aliases.get(name).delete())
    alias = client.images.aliases.create(name, target, description="d")
    assert (alias.name, alias.target, alias.description) == (name, target, "d")
    assert alias.type == "container"
    assert failure(lambda: client.images.aliases.create(name, target)) == (
        "Conflict",
        f'Alias "{name}" already exists',
    )
    client.images.aliases.get(name).delete()
    assert failure(lambda: client.images.aliases.get(name)) == (
        "NotFound",
        "Image alias not found",
    )
    assert failure(lambda: client.images.get("0" * 64)) == (
        "NotFound",
        said("Image not found", f'Image "{"0" * 64}" not found'),
    )


# -- networks ----------------------------------------------------------------
def test_network_crud(backend: Any) -> None:
    client = backend.client
    name = backend.name("ct")[:15]  # an interface name: 15 characters at most
    backend.defer(lambda: client.networks.get(name).delete())
    config = {"ipv4.address": "none", "ipv6.address": "none"}
    network = client.networks.create(
        name, description="d", type="bridge", config=config
    )
    assert (network.name, network.type, network.managed) == (name, "bridge", True)
    assert network.config == config
    assert network.description == "d"
    assert network.status == "Created"
    assert network.state().type == "broadcast"
    network.description = "edited"
    network.save()
    assert client.networks.get(name).description == "edited"
    assert name in [n.name for n in client.networks.all()]
    network.delete()
    assert not client.networks.exists(name)


def test_network_errors(backend: Any) -> None:
    client = backend.client
    kind, message = failure(lambda: client.networks.get("pylxd-nonet"))
    assert (kind, message) == ("NotFound", "Network not found")


# -- storage -----------------------------------------------------------------
def test_storage_pool_and_volumes(backend: Any) -> None:
    pool = backend.client.storage_pools.get("default")
    assert (pool.name, pool.driver, pool.status) == ("default", "dir", "Created")
    name = backend.name()
    backend.defer(lambda: pool.volumes.get("custom", name).delete())
    volume = pool.volumes.create(
        {"name": name, "type": "custom", "config": {"size": "10MiB"}}
    )
    assert (volume.name, volume.type, volume.content_type) == (
        name,
        "custom",
        "filesystem",
    )
    assert volume.config["size"] == "10MiB"
    volume.description = "edited"
    volume.save()
    assert pool.volumes.get("custom", name).description == "edited"
    assert name in [v.name for v in pool.volumes.all() if v.type == "custom"]
    pool.volumes.get("custom", name).delete()
    assert not pool.volumes.exists("custom", name)


def test_storage_errors(backend: Any) -> None:
    pool = backend.client.storage_pools.get("default")
    assert failure(lambda: pool.volumes.get("custom", "pylxd-novol")) == (
        "StorageObjectNotFound",
        "Storage pool volume not found",
    )
    assert failure(lambda: backend.client.storage_pools.get("pylxd-nopool")) == (
        "StorageObjectNotFound",
        "Storage pool not found",
    )


def test_storage_pool_crud(backend: Any) -> None:
    client = backend.client
    name = backend.name()
    backend.defer(lambda: client.storage_pools.get(name).delete())
    pool = client.storage_pools.create({"name": name, "driver": "dir"})
    assert (pool.name, pool.driver, pool.status) == (name, "dir", "Created")
    daemon_dir = said("/var/lib/lxd", "/var/lib/incus")
    assert pool.config == {"source": f"{daemon_dir}/storage-pools/{name}"}
    # LXD 5.0.2 answers null for an unused pool, Incus 6.0.4 an empty list
    assert pool.used_by == said(None, [])
    kind, message = failure(
        lambda: client.storage_pools.create({"name": name, "driver": "dir"})
    )
    assert (kind, message) == (
        "Conflict",
        "The storage pool already exists: The record already exists",
    )
    volume = pool.volumes.create({"name": "v1", "type": "custom"})
    backend.defer(
        lambda: client.storage_pools.get(name).volumes.get("custom", "v1").delete()
    )
    assert failure(lambda: client.storage_pools.get(name).delete()) == (
        "LXDAPIException",
        "The storage pool is currently in use",
    )
    volume.rename({"name": "v2"}, wait=True)
    assert [v.name for v in pool.volumes.all() if v.type == "custom"] == ["v2"]
    pool.volumes.get("custom", "v2").delete()
    client.storage_pools.get(name).delete()
    assert not client.storage_pools.exists(name)


def test_error_catalogue(backend: Any) -> None:
    client, api = backend.client, backend.client.api
    missing = backend.name()
    profile = backend.name()
    client.profiles.create(profile)
    backend.defer(lambda: client.profiles.get(profile).delete())
    project = backend.name()
    client.projects.create(project)
    backend.defer(lambda: client.projects.get(project).delete())
    found = {
        "profile rename to taken": failure(
            lambda: api.profiles[profile].post(json={"name": "default"})
        ),
        "profile rename default": failure(
            lambda: api.profiles["default"].post(json={"name": missing})
        ),
        "project rename default": failure(
            lambda: api.projects["default"].post(json={"name": missing})
        ),
        "project put missing": failure(
            lambda: api.projects[missing].put(json={"config": {}})
        ),
        "alias rename missing": failure(
            lambda: api.images.aliases[missing].post(json={"name": "x"})
        ),
        "alias missing target": failure(
            lambda: api.images.aliases.post(json={"name": missing, "target": "f" * 64})
        ),
        "network delete missing": failure(lambda: api.networks[missing].delete()),
        "volume delete missing": failure(
            lambda: api.storage_pools["default"].volumes.custom[missing].delete()
        ),
        "operation wait missing": failure(
            lambda: api.operations["00000000-0000-0000-0000-000000000000"].wait.get()
        ),
        "snapshot of missing": failure(
            lambda: api.instances[missing].snapshots.post(json={"name": "s"})
        ),
    }
    assert found == {
        "profile rename to taken": (
            "Conflict",
            said('Name "default" already in use', 'Profile "default" already exists'),
        ),
        "profile rename default": (
            "Forbidden",
            'The "default" profile cannot be renamed',
        ),
        "project rename default": (
            "Forbidden",
            "The 'default' project cannot be renamed",
        ),
        "project put missing": ("NotFound", "Project not found"),
        "alias rename missing": ("NotFound", "Image alias not found"),
        "alias missing target": ("NotFound", "Image not found"),
        "network delete missing": (
            "NotFound",
            "Failed loading network: Network not found",
        ),
        "volume delete missing": ("NotFound", "Storage pool volume not found"),
        "operation wait missing": ("NotFound", "Operation not found"),
        "snapshot of missing": ("NotFound", not_found(missing)),
    }


def test_publish_and_image_aliases(backend: Any) -> None:
    client = backend.client
    instance = backend.instance()
    image = instance.publish(wait=True)
    backend.defer(lambda: client.images.get(image.fingerprint).delete(wait=True))
    seen = {
        "public": image.public,
        "type": image.type,
        "architecture": image.architecture,
        "aliases": list(image.aliases),
        "properties": sorted(image.properties),
        "cached": image.cached,
        "auto_update": image.auto_update,
    }
    alias = backend.name()
    image.add_alias(alias, "published")
    again = client.images.get(image.fingerprint)
    seen["aliases after add"] = list(again.aliases)
    again.delete_alias(alias)
    seen["aliases after delete"] = client.images.get(image.fingerprint).aliases
    assert seen == {
        "public": False,
        "type": "container",
        "architecture": "x86_64",
        "aliases": [],
        "properties": ["description", "os", "release"],
        "cached": False,
        "auto_update": False,
        "aliases after add": [{"name": alias, "description": "published"}],
        "aliases after delete": [],
    }


def test_expanded_config_and_used_by(backend: Any) -> None:
    client = backend.client
    profile = backend.name()
    client.profiles.create(profile, config={"user.from": "profile", "user.both": "p"})
    backend.defer(lambda: client.profiles.get(profile).delete())
    pool = client.storage_pools.get("default")
    volume = backend.name()
    pool.volumes.create({"name": volume, "type": "custom"})
    backend.defer(lambda: pool.volumes.get("custom", volume).delete())
    disk = {"type": "disk", "pool": "default", "source": volume, "path": "/mnt"}
    instance = backend.instance(
        profiles=["default", profile],
        config={"user.both": "instance"},
        devices={"data": disk},
    )
    seen = {
        "expanded": {
            k: v for k, v in instance.expanded_config.items() if k.startswith("user.")
        },
        "devices": instance.devices,
        "expanded devices": sorted(instance.expanded_devices),
        "volume used_by": pool.volumes.get("custom", volume).used_by,
        "profile used_by": client.profiles.get(profile).used_by,
    }
    url = f"/1.0/instances/{instance.name}"
    assert seen == {
        "expanded": {"user.from": "profile", "user.both": "instance"},
        "devices": {"data": disk},
        "expanded devices": ["data", "root"],
        "volume used_by": [url],
        "profile used_by": [url],
    }


def test_bridge_state_rename_and_leases(backend: Any) -> None:
    client = backend.client
    name = backend.name("ct")[:15]
    new = backend.name("cu")[:15]
    backend.defer(lambda: client.networks.get(name).delete())
    backend.defer(lambda: client.networks.get(new).delete())
    config = {"ipv4.address": "none", "ipv6.address": "none"}
    network = client.networks.create(name, type="bridge", config=config)
    state = network.state()
    seen = {
        # a NetworkState iterates over (name, value) pairs, as in pylxd
        "state": (
            state.type,
            state.state,
            state.addresses,
            sorted(k for k, _ in state),
        ),
        "leases": network.leases(),
    }
    renamed = network.rename(new)
    seen["renamed"] = (renamed.name, client.networks.exists(name))
    fields = ["addresses", "bond", "bridge", "counters", "hwaddr", "mtu", "ovn"]
    fields += ["state", "type", "vlan"]
    assert seen == {
        "state": ("broadcast", "up", [], fields),
        "leases": [],
        "renamed": (new, False),
    }

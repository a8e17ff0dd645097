"""pylxd 2.4.2 code on the models, against the real LXD 5.0.2.

Each test is written as a pylxd 2.4.2 user would write it (positional
arguments, its keyword names and defaults) for a row of
``pylxd-2.4.2-differences.md`` that touches LXD. Every object made has a
unique name and is deleted by its fixture, even on failure. What needs a
stateful snapshot (no CRIU here) or a cluster member to remove is proven
against the fake in ``pylxd/tests/test_compat_models.py``.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import time
from typing import Any, Callable, Iterator
from unittest import mock

import pytest
import requests

from integration.conftest import force_delete_instance, unique_name
from integration.test_instances import images  # noqa: F401  (fixture)
from integration.test_networks import Bridges, bridge_name
from integration.test_networks import make_bridge as bridges  # noqa: F401
from integration.test_profiles import names as profile_names  # noqa: F401
from pylxd import Client, exceptions
from pylxd.models import (
    Certificate,
    Cluster,
    Image,
    Instance,
    Network,
    NetworkForward,
    Operation,
    Profile,
    StoragePool,
    StorageVolumeSnapshot,
)

NO_ADDRESSES = {"ipv4.address": "none", "ipv6.address": "none"}


@pytest.fixture
def pool_name(client: Client) -> Iterator[str]:
    name = unique_name("pylxd-it-cpool")
    yield name
    with contextlib.suppress(exceptions.NotFound):
        for volume in StoragePool(client, name=name).volumes.all():
            with contextlib.suppress(exceptions.NotFound):
                volume.delete()
        client.api["storage-pools"][name].delete()


def no_io() -> Any:
    """Fail any HTTP request made inside the ``with`` block."""
    return mock.patch.object(
        requests.Session, "request", side_effect=AssertionError("a request was sent")
    )


# -- wait= variants (rows 43, 50, 52, 54) --------------------------------------
def test_profile_create_and_rename_take_wait(
    client: Client,
    profile_names: Callable[[], str],  # noqa: F811 (a fixture)
) -> None:
    name, new_name = profile_names(), profile_names()
    profile = Profile.create(client, name, None, None, "compat", True)
    assert profile.description == "compat"
    renamed = profile.rename(new_name, wait=True)
    assert renamed.name == new_name and not client.profiles.exists(name)
    renamed.delete(wait=True)
    assert not client.profiles.exists(new_name)


def test_storage_pool_create_and_delete_take_wait(
    client: Client, pool_name: str
) -> None:
    pool = StoragePool.create(client, {"name": pool_name, "driver": "dir"}, True)
    assert pool.driver == "dir"
    pool.delete(wait=True)
    assert not client.storage_pools.exists(pool_name)


def test_volume_snapshots_as_pylxd(client: Client, pool_name: str) -> None:
    pool = client.storage_pools.create({"name": pool_name, "driver": "dir"})
    volume = pool.volumes.create({"name": "v1"})
    snapshot = volume.snapshots.create("s1", wait=True)
    assert volume.snapshots.all() == ["s1"]  # names, as pylxd returns them
    assert snapshot.expires_at is None  # LXD's zero time
    assert snapshot.content_type == "filesystem"
    snapshot.description = "kept"
    snapshot.save()  # "no expiry" goes back as LXD's zero time
    snapshot.rename("s2", wait=True)
    (loaded,) = volume.snapshots.all(use_recursion=True)
    assert isinstance(loaded, StorageVolumeSnapshot)
    assert (loaded.name, loaded.description, loaded.expires_at) == ("s2", "kept", None)
    unwaited = StorageVolumeSnapshot.create(volume, "s3", None, False)
    assert unwaited.name == "s3"  # returned before LXD's operation ends
    # Not waited for: the snapshot appears once LXD's operation ends (at once on
    # an idle LXD, later on a loaded Incus), so look for a bounded while.
    deadline = time.monotonic() + 60
    while "s3" not in volume.snapshots.all() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted(volume.snapshots.all()) == ["s2", "s3"]


def test_network_create_and_rename_take_wait(
    client: Client,
    bridges: Bridges,  # noqa: F811 (a fixture)
) -> None:
    name, new_name = bridges.track(bridge_name()), bridges.track(bridge_name())
    network = Network.create(client, name, "compat", "bridge", NO_ADDRESSES, True)
    assert repr(network).startswith("Network(config={")
    renamed = network.rename(new_name, wait=True)
    assert renamed.name == new_name and not client.networks.exists(name)
    renamed.delete(wait=True)
    assert not client.networks.exists(new_name)


def test_network_forward_create_takes_pylxd_s_dict(
    bridges: Bridges,  # noqa: F811 (a fixture)
) -> None:
    network = bridges()
    # An address-less bridge cannot forward: LXD's refusal proves the dict
    # reached it as the body (pylxd's create(client, network, config)).
    with pytest.raises(exceptions.LXDAPIException):
        NetworkForward.create(network.client, network, {"listen_address": "192.0.2.1"})
    assert network.forwards.all() == []


# -- instances (rows 30-35, 16, 37) --------------------------------------------
def test_all_with_fields_falls_back_on_5_0_2(client: Client, container: Any) -> None:
    assert not client.has_api_extension("instances_state_selective_recursion")
    listed = client.instances.all(recursion=2, fields=["state.network"])
    mine = [i for i in listed if i.name == container.name]
    assert len(mine) == 1 and mine[0].cached_state is not None


def test_location_is_none_off_a_cluster(client: Client, container: Any) -> None:
    assert not client.server_clustered
    assert client.instances.get(container.name).location is None


def test_restore_snapshot_sends_stateful(client: Client, container: Any) -> None:
    container.snapshots.create("s1", wait=True)
    container.config = {**container.config, "user.compat": "1"}
    container.save(wait=True)
    container.restore_snapshot("s1", True, False)
    assert "user.compat" not in client.instances.get(container.name).config
    snapshot = container.snapshots.get("s1")
    assert snapshot.stateful is False
    snapshot.restore(wait=True)  # sends {"restore", "stateful": false}


def test_publish_third_argument_is_the_compression(
    client: Client,
    container: Any,
    images: list[str],  # noqa: F811 (a fixture)
) -> None:
    image = container.publish(False, True, "xz")
    images.append(image.fingerprint)
    assert image.aliases == [] and image.public is False


def test_state_iterates_pairs(running_container: Any) -> None:
    state = running_container.state()
    pairs = dict((key, value) for key, value in state)
    assert pairs["status"] == "Running" == vars(state)["status"]
    assert "eth0" in list(state.network) or "lo" in list(state.network)


def test_container_create_keeps_a_callers_type(
    client: Client, image_alias: str
) -> None:
    name = unique_name()
    config = {
        "name": name,
        "source": {"type": "image", "alias": image_alias},
        "type": "virtual-machine",
    }
    try:
        # No ValueError: LXD is asked for a VM (and has no VM busybox image).
        with pytest.raises(exceptions.LXDAPIException):
            client.containers.create(config, wait=True)
    finally:
        force_delete_instance(client, name)


def test_create_without_source_is_an_lxd_api_exception(client: Client) -> None:
    name = unique_name()
    with pytest.raises(exceptions.LXDAPIException, match="source"):
        Instance.create(client, {"name": name}, wait=True)
    assert not client.instances.exists(name)


# -- __eq__ (row 14) -----------------------------------------------------------
def test_eq_sends_no_request(client: Client, container: Any) -> None:
    profile = client.profiles.get("default")
    again = client.instances.get(container.name)
    image = client.images.all()[0]
    with no_io():
        assert again == container and again != container.name
        assert again == mock.ANY
        assert profile == Profile(client, name="default", project=profile.project)
        # Incus sends every image's project (LXD 5.0.2 none): compare with it.
        assert image == Image(
            client, fingerprint=image.fingerprint, project=image.project
        )


# -- images (row 27) -----------------------------------------------------------
def _metadata_tarball() -> bytes:
    text = f"architecture: x86_64\ncreation_date: {int(time.time())}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("metadata.yaml")
        info.size = len(text)
        archive.addfile(info, io.BytesIO(text))
    return buffer.getvalue()


def test_image_create_vm_is_a_vm_image(
    client: Client,
    images: list[str],  # noqa: F811 (a fixture)
) -> None:
    disk = unique_name().encode() * 4096  # LXD stores it as it is
    image = Image.create(client, disk, _metadata_tarball(), False, True, True)
    images.append(image.fingerprint)
    assert image.type == "virtual-machine"


# -- certificates (rows 19, 20) ------------------------------------------------
def test_certificate_get_fingerprint_and_token_without_name(
    client: Client, lxd_env: dict[str, Any]
) -> None:
    first = client.certificates.all()[0]
    assert Certificate.get(client, fingerprint=first.fingerprint) == first
    before = {op.id for op in _running_operations(client)}
    token = client.certificates.create_token()
    try:
        assert isinstance(token, str) and token
    finally:
        for op in _running_operations(client):
            if op.id not in before and op.description.lower().startswith("generat"):
                with contextlib.suppress(exceptions.LXDAPIException):
                    client.api.operations[op.id].delete()


def _running_operations(client: Client) -> list[Operation]:
    return [op for op in client.operations.all() if op.status == "Running"]


# -- operations (row 57) -------------------------------------------------------
def test_operation_wait_returns_the_operation(client: Client, container: Any) -> None:
    response = client.api.instances[container.name].state.put(json={"action": "start"})
    operation = client.operations.get(response.json()["operation"].split("/")[-1])
    assert operation.wait() is operation and operation.status == "Success"


# -- cluster (rows 21, 23) on a throwaway daemon -------------------------------
def test_cluster_enable_on_the_class(disposable: Any) -> None:
    client = Client(endpoint=disposable.socket)
    name = unique_name("dsp")
    assert Cluster.enable(client, name) is None
    clustered = Client(endpoint=disposable.socket)
    assert clustered.cluster.get().enabled is True
    member = clustered.cluster.members.get(server_name=name)
    assert member.server_name == name

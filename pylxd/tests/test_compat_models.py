"""pylxd 2.4.2 call shapes and results on the models, against the fake LXD.

One test (or a few) per row of ``pylxd-2.4.2-differences.md`` that the
models own (rows 14-28, 30-39, 43-57): each runs code written for pylxd 2.4.2
and checks what it sends and gets back.
"""

from __future__ import annotations

import io
from typing import Any
from unittest import mock

import pytest

from pylxd import Client, exceptions
from pylxd.models import (
    Certificate,
    Cluster,
    Container,
    Image,
    Instance,
    Network,
    NetworkForward,
    Profile,
    Snapshot,
    StoragePool,
    StorageVolume,
    StorageVolumeSnapshot,
)
from pylxd.models import _model as model
from pylxd.testing import FakeLXD
from pylxd.testing._fake_cluster import add_cluster_member
from pylxd.tests._certs import make_cert
from pylxd.tests.test_image import tarball
from pylxd.tests.test_instance import seeded

IMAGE = {"type": "image", "alias": "busybox"}
NO_ADDRESSES = {"ipv4.address": "none", "ipv6.address": "none"}


@pytest.fixture
def fake() -> FakeLXD:
    """A fake LXD 5.0.2 with a busybox image and a root disk."""
    return seeded()


def with_extension(name: str, **kwargs: Any) -> FakeLXD:
    fake = seeded(**kwargs)
    fake.extensions.append(name)
    return fake


def failing_async_reply(fake: FakeLXD, method: str) -> None:
    """Answer the next ``method`` request with an operation that failed."""
    op = fake.operation("Updating", err="the operation failed")
    fake.reply_next(fake.async_reply(op), method=method)


# -- row 14: __eq__ without I/O ------------------------------------------------
def test_eq_compares_identity_without_requests(client: Client, lxd: FakeLXD) -> None:
    client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    pool = client.storage_pools.create({"name": "p1", "driver": "dir"})
    volume = pool.volumes.create({"name": "v1"})
    lxd.requests.clear()
    a, b = Instance(client, name="c1"), Instance(client, name="c1")
    assert a == b and a == Container(client, name="c1")  # pylxd: same family
    assert a != Instance(client, name="c2")
    assert Instance(client, name="c1", project="p") != a
    assert Image(client, fingerprint="f", project="x") != Image(client, fingerprint="f")
    assert Network(client, name="n", project="a") != Network(client, name="n")
    assert Profile(client, name="p", description="x") == Profile(client, name="p")
    assert Snapshot(client, instance=a, name="s") == Snapshot(
        client, instance=b, name="s"
    )
    assert Snapshot(client, instance=a, name="s") != Snapshot(
        client, instance=Instance(client, name="c2"), name="s"
    )
    other_pool = StoragePool(client, name="p2")
    same = StorageVolume(client, storage_pool=pool, type="custom", name="v1")
    assert volume == StorageVolume(
        client, storage_pool=pool, type="custom", name="v1", project=volume.project
    )
    assert same != StorageVolume(
        client, storage_pool=other_pool, type="custom", name="v1"
    )
    assert same != StorageVolume(client, storage_pool=pool, type="image", name="v1")
    twin = StorageVolume(client, storage_pool=pool, type="custom", name="v1")
    assert StorageVolumeSnapshot(client, volume=same, name="s") == (
        StorageVolumeSnapshot(client, volume=twin, name="s")
    )
    assert Cluster(client, server_name="a") != Cluster(client, server_name="b")
    # A foreign type: NotImplemented, so mock.ANY and other types work.
    assert a.__eq__(1) is NotImplemented and a == mock.ANY and a != "c1"
    assert lxd.requests == []


def test_a_local_edit_does_not_change_equality(client: Client) -> None:
    profile = client.profiles.get("default")
    edited = client.profiles.get("default")
    edited.description = "changed"
    assert profile == edited


# -- row 15: forced waits under storage_and_network_operations -----------------
def test_put_and_patch_wait_under_storage_and_network_operations() -> None:
    fake = with_extension("storage_and_network_operations")
    profile = fake.client().profiles.get("default")
    failing_async_reply(fake, "PUT")
    with pytest.raises(exceptions.LXDAPIException, match="the operation failed"):
        profile.put({"config": {}})  # wait=False, as pylxd forces it
    failing_async_reply(fake, "PATCH")
    with pytest.raises(exceptions.LXDAPIException, match="the operation failed"):
        profile.patch({"config": {}})


def test_put_does_not_wait_without_the_extension(client: Client, lxd: FakeLXD) -> None:
    profile = client.profiles.get("default")
    failing_async_reply(lxd, "PUT")
    profile.put({"config": {}})  # not waited: the failure is not seen
    assert not [r for r in lxd.requests if r.path.endswith("/wait")]


def test_network_changes_wait_under_storage_and_network_operations() -> None:
    fake = with_extension("storage_and_network_operations")
    client = fake.client()
    network = client.networks.create("br1", config=NO_ADDRESSES, wait=False)
    failing_async_reply(fake, "PUT")
    with pytest.raises(exceptions.LXDAPIException, match="the operation failed"):
        network.save(wait=False)
    failing_async_reply(fake, "DELETE")
    with pytest.raises(exceptions.LXDAPIException, match="the operation failed"):
        network.delete(wait=False)


# -- row 16: AttributeDict -----------------------------------------------------
def test_state_iterates_items_and_fills_dict(client: Client) -> None:
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    instance.start(wait=True)
    state = instance.state()
    pairs = dict(iter(state))
    assert pairs["status"] == "Running" and vars(state)["status"] == "Running"
    assert all(isinstance(item, tuple) and len(item) == 2 for item in state)
    assert state["status"] == state.status == "Running"
    assert list(state.network) == list(state["network"].keys())  # nested: keys
    network_state = client.networks.get("lxdbr0").state()
    assert dict(network_state)["type"] == network_state.type


# -- row 17: MISSING -----------------------------------------------------------
def test_unsent_attributes_read_missing_and_are_not_saved(
    client: Client, lxd: FakeLXD
) -> None:
    client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    del lxd.store("instances")["c1"]["description"]
    instance = client.instances.get("c1")
    assert instance.description is model.MISSING and not instance.description
    instance.save(wait=True)
    assert "description" not in lxd.last_body("PUT", "/1.0/instances/c1")


# -- rows 18-20: certificates --------------------------------------------------
def test_certificate_create_secret_is_positional_7() -> None:
    cert_pem = make_cert()[0]
    fake = with_extension("explicit_trust_token", trusted=False)
    client = fake.client()
    with pytest.raises(exceptions.LXDAPIException):
        Certificate.create(client, "", cert_pem, "client", "n", None, False, "tok")
    body = fake.last_body("POST", "/1.0/certificates")
    assert body["trust_token"] == "tok" and "password" not in body


def test_certificate_get_fingerprint_and_token_name_default(
    client: Client, lxd: FakeLXD
) -> None:
    token = client.certificates.create_token()
    assert isinstance(token, str)
    assert lxd.last_body("POST", "/1.0/certificates")["name"] == ""
    made = client.certificates.create("", make_cert()[0])
    assert client.certificates.get(fingerprint=made.fingerprint) == made


# -- rows 21-24: cluster -------------------------------------------------------
def test_cluster_enable_on_the_class_and_the_manager() -> None:
    for call in (
        lambda c: Cluster.enable(c, "node1"),
        lambda c: c.cluster.enable("node1"),
    ):
        fake = FakeLXD()
        fake.config["core.https_address"] = "127.0.0.1:8443"
        client = fake.client()
        assert call(client) is None
        assert fake.last_body("PUT", "/1.0/cluster") == {
            "server_name": "node1",
            "enabled": True,
        }
        assert client.cluster.get().enabled is True


def test_cluster_enable_needs_clustering_join() -> None:
    client = FakeLXD(extensions=["clustering"]).client()
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable):
        Cluster.enable(client, "node1")


def test_cluster_get_asserts_clustering() -> None:
    client = FakeLXD(extensions=[]).client()
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable):
        client.cluster.get()


def test_member_delete_true_waits_and_does_not_force() -> None:
    fake = FakeLXD(clustered=True)
    add_cluster_member(fake, "c2", roles=["database-standby"])
    client = fake.client()
    member = client.cluster.members.get(server_name="c2")
    member.delete(True)
    assert fake.last("DELETE", "/1.0/cluster/members/c2").query == {}
    assert [m.server_name for m in client.cluster.members.all()] == ["fake"]


# -- row 27: Image.create(vm=True) ---------------------------------------------
def test_image_create_vm_names_the_part_rootfs_img(
    client: Client, lxd: FakeLXD
) -> None:
    image = client.images.create(b"qcow2" * 100, tarball(os="vm"), False, True, True)
    body = lxd.last("POST", "/1.0/images").body
    assert b'name="rootfs.img"' in body and b'name="rootfs";' not in body
    assert image.type == "virtual-machine"
    container = client.images.create(b"squashfs" * 10, metadata=tarball(os="c"))
    assert b'name="rootfs";' in lxd.last("POST", "/1.0/images").body
    assert container.type == "container"


# -- rows 28, 44, 55: declared attributes --------------------------------------
@pytest.mark.parametrize(
    "cls, name", [(Image, "project"), (Network, "project"), (StorageVolume, "pool")]
)
def test_declared_attributes(cls: type, name: str) -> None:
    assert cls.__attributes__[name].readonly  # type: ignore[attr-defined]


# -- row 30: publish order -----------------------------------------------------
def test_publish_third_argument_is_the_compression(
    client: Client, lxd: FakeLXD
) -> None:
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    instance.publish(False, True, "xz")
    body = lxd.last_body("POST", "/1.0/images")
    assert body["compression_algorithm"] == "xz" and "aliases" not in body
    instance.publish(wait=True, aliases=["a1"], properties={"k": "v"})
    body = lxd.last_body("POST", "/1.0/images")
    assert (body["aliases"], body["properties"]) == ([{"name": "a1"}], {"k": "v"})


# -- row 31: stateful restores -------------------------------------------------
def test_stateful_restores_are_sent(client: Client, lxd: FakeLXD) -> None:
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    instance.snapshots.create("s1", wait=True)
    instance.restore_snapshot("s1", True, True)
    assert lxd.last_body("PUT", "/1.0/instances/c1") == {
        "restore": "s1",
        "stateful": True,
    }
    snapshot = instance.snapshots.get("s1")
    object.__setattr__(snapshot, "stateful", True)  # no CRIU: as LXD reports one
    snapshot.restore(wait=True)
    assert lxd.last_body("PUT", "/1.0/instances/c1")["stateful"] is True


# -- row 32: location ----------------------------------------------------------
def test_location_is_none_off_a_cluster_and_kept_on_one(client: Client) -> None:
    client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    assert client.instances.get("c1").location is None
    clustered = seeded(clustered=True).client()
    clustered.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    assert clustered.instances.get("c1").location == "fake"


# -- row 35: Container.create keeps the type -----------------------------------
def test_container_create_keeps_a_callers_type(client: Client, lxd: FakeLXD) -> None:
    client.containers.create(
        {"name": "v1", "source": IMAGE, "type": "virtual-machine"}, wait=True
    )
    assert lxd.last_body("POST", "/1.0/instances")["type"] == "virtual-machine"


# -- rows 37-39: early refusals are LXDAPIExceptions ---------------------------
@pytest.mark.parametrize(
    "call, kind",
    [
        (lambda c: c.instances.create({"name": "c1"}), ValueError),
        (
            lambda c: c.instances.create({"name": "bad name", "source": IMAGE}),
            ValueError,
        ),
        (
            lambda c: c.profiles.get("default") and c.instances.all(recursion=5),
            ValueError,
        ),
        (lambda c: c.networks.create("n1", config={"mtu": 1500}), TypeError),
        (lambda c: c.cluster.certificate.put("not pem", "not pem"), ValueError),
    ],
    ids=["no source", "bad name", "recursion", "config value", "not PEM"],
)
def test_early_refusals_are_lxd_api_exceptions(
    client: Client, lxd: FakeLXD, call: Any, kind: type
) -> None:
    start = len(lxd.calls("POST")) + len(lxd.calls("PUT"))
    with pytest.raises(exceptions.LXDAPIException) as caught:
        call(client)
    assert isinstance(caught.value, kind)
    assert len(lxd.calls("POST")) + len(lxd.calls("PUT")) == start


def test_exec_ids_refusal_is_an_lxd_api_exception(client: Client) -> None:
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    with pytest.raises(exceptions.InvalidArgumentType, match="numeric id"):
        instance.execute(["true"], user="root")  # type: ignore[arg-type]


def test_snapshot_name_refusal_is_an_lxd_api_exception(client: Client) -> None:
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    with pytest.raises(
        exceptions.InvalidArgument, match="Snapshot name .a/b. is not allowed"
    ):
        instance.snapshots.create("a/b")


# -- rows 43, 50, 52, 54: wait= accepted ---------------------------------------
def test_wait_variants_are_accepted(client: Client, lxd: FakeLXD) -> None:
    profile = client.profiles.create("web", None, None, "d", True)
    profile = profile.rename("web2", True)
    assert profile.name == "web2" and not client.profiles.exists("web")
    pool = client.storage_pools.create({"name": "p1", "driver": "dir"}, wait=False)
    volume = pool.volumes.create({"name": "v1"})
    snap = volume.snapshots.create("s1", None, False)
    assert snap.name == "s1" and snap.description == ""
    snap.rename("s2", wait=False)
    assert volume.snapshots.all() == ["s2"]
    network = client.networks.create("br1", None, None, NO_ADDRESSES, True)
    network = network.rename("br2", wait=False)
    assert network.name == "br2"
    network.delete()
    volume.delete()
    pool.delete(wait=True)
    assert not client.storage_pools.exists("p1")


# -- rows 45-47: network forwards ----------------------------------------------
def test_network_forward_create_with_a_dict_and_get_keywords(client: Client) -> None:
    network = client.networks.create(
        "br1", config={"ipv4.address": "192.0.2.1/24", "ipv6.address": "none"}
    )
    config = {"listen_address": "192.0.2.10", "config": {"target_address": "192.0.2.2"}}
    forward = NetworkForward.create(client, network, config)
    assert forward.listen_address == "192.0.2.10"
    got = NetworkForward.get(client, network=network, listen_address="192.0.2.10")
    assert got.config == {"target_address": "192.0.2.2"}
    assert repr(got) == (
        'NetworkForward(config={"target_address": "192.0.2.2"}, description="", '
        'listen_address="192.0.2.10")'
    )
    assert '"listen_address": "192.0.2.10"' in str(got)
    with pytest.raises(exceptions.InvalidArgumentType, match="definition dict"):
        NetworkForward.create(client, network, config, "extra")


# -- rows 53, 56: volume snapshots ---------------------------------------------
def test_volume_snapshot_values_are_normalised(client: Client) -> None:
    pool = client.storage_pools.create({"name": "p1", "driver": "dir"})
    volume = pool.volumes.create({"name": "v1"})
    snap = volume.snapshots.create("s1")
    assert snap.expires_at is None  # LXD's zero time
    assert snap.content_type == volume.content_type
    (loaded,) = volume.snapshots.all(use_recursion=True)
    assert isinstance(loaded, StorageVolumeSnapshot) and loaded.expires_at is None


# -- row 57: Operation.wait() --------------------------------------------------
def test_operation_wait_returns_the_operation(client: Client, lxd: FakeLXD) -> None:
    op = lxd.operation("Doing")
    operation = client.operations.get(op.id)
    assert operation.wait() is operation and operation.wait()


def test_image_create_with_a_file_object_and_vm(client: Client, lxd: FakeLXD) -> None:
    Image.create(client, io.BytesIO(b"disk" * 50), io.BytesIO(tarball()), vm=True)
    assert b'name="rootfs.img"' in lxd.last("POST", "/1.0/images").body

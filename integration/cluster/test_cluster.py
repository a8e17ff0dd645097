"""The cluster API against a real two-member cluster on loopback (LXD 5.0.2, Incus 6.0)."""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import ipaddress
import json
import ssl
import uuid
from pathlib import Path
from typing import Any

import pytest

from integration.cluster.conftest import ON_INCUS, trust_secret
from pylxd import Client, exceptions
from pylxd.models.cluster import ClusterJoinToken

pytestmark = pytest.mark.cluster
WAIT = 120  # seconds any operation may take at most


def unique_name(prefix: str = "pylxd-it") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _fingerprint(pem: str) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def _presented(address: str) -> str:
    """The fingerprint of the certificate served at ``https://address``."""
    host, _, port = address.rpartition(":")
    return _fingerprint(ssl.get_server_certificate((host, int(port)), timeout=10))


# -- the cluster and its members ---------------------------------------------------
def test_cluster_get(c1: Client) -> None:
    cluster = c1.cluster.get()
    assert (cluster.server_name, cluster.enabled) == ("c1", True)
    assert {
        "entity": "storage-pool",
        "name": "default",
        "key": "source",
        "value": "",
        "description": '"source" property for storage pool "default"',
    } in cluster.member_config
    assert c1.server_clustered


def test_members_all_and_get(c1: Client, cluster_env: dict[str, Any]) -> None:
    members = {m.server_name: m for m in c1.cluster.get().members.all()}
    assert sorted(members) == ["c1", "c2"]
    c2 = members["c2"]
    assert (c2.url, c2.status, c2.message) == (
        cluster_env["members"]["c2"]["https"],
        "Online",
        "Fully operational",
    )
    assert c2.database is True
    assert c2.architecture == "x86_64"
    assert (c2.failure_domain, c2.groups, c2.config) == ("default", ["default"], {})
    assert isinstance(c2.description, str)
    assert "database-leader" in members["c1"].roles
    got = c1.cluster.members.get("c2")
    assert (got.server_name, got.url, got.roles) == ("c2", c2.url, c2.roles)
    with pytest.raises(exceptions.NotFound, match="Cluster member not found"):
        c1.cluster.members.get(unique_name())


def test_any_member_answers_for_the_cluster(c1: Client, c2: Client) -> None:
    assert c2.cluster.get().server_name == "c2"
    assert sorted(m.server_name for m in c2.cluster.members.all()) == ["c1", "c2"]


def test_https_pins_the_cluster_certificate(
    cluster_env: dict[str, Any], lxd_env: dict[str, Any]
) -> None:
    cert = (lxd_env["client_cert"], lxd_env["client_key"])
    url = cluster_env["members"]["c2"]["https"]
    https = Client(endpoint=url, cert=cert, verify=cluster_env["cluster_cert"])
    if not https.trusted:
        https.authenticate(trust_secret(cluster_env["members"], "c1"))
    assert https.trusted
    assert sorted(m.server_name for m in https.cluster.members.all()) == ["c1", "c2"]
    own_cert = str(Path(cluster_env["members"]["c2"]["lxd_dir"]) / "server.crt")
    with pytest.raises(exceptions.ClientConnectionFailed):
        Client(endpoint=url, cert=cert, verify=own_cert)


def test_member_save(c1: Client) -> None:
    member = c1.cluster.members.get("c2")
    before = (member.description, member.failure_domain, dict(member.config))
    try:
        member.description = "second member"
        member.failure_domain = "rack2"
        member.config["scheduler.instance"] = "manual"
        member.save()
        again = c1.cluster.members.get("c2")
        assert (again.description, again.failure_domain, again.config) == (
            "second member",
            "rack2",
            {"scheduler.instance": "manual"},
        )
    finally:
        member.description, member.failure_domain, member.config = before
        member.save()
    assert c1.cluster.members.get("c2").failure_domain == before[1]


def test_member_save_errors_are_lxds(c1: Client) -> None:
    member = c1.cluster.members.get("c2")
    member.groups = []
    with pytest.raises(exceptions.LXDAPIException, match="at least one group"):
        member.save()


def test_member_rename_and_back(
    c1: Client, c2: Client, cluster_env: dict[str, Any]
) -> None:
    member = c1.cluster.members.get("c2")
    new_name = unique_name("c2")
    renamed = member.rename(new_name)
    try:
        assert renamed.server_name == new_name
        assert renamed.url == cluster_env["members"]["c2"]["https"]
        names = sorted(m.server_name for m in c1.cluster.members.all())
        assert names == sorted(["c1", new_name])
        with pytest.raises(exceptions.Conflict):
            renamed.rename("c1")
    finally:
        back = c1.cluster.members.get(new_name).rename("c2")
    assert back.server_name == "c2"
    assert c2.cluster.members.get("c2").status == "Online"


# -- join tokens -------------------------------------------------------------------
def test_join_token_fields_list_and_revoke(
    c1: Client, cluster_env: dict[str, Any]
) -> None:
    name = unique_name("c3")
    token = c1.cluster.members.create_token(name)
    try:
        cluster_pem = Path(cluster_env["cluster_cert"]).read_text()
        assert token.server_name == name
        assert token.fingerprint == _fingerprint(cluster_pem)
        members = cluster_env["members"]
        assert sorted(token.addresses) == [
            members["c1"]["address"],
            members["c2"]["address"],
        ]
        assert len(token.secret) == 64
        expires = datetime.datetime.fromisoformat(token.expires_at[:26] + "+00:00")
        assert expires > datetime.datetime.now(datetime.timezone.utc)
        fields = json.loads(base64.b64decode(str(token)))
        assert fields == {
            "server_name": name,
            "fingerprint": token.fingerprint,
            "addresses": token.addresses,
            "secret": token.secret,
            "expires_at": token.expires_at,
        }
        assert ClusterJoinToken.decode(str(token)) == token
        assert token.fetch_certificate() == token.fetch_certificate(
            members["c2"]["address"]
        )
        assert token in c1.cluster.members.tokens()
    finally:
        token.revoke()
    assert token not in c1.cluster.members.tokens()
    with pytest.raises(exceptions.LXDAPIException, match="Only running operations"):
        token.revoke()


# -- groups ------------------------------------------------------------------------
def test_groups_create_save_rename_delete_and_membership(c1: Client) -> None:
    name = unique_name("grp")
    group = c1.cluster.groups.create(name, description="fast", members=["c2"])
    current = name
    try:
        assert (group.name, group.description, group.members) == (
            name,
            "fast",
            ["c2"],
        )
        assert name in [g.name for g in c1.cluster.groups.all()]
        assert c1.cluster.members.get("c2").groups == ["default", name]
        c1_member = c1.cluster.members.get("c1")
        c1_member.groups = ["default", name]
        c1_member.save()
        assert sorted(c1.cluster.groups.get(name).members) == ["c1", "c2"]
        group.description = "slow"
        group.members = []
        group.save()
        assert c1.cluster.members.get("c1").groups == ["default"]
        current = unique_name("grp")
        renamed = group.rename(current)
        assert (renamed.name, renamed.description) == (current, "slow")
        with pytest.raises(exceptions.NotFound):
            c1.cluster.groups.get(name)
        # Incus 6.0 answers with its database's error, LXD with its own
        taken = "UNIQUE constraint failed" if ON_INCUS else "already exists"
        with pytest.raises(exceptions.LXDAPIException, match=taken):
            c1.cluster.groups.create(current)
        default = c1.cluster.groups.get("default")
        assert sorted(default.members) == ["c1", "c2"]
        with pytest.raises(exceptions.Forbidden):
            default.delete()
    finally:
        leftover = c1.cluster.groups.get(current)
        leftover.members = []
        leftover.save()
        leftover.delete()
    assert not c1.cluster.groups.exists(current)


# -- target= -----------------------------------------------------------------------
def test_instance_created_on_a_member_and_moved(c1: Client, make_instance: Any) -> None:
    instance = make_instance(target="c2")
    assert instance.location == "c2"
    op = c1.cluster.members.get("c1").move_instance(instance, wait=True, timeout=WAIT)
    assert op.status == "Success"
    assert instance.location == "c1"
    c1.cluster.members.get("c2").move_instance(instance.name, wait=True, timeout=WAIT)
    assert c1.instances.get(instance.name).location == "c2"


def test_evacuate_and_restore_a_member(c1: Client, make_instance: Any) -> None:
    instance = make_instance(target="c2")
    instance.start(wait=True)
    member = c1.cluster.members.get("c2")
    try:
        op = member.evacuate(wait=True, timeout=WAIT)
        assert (op.status, op.description) == ("Success", "Evacuating cluster member")
        assert (member.status, member.message) == (
            "Evacuated",
            "Unavailable due to maintenance",
        )
        instance.sync()
        assert (instance.location, instance.status) == ("c1", "Running")
    finally:
        member.restore(wait=True, timeout=WAIT)
    assert member.status == "Online"
    instance.sync()
    assert (instance.location, instance.status) == ("c2", "Running")


def test_pool_config_and_volume_on_a_member(
    c1: Client, cluster_env: dict[str, Any]
) -> None:
    on_c2 = c1.cluster.members.get("c2").targeted_client()
    pool = on_c2.storage_pools.get("default")
    c2_dir = cluster_env["members"]["c2"]["lxd_dir"]
    assert pool.config["source"] == f"{c2_dir}/storage-pools/default"
    assert "source" not in c1.storage_pools.get("default").config
    name = unique_name("vol")
    volume = pool.volumes.create({"name": name, "type": "custom"})
    try:
        assert volume.location == "c2"
    finally:
        volume.delete()


def test_pool_created_member_by_member(c1: Client) -> None:
    name = unique_name("pool")
    members = c1.cluster.members.all()
    try:
        for member in members:
            pending = member.targeted_client().storage_pools.create(
                {"name": name, "driver": "dir"}
            )
            assert pending.status == "Pending"
        pool = c1.storage_pools.create({"name": name, "driver": "dir"})
        assert pool.status == "Created"
        assert sorted(pool.locations) == ["c1", "c2"]
    finally:
        with contextlib.suppress(exceptions.NotFound):
            c1.storage_pools.get(name).delete()


def test_network_pending_on_a_member(c1: Client) -> None:
    # A bridge cannot be created on both members here (one kernel, one name):
    # check the per-member (pending) step, then drop it.
    name = unique_name("n")[:15]
    on_c1 = c1.cluster.members.get("c1").targeted_client()
    network = on_c1.networks.create(name, type="bridge")
    try:
        assert network.status == "Pending"
        assert network.locations == ["c1"]
    finally:
        with contextlib.suppress(exceptions.NotFound):
            c1.networks.get(name).delete()


# -- the cluster certificate -----------------------------------------------------
def _new_certificate() -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP384R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pylxd-it")])
    now = datetime.datetime.now(datetime.timezone.utc)
    usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    # members reach each other on 127.0.0.1 and check the address
    names = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA384())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def test_cluster_certificate_update(
    c1: Client, c2: Client, cluster_env: dict[str, Any]
) -> None:
    c1_dir = Path(cluster_env["members"]["c1"]["lxd_dir"])
    c1_address = cluster_env["members"]["c1"]["address"]
    c2_address = cluster_env["members"]["c2"]["address"]
    old_cert = (c1_dir / "cluster.crt").read_text()
    old_key = (c1_dir / "cluster.key").read_text()
    new_cert, new_key = _new_certificate()
    try:
        c1.cluster.get().certificate.put(new_cert, new_key)
        assert _presented(c1_address) == _fingerprint(new_cert)
        assert _presented(c2_address) == _fingerprint(new_cert)
        # the members still talk to each other with it
        statuses = {m.server_name: m.status for m in c2.cluster.members.all()}
        assert statuses == {"c1": "Online", "c2": "Online"}
        with pytest.raises(ValueError):
            c1.cluster.certificate.put(new_cert, "not a key")
    finally:
        c1.cluster.certificate.put(old_cert, old_key)
    assert _presented(c2_address) == _fingerprint(old_cert)


# -- bootstrap, join and remove (spare daemons) --------------------------------------
def test_enable_join_and_remove_a_member(spare_daemons: list[Any]) -> None:
    first, second = spare_daemons
    founder = first.client()
    founder.api.patch(json={"config": {"core.https_address": first.address}})
    cluster = founder.cluster.get()
    assert (cluster.enabled, cluster.server_name) == (False, "")
    cluster.enable("s1", timeout=WAIT)
    assert (cluster.enabled, cluster.server_name) == (True, "s1")
    assert founder.refresh_host_info()["environment"]["server_clustered"]
    assert [m.url for m in founder.cluster.members.all()] == [
        f"https://{first.address}"
    ]

    token = founder.cluster.members.create_token("s2")
    joiner = second.client()
    joined = joiner.cluster.get().join(str(token), second.address, timeout=WAIT)
    assert (joined.enabled, joined.server_name) == (True, "s2")
    members = {m.server_name: m.status for m in founder.cluster.members.all()}
    assert members == {"s1": "Online", "s2": "Online"}
    assert token not in founder.cluster.members.tokens()

    founder.cluster.members.get("s2").delete()
    assert [m.server_name for m in founder.cluster.members.all()] == ["s1"]
    second.wait_ready()  # the removed member resets itself to standalone
    assert second.client().cluster.get().enabled is False


def test_enable_on_a_member_fails_with_lxds_message(c1: Client) -> None:
    with pytest.raises(
        exceptions.LXDAPIException, match="leftover cluster certificate"
    ):
        c1.cluster.get().enable(timeout=WAIT)

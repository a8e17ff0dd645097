"""Contract: file edge cases, conflicts, copies, certificates and volume snapshots."""

from __future__ import annotations

import datetime
from typing import Any, Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from integration.conftest import ON_INCUS, trust_secret
from integration.contract.conftest import said
from pylxd import Client, exceptions


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


def self_signed_pem(name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


# -- files -------------------------------------------------------------------
def test_file_defaults_and_directories(backend: Any) -> None:
    instance = backend.instance()
    instance.files.put("/root/plain", "text")
    info = instance.files.stat("/root/plain")
    assert (info.mode, info.uid, info.gid) == (0o644, 0, 0)
    instance.files.mk_dir("/root/dir", mode="0700")
    assert instance.files.stat("/root/dir").type == "directory"
    instance.files.put("/root/dir/a", b"1")
    instance.files.put("/root/dir/b", b"2")
    assert sorted(instance.files.listdir("/root/dir")) == ["a", "b"]
    instance.files.put("/root/plain", b"replaced")
    assert instance.files.get("/root/plain") == b"replaced"


def test_file_errors(backend: Any) -> None:
    instance = backend.instance()
    kind, _ = failure(lambda: instance.files.put("/no/such/dir/file", b"x"))
    assert kind == "FileNotFound"
    kind, _ = failure(lambda: instance.files.get("/root/missing"))
    assert kind == "FileNotFound"
    kind, _ = failure(lambda: instance.files.delete("/root/missing"))
    assert kind == "FileNotFound"


# -- instances ---------------------------------------------------------------
def test_local_copy(backend: Any) -> None:
    source = backend.instance()
    source.config["user.tag"] = "copied"
    source.save(wait=True)
    name = backend.name()
    backend.defer(lambda: backend.client.instances.get(name).delete(wait=True))
    copy = source.copy(backend.client, name, wait=True)
    assert copy.name == name
    assert copy.status == "Stopped"
    assert backend.client.instances.get(name).config["user.tag"] == "copied"


def test_snapshot_attributes_and_conflicts(backend: Any) -> None:
    instance = backend.instance()
    snapshot = instance.snapshots.create("s1", wait=True)
    again = instance.snapshots.get("s1")
    assert again.ephemeral is False
    assert again.profiles == ["default"]
    assert again.expires_at == "0001-01-01T00:00:00Z"
    kind, message = failure(lambda: instance.snapshots.create("s1", wait=True))
    assert (kind, message) == (
        "Conflict",
        'Failed creating instance snapshot record "s1": Add snapshot info to the '
        "database: "
        + said(
            'This "instances_snapshots" entry already exists',
            'Failed to create "instances_snapshots" entry: UNIQUE constraint '
            "failed: instances_snapshots.instance_id, instances_snapshots.name",
        ),
    )
    snapshot.delete(wait=True)


# -- networks ----------------------------------------------------------------
def test_network_conflicts(backend: Any) -> None:
    client = backend.client
    name = backend.name("ct")[:15]
    backend.defer(lambda: client.networks.get(name).delete())
    config = {"ipv4.address": "none", "ipv6.address": "none"}
    client.networks.create(name, type="bridge", config=config)
    kind, message = failure(
        lambda: client.networks.create(name, type="bridge", config=config)
    )
    assert (kind, message) == (
        "Conflict",
        said("The network already exists", f'Network "{name}" already exists'),
    )
    instance = backend.instance(
        devices={"eth0": {"type": "nic", "network": name, "name": "eth0"}}
    )
    assert client.networks.get(name).used_by == [f"/1.0/instances/{instance.name}"]
    kind, message = failure(lambda: client.networks.get(name).delete())
    assert kind == "LXDAPIException"
    assert message == "The network is currently in use"


# -- storage -----------------------------------------------------------------
def test_volume_conflict_and_snapshots(backend: Any) -> None:
    pool = backend.client.storage_pools.get("default")
    name = backend.name()
    backend.defer(lambda: pool.volumes.get("custom", name).delete())
    volume = pool.volumes.create({"name": name, "type": "custom"})
    kind, message = failure(
        lambda: pool.volumes.create({"name": name, "type": "custom"})
    )
    assert (kind, message) == ("Conflict", "Volume by that name already exists")
    snapshot = volume.snapshots.create("snap0")
    assert snapshot.name == "snap0"
    assert volume.snapshots.all() == ["snap0"]  # names, as in pylxd
    loaded = volume.snapshots.all(use_recursion=True)
    assert [s.name for s in loaded] == ["snap0"]
    snapshot.delete()
    assert volume.snapshots.all() == []


# -- certificates ------------------------------------------------------------
def test_certificate_add_and_remove(backend: Any) -> None:
    client = backend.client
    name = backend.name()
    pem = self_signed_pem(name)
    certificate = client.certificates.create("", pem, name=name)
    fingerprint = certificate.fingerprint
    backend.defer(lambda: client.certificates.get(fingerprint).delete())
    assert (certificate.name, certificate.type) == (name, "client")
    assert certificate.restricted is False
    assert certificate.projects == []
    assert len(certificate.fingerprint) == 64
    assert certificate.fingerprint in [c.fingerprint for c in client.certificates.all()]
    assert failure(lambda: client.certificates.create("", pem, name=name)) == (
        "Conflict",
        "Certificate already in trust store",
    )
    certificate.delete()
    assert failure(lambda: client.certificates.get(fingerprint)) == (
        "NotFound",
        "Certificate not found",
    )


# -- console -----------------------------------------------------------------
def test_console_log(backend: Any) -> None:
    instance = backend.instance()
    if ON_INCUS:  # Incus answers an empty log for an instance that never ran
        assert instance.api.console.get().content == b""
    else:
        assert failure(lambda: instance.api.console.get()) == (
            "LXDAPIException",
            f"open /var/lib/lxd/logs/{instance.name}/console.log: "
            "no such file or directory",
        )
    assert failure(lambda: instance.interactive_console()) == (
        "LXDAPIException",
        "Instance is not running",
    )
    instance.start(wait=True)
    instance.clear_console_log()
    assert isinstance(instance.console_log(), str)  # busybox may print already
    console = instance.interactive_console()
    console.close()


# -- an untrusted client -----------------------------------------------------
def untrusted(backend: Any, request: Any, tmp_path: Any) -> tuple[Any, bytes, str]:
    """A client whose certificate the server does not trust, its PEM and
    the secret that makes it trusted (the trust password; a token on Incus)."""
    if backend.kind == "fake":
        fake = request.getfixturevalue("make_fake")()
        secret = "pw"
        if ON_INCUS:  # no trust password: a token from a trusted client
            secret = fake.client().certificates.create_token(backend.name())
        else:
            fake.config["core.trust_password"] = secret
        fake.trusted = False
        return fake.client(), self_signed_pem("fake"), secret
    env = request.getfixturevalue("lxd_env")["main"]
    key = ec.generate_private_key(ec.SECP256R1())
    pem = self_signed_pem_for(key, backend.name())
    (tmp_path / "c.crt").write_bytes(pem)
    (tmp_path / "c.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files = (str(tmp_path / "c.crt"), str(tmp_path / "c.key"))
    client = Client(endpoint=env["https"], cert=files, verify=env["server_cert"])
    return client, pem, trust_secret(request.getfixturevalue("lxd_env"))


def self_signed_pem_for(key: Any, name: str) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


def test_untrusted_client(backend: Any, request: Any, tmp_path: Any) -> None:
    client, pem, password = untrusted(backend, request, tmp_path)
    assert client.trusted is False
    assert set(client.host_info) == {
        "api_extensions",
        "api_status",
        "api_version",
        "auth",
        "auth_methods",
        "public",
    } | (
        {"config"} if ON_INCUS else set()
    )  # Incus shows an empty config
    for call in (
        lambda: client.instances.all(),
        lambda: client.profiles.get("default"),
        lambda: client.api.networks.get(),
        lambda: client.api.operations.get(),
        lambda: client.profiles.create(backend.name()),
    ):
        assert failure(call) == ("Forbidden", "not authorized")
    assert client.api.images.get().json()["metadata"] == []  # no public image
    assert failure(lambda: client.images.get_by_alias("busybox")) == (
        "NotFound",
        "Image alias not found",
    )
    with pytest.raises(exceptions.LXDAPIException):
        client.certificates.create("wrong", pem)
    certificate = client.certificates.create(password, pem, name=backend.name())
    fingerprint = certificate.fingerprint
    backend.defer(lambda: backend.client.certificates.get(fingerprint).delete())
    client.refresh_host_info()
    assert client.trusted is True

"""Certificates and the HTTPS trust flow against a real LXD.

Each test makes a fresh client certificate; the fixture removes it from the
main daemon's trust store afterwards (through the local socket), whatever
happened.
"""

from __future__ import annotations

import contextlib
import hashlib
import ssl
from pathlib import Path
from typing import Any, Iterator

import pytest

from integration.conftest import skip_on_incus, skip_on_lxd, unique_name
from pylxd import Client, exceptions
from pylxd.models.certificate import TrustRefused
from pylxd.tests._certs import make_cert


class FreshCert:
    """A new certificate on disk, its fingerprint, and an HTTPS client for it."""

    def __init__(self, lxd_env: dict[str, Any], tmp_path: Path) -> None:
        self.name = unique_name("pylxd-it-cert")
        cert, key = make_cert(self.name)
        self.pem = cert
        self.cert_file, self.key_file = tmp_path / "c.crt", tmp_path / "c.key"
        self.cert_file.write_bytes(cert)
        self.key_file.write_bytes(key)
        der = ssl.PEM_cert_to_DER_cert(cert.decode())
        self.fingerprint = hashlib.sha256(der).hexdigest()
        self._env = lxd_env["main"]

    def client(self) -> Client:
        return Client(
            endpoint=self._env["https"],
            cert=(str(self.cert_file), str(self.key_file)),
            verify=self._env["server_cert"],
        )


@pytest.fixture
def fresh(
    client: Client, lxd_env: dict[str, Any], tmp_path: Path
) -> Iterator[FreshCert]:
    made = FreshCert(lxd_env, tmp_path)
    yield made
    with contextlib.suppress(exceptions.NotFound):
        client.api.certificates[made.fingerprint].delete()


NO_PASSWORD = "core.trust_password (Incus trusts new clients by token only)"


@skip_on_incus(NO_PASSWORD)
def test_trust_with_the_password(
    client: Client, fresh: FreshCert, lxd_env: dict[str, Any]
) -> None:
    https = fresh.client()
    assert https.trusted is False
    https.authenticate(lxd_env["main"]["trust_password"])
    assert https.trusted is True
    assert https.profiles.exists("default")
    cert = client.certificates.get(fresh.fingerprint)
    assert (cert.type, cert.restricted) == ("client", False)


@skip_on_incus(NO_PASSWORD)
def test_wrong_password_is_refused(fresh: FreshCert) -> None:
    https = fresh.client()
    with pytest.raises(TrustRefused, match="refused to trust") as err:
        https.authenticate("not-the-password")
    assert isinstance(err.value, exceptions.Forbidden)
    assert https.trusted is False
    with pytest.raises(exceptions.LXDAPIException):
        https.profiles.all()


@skip_on_lxd("it has core.trust_password, so a password is sent to it")
def test_a_password_for_incus_is_refused_before_sending(
    client: Client, fresh: FreshCert, lxd_env: dict[str, Any]
) -> None:
    https = fresh.client()
    assert https.is_incus is True  # told from the API extensions, untrusted
    before = {cert.fingerprint for cert in client.certificates.all()}
    with pytest.raises(exceptions.InvalidArgument) as err:
        https.authenticate("any-password")
    assert "Incus at " + lxd_env["main"]["https"] in str(err.value)
    assert "no trust password" in str(err.value) and "token" in str(err.value)
    assert isinstance(err.value, ValueError)
    assert https.trusted is False
    assert {cert.fingerprint for cert in client.certificates.all()} == before
    https.authenticate(client.certificates.create_token(fresh.name))
    assert https.trusted is True


def test_trust_with_a_token(client: Client, fresh: FreshCert) -> None:
    token = client.certificates.create_token(fresh.name)
    https = fresh.client()
    assert https.trusted is False
    https.authenticate(token)
    assert https.trusted is True
    assert client.certificates.get(fresh.fingerprint).name == fresh.name


def test_a_token_is_single_use(
    client: Client, fresh: FreshCert, lxd_env: dict[str, Any], tmp_path: Path
) -> None:
    token = client.certificates.create_token(fresh.name)
    fresh.client().authenticate(token)
    (tmp_path / "other").mkdir()
    other = FreshCert(lxd_env, tmp_path / "other")
    try:
        https = other.client()
        with pytest.raises(TrustRefused):
            https.authenticate(token)
        assert https.trusted is False
    finally:
        with contextlib.suppress(exceptions.NotFound):
            client.api.certificates[other.fingerprint].delete()


def test_restricted_token_limits_the_client(client: Client, fresh: FreshCert) -> None:
    project = unique_name("pylxd-it-proj")
    client.projects.create(project)
    try:
        token = client.certificates.create_token(
            fresh.name, projects=[project], restricted=True
        )
        https = fresh.client()
        https.authenticate(token)
        cert = client.certificates.get(fresh.fingerprint)
        assert (cert.restricted, cert.projects) == (True, [project])
        with pytest.raises(exceptions.LXDAPIException):
            https.profiles.all()  # the default project is not allowed
        assert https.with_project(project).profiles.exists("default")
    finally:
        with contextlib.suppress(exceptions.NotFound):
            client.api.certificates[fresh.fingerprint].delete()
        client.projects.get(project).delete()


def test_add_read_save_delete(client: Client, fresh: FreshCert) -> None:
    created = client.certificates.create("", fresh.pem, name=fresh.name)
    assert created.fingerprint == fresh.fingerprint
    assert created.certificate.startswith("-----BEGIN CERTIFICATE-----")
    assert ssl.PEM_cert_to_DER_cert(created.certificate) == ssl.PEM_cert_to_DER_cert(
        fresh.pem.decode()
    )
    assert (created.name, created.type, created.restricted, created.projects) == (
        fresh.name,
        "client",
        False,
        [],
    )
    assert fresh.fingerprint in [c.fingerprint for c in client.certificates.all()]
    created.name = fresh.name + "-renamed"
    created.restricted = True
    created.projects = ["default"]
    created.save()
    again = client.certificates.get(fresh.fingerprint)
    assert (again.name, again.restricted, again.projects) == (
        fresh.name + "-renamed",
        True,
        ["default"],
    )
    again.delete()
    with pytest.raises(exceptions.NotFound, match="Certificate not found"):
        client.certificates.get(fresh.fingerprint)


def test_adding_twice_fails(client: Client, fresh: FreshCert) -> None:
    client.certificates.create("", fresh.pem, name=fresh.name)
    with pytest.raises(exceptions.LXDAPIException, match="(?i)already"):
        client.certificates.create("", fresh.pem, name=fresh.name)


def test_certificate_works_over_https_for_a_trusted_client(
    https_client: Client, fresh: FreshCert
) -> None:
    created = https_client.certificates.create("", fresh.pem, name=fresh.name)
    assert created.fingerprint == fresh.fingerprint
    assert fresh.client().trusted is True

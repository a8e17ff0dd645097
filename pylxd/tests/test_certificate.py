"""Unit tests of certificates and the trust flow against the fake LXD."""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
from typing import Any

import pytest

from pylxd import Client, exceptions
from pylxd.models.certificate import Certificate, TrustRefused
from pylxd.testing import FakeLXD
from pylxd.testing._extensions import LXD_5_0_2_EXTENSIONS
from pylxd.tests._certs import make_cert


@pytest.fixture(scope="module")
def cert_pem() -> bytes:
    return make_cert()[0]


def der_of(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode())


def client_with_cert(lxd: FakeLXD, tmp_path: Any) -> Client:
    """A client of ``lxd`` that presents a fresh certificate, as over HTTPS."""
    cert, key = make_cert("new-client")
    (tmp_path / "c.crt").write_bytes(cert)
    (tmp_path / "c.key").write_bytes(key)
    session = lxd.session()
    session.cert = (str(tmp_path / "c.crt"), str(tmp_path / "c.key"))
    return Client(endpoint=lxd.base_url, session=session)


def test_create_by_a_trusted_client(
    client: Client, lxd: FakeLXD, cert_pem: bytes
) -> None:
    der = der_of(cert_pem)
    created = client.certificates.create("", cert_pem, name="ci", projects=["p"])
    assert lxd.last_body("POST", "/1.0/certificates") == {
        "type": "client",
        "certificate": base64.b64encode(der).decode(),
        "name": "ci",
        "restricted": False,
        "projects": ["p"],
    }
    assert created.fingerprint == hashlib.sha256(der).hexdigest()
    assert (created.type, created.name, created.projects) == ("client", "ci", ["p"])
    assert created.certificate == ssl.DER_cert_to_PEM_cert(der)
    assert created.restricted is False


def test_create_accepts_str_pem_and_der(client: Client, cert_pem: bytes) -> None:
    der = der_of(cert_pem)
    assert client.certificates.create(None, der).fingerprint == (
        hashlib.sha256(der).hexdigest()
    )
    client.certificates.get(hashlib.sha256(der).hexdigest()).delete()
    noisy = "key stuff\n" + cert_pem.decode() + "trailing\n"
    assert client.certificates.create("", noisy).fingerprint == (
        hashlib.sha256(der).hexdigest()
    )


def test_create_rejects_what_is_not_a_certificate(client: Client, lxd: FakeLXD) -> None:
    with pytest.raises(ValueError, match="neither a PEM nor a DER certificate"):
        client.certificates.create("", b"hello")
    bad = b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"
    with pytest.raises(ValueError, match="not a valid PEM certificate"):
        client.certificates.create("", bad)
    with pytest.raises(TypeError, match="must be PEM or DER bytes, not int"):
        client.certificates.create("", 12)  # type: ignore[arg-type]
    assert not lxd.calls("POST")


def test_all_get_save_delete(client: Client, lxd: FakeLXD, cert_pem: bytes) -> None:
    created = client.certificates.create("", cert_pem, name="one")
    assert [c.fingerprint for c in client.certificates.all()] == [created.fingerprint]
    assert lxd.calls("GET", "/1.0/certificates")[-1].query == {"recursion": "1"}
    found = client.certificates.get(created.fingerprint[:16])
    found.name = "renamed"
    found.restricted = True
    found.projects = ["default"]
    found.save()
    assert lxd.last_body("PUT", f"/1.0/certificates/{created.fingerprint}") == {
        "certificate": created.certificate,
        "name": "renamed",
        "projects": ["default"],
        "restricted": True,
        "type": "client",
    }
    found.delete()
    with pytest.raises(exceptions.NotFound, match="Certificate not found"):
        client.certificates.get(created.fingerprint)


def test_authenticate_with_the_trust_password(lxd: FakeLXD, tmp_path: Any) -> None:
    lxd.config["core.trust_password"] = "s3cret"
    lxd.trusted = False
    new = client_with_cert(lxd, tmp_path)
    assert new.trusted is False
    new.authenticate("s3cret")
    assert new.trusted is True
    body = lxd.last_body("POST", "/1.0/certificates")
    assert (body["password"], body["type"]) == ("s3cret", "client")
    assert "trust_token" not in body


def test_wrong_password_is_a_clear_error(lxd: FakeLXD, tmp_path: Any) -> None:
    lxd.config["core.trust_password"] = "s3cret"
    lxd.trusted = False
    new = client_with_cert(lxd, tmp_path)
    with pytest.raises(TrustRefused, match="refused to trust .*not authorized") as err:
        new.authenticate("wrong")
    assert isinstance(err.value, exceptions.Forbidden)
    assert new.trusted is False


def test_create_token(client: Client, lxd: FakeLXD) -> None:
    token = client.certificates.create_token(
        "laptop", projects=["default"], restricted=True
    )
    assert lxd.last_body("POST", "/1.0/certificates") == {
        "name": "laptop",
        "type": "client",
        "token": True,
        "restricted": True,
        "projects": ["default"],
    }
    op = next(iter(lxd.operations.values()))
    decoded = json.loads(base64.b64decode(token))
    assert decoded == {
        "client_name": "laptop",
        "fingerprint": op.metadata["fingerprint"],
        "addresses": ["127.0.0.1:8443"],
        "secret": op.metadata["secret"],
        "expires_at": "0001-01-01T00:00:00Z",
    }
    assert list(decoded) == [
        "client_name",
        "fingerprint",
        "addresses",
        "secret",
        "expires_at",
    ]


def test_authenticate_with_a_token_on_lxd_5_0(
    client: Client, lxd: FakeLXD, tmp_path: Any
) -> None:
    token = client.certificates.create_token("laptop")
    lxd.trusted = False
    new = client_with_cert(lxd, tmp_path)
    new.authenticate(token)
    body = lxd.last_body("POST", "/1.0/certificates")
    assert body["password"] == token and "trust_token" not in body
    assert new.trusted is True
    assert [c.name for c in new.certificates.all()] == ["laptop"]
    lxd.trusted = False
    again = client_with_cert(lxd, tmp_path)
    with pytest.raises(TrustRefused):
        again.authenticate(token)  # single use
    assert again.trusted is False


def test_token_goes_in_trust_token_with_explicit_trust_token(
    tmp_path: Any,
) -> None:
    lxd = FakeLXD(extensions=[*LXD_5_0_2_EXTENSIONS, "explicit_trust_token"])
    token = lxd.client().certificates.create_token("laptop")
    lxd.trusted = False
    new = client_with_cert(lxd, tmp_path)
    new.authenticate(token)
    body = lxd.last_body("POST", "/1.0/certificates")
    assert body["trust_token"] == token and "password" not in body
    assert new.trusted is True


def test_token_auth_can_be_forced(lxd: FakeLXD, cert_pem: bytes) -> None:
    lxd.extensions.append("explicit_trust_token")
    client = lxd.client()
    client.certificates.create("plain-but-token", cert_pem, token_auth=True)
    assert lxd.last_body("POST", "/1.0/certificates")["trust_token"] == (
        "plain-but-token"
    )


def test_model_is_exported() -> None:
    from pylxd import models

    assert models.Certificate is Certificate

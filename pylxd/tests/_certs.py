"""Self-signed certificates for tests (unit and integration): one generator.

Uses ``cryptography`` (a test dependency; pylxd itself reads certificates
with the standard library).
"""

from __future__ import annotations

import datetime
import hashlib
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_cert(name: str = "pylxd-test", *, ca: bool = False) -> tuple[bytes, bytes]:
    """A fresh self-signed certificate and its key, both PEM.

    Valid from five minutes ago for two days (EC P-384, SHA-384).

    :param name: the subject's common name.
    :param ca: mark it a CA (``basicConstraints CA:TRUE``), for a CA bundle.
    :returns: ``(certificate_pem, key_pem)``.
    """
    key = ec.generate_private_key(ec.SECP384R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
    )
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    cert = builder.sign(key, hashes.SHA384())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_cert(
    directory: Path, name: str = "pylxd-test", *, ca: bool = False
) -> tuple[str, str]:
    """Write a fresh certificate and key as ``<name>.crt``/``<name>.key``.

    :returns: the two paths, as ``Client(cert=...)`` takes them.
    """
    cert_pem, key_pem = make_cert(name, ca=ca)
    crt, key = Path(directory) / f"{name}.crt", Path(directory) / f"{name}.key"
    crt.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    return str(crt), str(key)


def fingerprint(crt: str) -> str:
    """The SHA-256 fingerprint (hex) of the PEM certificate file ``crt``."""
    der = ssl.PEM_cert_to_DER_cert(Path(crt).read_text())
    return hashlib.sha256(der).hexdigest()

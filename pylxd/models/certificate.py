"""LXD trusted certificates: ``/1.0/certificates``, and trust tokens.

Certificates are read with the standard library (``ssl`` + ``hashlib``): no
``cryptography`` import is needed to add one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import ssl
from typing import TYPE_CHECKING, Any

from pylxd import exceptions
from pylxd._types import JSONDict
from pylxd.exceptions import TrustRefused
from pylxd.models import _model as model
from pylxd.models._mixins import CollectionMixin

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client

#: What LXD's Go code writes for a zero ``time.Time`` (a token without expiry).
_NO_EXPIRY = "0001-01-01T00:00:00Z"


class Certificate(CollectionMixin, model.Model):
    """A certificate LXD trusts, ``/1.0/certificates/<fingerprint>``.

    ``save()`` replaces ``certificate``, ``name``, ``type``, ``restricted``
    and ``projects`` (``PUT``).
    """

    _endpoint = "certificates"
    _key = "fingerprint"

    certificate = model.Attribute[str]()
    fingerprint = model.Attribute[str](readonly=True)
    name = model.Attribute[str]()
    projects = model.Attribute[list[str]]()
    restricted = model.Attribute[bool]()
    type = model.Attribute[str]()
    #: Incus 6.0 (API extension ``certificate_description``).
    description = model.Attribute[str](optional=True)

    @classmethod
    def create(
        cls,
        client: Client,
        password: str | None,
        cert_data: bytes | str,
        cert_type: str = "client",
        name: str = "",
        projects: list[str] | None = None,
        restricted: bool = False,
        secret: str = "",
        *,
        token_auth: bool | None = None,
    ) -> Certificate:
        """Add a certificate to the server's trust store and return it.

        Implements ``POST /1.0/certificates``. A trusted client adds any
        certificate (``password`` may be empty). An untrusted client adds its
        own with the trust password or a trust token: told apart
        automatically unless ``token_auth`` says which. A token goes in
        ``trust_token`` on servers with ``explicit_trust_token``, else in
        ``password`` (LXD 5.0).

        :param cert_data: the certificate, PEM (bytes or str) or DER bytes.
        :param secret: a trust token (pylxd's parameter): sent as
            ``trust_token`` on servers with ``explicit_trust_token``, else as
            ``password``; it wins over ``password``.
        :param token_auth: whether ``password`` is a token (default: told
            apart automatically).
        :raises ValueError: when ``cert_data`` is not a certificate.
        :raises TrustRefused: when the server refuses the password or token.
        """
        der = _der(cert_data)
        body: JSONDict = {
            "type": cert_type,
            "certificate": base64.b64encode(der).decode(),
            "name": name,
            "restricted": restricted,
            "projects": list(projects or []),
        }
        if secret:
            body[_secret_field(client, secret, True)] = secret
        elif password:
            body[_secret_field(client, password, token_auth)] = password
        try:
            cls._collection(client).post(json=body)
        except exceptions.Forbidden as err:
            if client.trusted:
                raise
            raise TrustRefused(err.response) from err
        return cls.get(client, hashlib.sha256(der).hexdigest())

    @classmethod
    def get(cls, client: Client, fingerprint: str) -> Certificate:
        """Return the trusted certificate with that fingerprint.

        Implements ``GET /1.0/certificates/<fingerprint>`` (a unique prefix
        is enough).

        :raises NotFound: when no trusted certificate has it.
        """
        return super().get(client, fingerprint)

    @classmethod
    def create_token(
        cls,
        client: Client,
        name: str = "",
        projects: list[str] | None = None,
        restricted: bool = False,
    ) -> str:
        """Create a one-time trust token for a new client and return it.

        Implements ``POST /1.0/certificates`` with ``"token": true``. The
        token (what ``lxc config trust add`` prints) is given to
        ``Client.authenticate`` on the new client; it is a pending operation
        on the server until used.
        """
        body = {
            "name": name,
            "type": "client",
            "token": True,
            "restricted": restricted,
            "projects": list(projects or []),
        }
        response = cls._collection(client).post(json=body)
        return _token_from_operation(exceptions.metadata_of(response), name)


def _der(cert_data: bytes | str) -> bytes:
    """The DER bytes of a PEM or DER certificate."""
    if isinstance(cert_data, str):
        cert_data = cert_data.encode()
    if not isinstance(cert_data, (bytes, bytearray)):
        raise exceptions.InvalidArgumentType(
            f"Certificate data must be PEM or DER bytes, not {type(cert_data).__name__}"
        )
    begin, end = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"
    if begin not in cert_data:
        if not _looks_like_der(cert_data):
            raise exceptions.InvalidArgument(
                "Certificate data is neither a PEM nor a DER certificate"
            )
        return bytes(cert_data)
    start = cert_data.index(begin)
    stop = cert_data.find(end, start)
    block = cert_data[start : stop + len(end)] if stop >= 0 else cert_data[start:]
    try:
        der = ssl.PEM_cert_to_DER_cert(block.decode("ascii"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as err:
        raise exceptions.InvalidArgument(
            f"Certificate data is not a valid PEM certificate: {err}"
        ) from err
    if not _looks_like_der(der):
        raise exceptions.InvalidArgument(
            "Certificate data is not a valid PEM certificate: bad base64"
        )
    return der


def _looks_like_der(data: bytes) -> bool:
    """A DER certificate is one ASN.1 SEQUENCE (tag 0x30) of some length."""
    return len(data) > 64 and data[0] == 0x30


def _secret_field(client: Client, secret: str, token_auth: bool | None) -> str:
    """``trust_token`` for a token on servers that take it, else ``password``.

    Incus has no trust password (its ``CertificatesPost`` has ``trust_token``
    only, without naming the ``explicit_trust_token`` extension): a password
    for it is refused here, before anything is sent.

    :raises InvalidArgument: for a password given to an Incus server.
    """
    if token_auth is None:
        from pylxd.client import _is_a_token

        token_auth = _is_a_token(secret)
    if client.is_incus:
        if not token_auth:
            raise exceptions.InvalidArgument(
                f"Incus at {client.api._describe()} has no trust password "
                "(core.trust_password), so a password is refused: authenticate "
                "with a trust token (incus config trust add <name>, or "
                "certificates.create_token)"
            )
        return "trust_token"
    if token_auth and client.has_api_extension("explicit_trust_token"):
        return "trust_token"
    return "password"


def _token_from_operation(operation: dict[str, Any], name: str) -> str:
    """Encode a token operation's metadata as LXD's clients do (base64 JSON)."""
    metadata = operation.get("metadata") or {}
    request = metadata.get("request") or {}
    token = {
        "client_name": request.get("name", name),
        "fingerprint": metadata["fingerprint"],
        "addresses": metadata.get("addresses") or [],
        "secret": metadata["secret"],
        "expires_at": metadata.get("expiresAt") or _NO_EXPIRY,
    }
    return base64.b64encode(json.dumps(token, separators=(",", ":")).encode()).decode()

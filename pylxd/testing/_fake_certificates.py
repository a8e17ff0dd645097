"""Fake LXD: the trust store (``/1.0/certificates``) and trust tokens.

An untrusted fake (``FakeLXD(trusted=False)``) accepts its
``config["core.trust_password"]`` or a token made by ``create_token`` (as
``trust_token``, or as LXD 5.0's ``password``; an Incus fake takes only
``trust_token``); once a certificate is added that way the fake trusts the
client, as LXD does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import ssl
from typing import Any

from pylxd.testing._fake import (
    FakeError,
    FakeLXD,
    FakeRequest,
    Reply,
    only,
    put_and_patch,
    route,
)
from pylxd.testing._fake_core import list_route

_FP = r"(?P<fp>[^/]+)"
_PUT_FIELDS = ("name", "type", "restricted", "projects")
_NOT_AUTHORIZED = "not authorized"


def _store(fake: FakeLXD) -> dict[str, Any]:
    return fake.store("certificates")


def _require_trust(fake: FakeLXD) -> None:
    if not fake.trusted:
        raise FakeError(403, _NOT_AUTHORIZED)


def _find(fake: FakeLXD, fp: str) -> dict[str, Any]:
    return only(_store(fake), fp, "Certificate not found")


def _decode_certificate(text: str) -> tuple[str, str]:
    """(fingerprint, PEM) of a base64 DER or PEM certificate, or LXD's 400."""
    try:
        if "-----BEGIN" in text:
            der = ssl.PEM_cert_to_DER_cert(text)
        else:
            der = base64.b64decode(text, validate=False)
    except (ValueError, binascii.Error):
        raise FakeError(400, "invalid certificate material") from None
    if not der.startswith(b"\x30"):
        raise FakeError(400, "invalid certificate material")
    return hashlib.sha256(der).hexdigest(), ssl.DER_cert_to_PEM_cert(der)


list_route("/1.0/certificates", "certificates", _require_trust, in_project=False)


@route("POST", r"/1.0/certificates")
def _certificate_add(fake: FakeLXD, request: FakeRequest) -> Reply:
    body = request.json or {}
    if body.get("token"):
        _require_trust(fake)
        return _make_token(fake, request, body)
    if not fake.trusted:
        _check_secret(fake, body)
    fingerprint, pem = _decode_certificate(str(body.get("certificate", "")))
    if fingerprint in _store(fake):
        raise FakeError(409, "Certificate already in trust store")
    _store(fake)[fingerprint] = {
        "fingerprint": fingerprint,
        "certificate": pem,
        "name": body.get("name", ""),
        "type": body.get("type") or "client",
        "restricted": bool(body.get("restricted", False)),
        "projects": list(body.get("projects") or []),
    }
    fake.trusted = True
    return fake.sync()


def _check_secret(fake: FakeLXD, body: dict[str, Any]) -> None:
    """Accept the trust password, or a pending token (then used up)."""
    secret = body.get("trust_token") or ""
    if fake.server != "incus":  # Incus has no password field (tokens only)
        secret = secret or body.get("password") or ""
    password = fake.config.get("core.trust_password")
    if password and secret == password:
        return
    try:
        token = json.loads(base64.b64decode(secret))
    except (ValueError, binascii.Error):
        raise FakeError(403, _NOT_AUTHORIZED) from None
    for op in fake.operations.values():
        if (
            op.op_class == "token"
            and op.status == "Running"
            and isinstance(op.metadata, dict)
            and op.metadata.get("secret") == token.get("secret")
            and "request" in op.metadata
        ):
            op.status = "Cancelled"  # single use; LXD applies the token's request
            for key in ("name", "restricted", "projects"):
                body[key] = op.metadata["request"][key]
            return
    raise FakeError(403, "No matching certificate add operation found")


def _make_token(fake: FakeLXD, request: FakeRequest, body: dict[str, Any]) -> Reply:
    metadata = {
        "addresses": ["127.0.0.1:8443"],
        "fingerprint": hashlib.sha256(b"fake server certificate").hexdigest(),
        "request": {
            "name": body.get("name", ""),
            "type": body.get("type", "client"),
            "restricted": bool(body.get("restricted", False)),
            "projects": list(body.get("projects") or []),
            "certificate": "",
            "password": "",
            "token": True,
        },
        "secret": secrets.token_hex(32),
    }
    op = fake.operation(
        "Executing operation", metadata=metadata, status="Running", op_class="token"
    )
    return fake.async_reply(op)


@route("GET", rf"/1.0/certificates/{_FP}")
def _certificate_get(fake: FakeLXD, request: FakeRequest, fp: str) -> Reply:
    _require_trust(fake)
    return fake.sync(_find(fake, fp))


@put_and_patch(rf"/1.0/certificates/{_FP}")
def _certificate_update(
    fake: FakeLXD, request: FakeRequest, fp: str, merge: bool
) -> Reply:
    _require_trust(fake)
    cert = _find(fake, fp)
    body = request.json or {}
    cert.update({k: body[k] for k in _PUT_FIELDS if k in body})
    if not merge:  # a PUT also resets the restrictions it leaves out
        cert["projects"] = list(body.get("projects") or [])
        cert["restricted"] = bool(body.get("restricted", False))
    return fake.empty()


@route("DELETE", rf"/1.0/certificates/{_FP}")
def _certificate_delete(fake: FakeLXD, request: FakeRequest, fp: str) -> Reply:
    _require_trust(fake)
    del _store(fake)[_find(fake, fp)["fingerprint"]]
    return fake.empty()

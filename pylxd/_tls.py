"""TLS: one decision for HTTP, websockets and upgrades.

:func:`tls_context` builds the ``SSLContext`` from ``verify``/``cert``
(fingerprint pinning included) for websockets and the SFTP upgrade;
:class:`LXDSSLAdapter` applies the same policy to HTTPS requests.
"""

from __future__ import annotations

import functools
import hashlib
import os
import ssl
from typing import Any, cast

import requests

from pylxd._http import _cause, _HTTPAdapter

_PEM_CERT = b"-----BEGIN CERTIFICATE-----"


@functools.lru_cache(maxsize=32)
def _pin_of_file(path: str, mtime_ns: int) -> str | None:
    with open(path, "rb") as handle:
        data = handle.read()
    if data.count(_PEM_CERT) != 1:
        return None  # none, or several: a CA bundle
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError:
        return None  # let the TLS library report what is wrong with it
    try:
        is_ca = certificate.extensions.get_extension_for_class(
            x509.BasicConstraints
        ).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    return None if is_ca else certificate.fingerprint(hashes.SHA256()).hex()


def pinned_fingerprint(verify: Any) -> str | None:
    """The SHA-256 fingerprint ``verify`` pins, or None when it is not a pin.

    A ``verify`` path holding exactly one certificate that is not a CA (such
    as LXD's ``server.crt`` or a ``servercerts/<remote>.crt``) pins that
    certificate, as pylxd 2.4.2's ``LXDSSLAdapter`` does: the server must
    present it, whatever address it is reached by, and the host name is not
    checked. Any other file (several certificates, or a CA certificate) or a
    directory is a CA bundle, verified with the host name as usual.
    """
    if isinstance(verify, bool) or not isinstance(verify, (str, os.PathLike)):
        return None
    path = os.fspath(verify)
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if not os.path.isfile(path):
        return None
    return _pin_of_file(path, stat.st_mtime_ns)


class _PinnedSocket(ssl.SSLSocket):
    """A TLS socket that checks its context's pinned fingerprint after the handshake."""

    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        pin = cast(_PinnedContext, self.context).pin
        der = self.getpeercert(binary_form=True) or b""
        seen = hashlib.sha256(der).hexdigest()
        if seen != pin:
            raise ssl.SSLCertVerificationError(
                1,
                f"certificate verify failed: the server certificate (SHA-256 {seen}) "
                f"is not the pinned one ({pin})",
            )


class _PinnedContext(ssl.SSLContext):
    """An ``SSLContext`` accepting only the certificate with fingerprint ``pin``."""

    sslsocket_class = _PinnedSocket
    pin: str


def tls_context(verify: Any, cert: Any) -> ssl.SSLContext:
    """The ``SSLContext`` for a TLS connection with this ``verify`` and client ``cert``.

    The one place that decides how the server is checked, for websockets and
    protocol upgrades alike (HTTP requests get the same through
    :class:`LXDSSLAdapter`): False does not check; a pinned certificate
    (:func:`pinned_fingerprint`) must be the server's; True or a CA bundle
    verifies the chain and the host name.

    :raises OSError: or :class:`ssl.SSLError` for files that cannot be loaded.
    """
    pin = pinned_fingerprint(verify)
    context: ssl.SSLContext
    if pin is not None:
        pinned = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        pinned.pin = pin
        context = pinned
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if verify is False or pin is not None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        location = _ca_location(verify)
        if os.path.isdir(location):
            context.load_verify_locations(capath=location)
        else:
            context.load_verify_locations(cafile=location)
    if isinstance(cert, (str, os.PathLike)):
        context.load_cert_chain(cert)
    elif cert:
        context.load_cert_chain(cert[0], cert[1])
    return context


def _ca_location(verify: Any) -> str:
    if verify is True:
        from requests.utils import DEFAULT_CA_BUNDLE_PATH

        return str(DEFAULT_CA_BUNDLE_PATH)
    return os.fspath(verify)


class LXDSSLAdapter(_HTTPAdapter):
    """An HTTPS adapter that pins the server certificate named by ``verify``.

    When ``verify`` is a pinned certificate (:func:`pinned_fingerprint`), the
    connection is accepted only if the server presents exactly it, and the
    host name is not checked, so an LXD server is reachable by any address
    (IP, NAT, DNS alias). Any other ``verify`` is handled as by requests.
    Answers that are not streamed are bounded as by :class:`_HTTPAdapter`.
    """

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        pin = pinned_fingerprint(verify)
        if pin is None:
            super().cert_verify(conn, url, verify, cert)
            return
        super().cert_verify(conn, url, False, cert)
        conn.assert_fingerprint = pin

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        try:
            return super().send(request, **kwargs)
        except requests.exceptions.SSLError as err:
            # urllib3's words for a pin mismatch, said as for websockets.
            if "Fingerprints did not match" not in str(err):
                raise
            message = (
                "certificate verify failed: the server certificate is not the "
                f"pinned one ({_cause(err)})"
            )
        # Raised outside the handler: _cause() reports the innermost error.
        raise requests.exceptions.SSLError(message, request=request)


def _merge_keeping_verify(
    session: requests.Session,
    url: str,
    proxies: Any,
    stream: Any,
    verify: Any,
    cert: Any,
) -> dict[str, Any]:
    """Merge environment settings but never let a CA bundle variable replace
    the ``verify`` the caller gave the session (False or a path)."""
    settings: dict[str, Any] = dict(
        requests.Session.merge_environment_settings(
            session, url, proxies, stream, verify, cert
        )
    )
    if verify is None and session.verify is not True:
        settings["verify"] = session.verify
    return settings

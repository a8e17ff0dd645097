"""``verify=<server.crt>`` pins the certificate; CA bundles stay CA bundles.

The TLS handshakes run over a socket pair (no network): the server side is a
thread presenting a self-signed certificate whose name is not the address
the client asks for, as with an LXD reached by an address not in its SAN.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from urllib3 import HTTPSConnectionPool

from pylxd import _websocket
from pylxd._transport import LXDSSLAdapter, pinned_fingerprint, tls_context
from pylxd.testing import FakeLXD
from pylxd.tests._certs import write_cert


@pytest.fixture
def server(tmp_path: Path) -> tuple[str, str]:
    return write_cert(tmp_path, "server")


@pytest.fixture
def other(tmp_path: Path) -> tuple[str, str]:
    return write_cert(tmp_path, "other")


def fingerprint(path: str) -> str:
    with open(path) as handle:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(handle.read())).hexdigest()


@pytest.fixture
def tls_pair(server: tuple[str, str]) -> Iterator[socket.socket]:
    """The client end of a socket pair whose other end serves TLS with ``server``."""
    ours, theirs = socket.socketpair()
    ours.settimeout(10)
    theirs.settimeout(10)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*server)

    def serve() -> None:
        try:
            with context.wrap_socket(theirs, server_side=True) as tls:
                tls.sendall(b"hello")
        except (OSError, ssl.SSLError):
            pass  # the client refused us: what some tests expect

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield ours
    ours.close()
    thread.join(10)
    theirs.close()


def test_a_single_leaf_certificate_is_a_pin(server: tuple[str, str]) -> None:
    assert pinned_fingerprint(server[0]) == fingerprint(server[0])


def test_several_certificates_or_a_ca_are_a_bundle(
    tmp_path: Path, server: tuple[str, str], other: tuple[str, str]
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(Path(other[0]).read_text() + Path(server[0]).read_text())
    ca, _ = write_cert(tmp_path, "ca", ca=True)
    assert pinned_fingerprint(str(bundle)) is None
    assert pinned_fingerprint(ca) is None
    assert pinned_fingerprint(str(tmp_path)) is None  # a CA directory
    assert pinned_fingerprint(True) is None and pinned_fingerprint(False) is None


def test_pinned_certificate_is_accepted_by_any_name(
    server: tuple[str, str], tls_pair: socket.socket
) -> None:
    context = tls_context(server[0], None)
    with context.wrap_socket(tls_pair, server_hostname="192.0.2.7") as tls:
        assert tls.recv(5) == b"hello"


def test_pin_is_checked_when_the_handshake_happens_on_connect(
    server: tuple[str, str], tls_pair: socket.socket
) -> None:
    # Websockets wrap the socket first and shake hands later.
    context = tls_context(server[0], None)
    tls = context.wrap_socket(tls_pair, do_handshake_on_connect=False)
    tls.do_handshake()
    assert tls.recv(5) == b"hello"


def test_another_certificate_is_refused(
    other: tuple[str, str], tls_pair: socket.socket
) -> None:
    context = tls_context(other[0], None)
    with pytest.raises(ssl.SSLCertVerificationError, match="not the pinned"):
        context.wrap_socket(tls_pair, server_hostname="127.0.0.1")


def test_a_bundle_checks_the_host_name(
    tmp_path: Path,
    server: tuple[str, str],
    other: tuple[str, str],
    tls_pair: socket.socket,
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(Path(other[0]).read_text() + Path(server[0]).read_text())
    context = tls_context(str(bundle), None)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch|match"):
        context.wrap_socket(tls_pair, server_hostname="127.0.0.1")


def test_http_adapter_pins_through_urllib3(server: tuple[str, str]) -> None:
    pool = HTTPSConnectionPool("127.0.0.1", 8443)
    LXDSSLAdapter().cert_verify(pool, "https://127.0.0.1:8443", server[0], None)
    assert pool.assert_fingerprint == fingerprint(server[0])
    assert pool.cert_reqs == "CERT_NONE"


def test_http_adapter_leaves_a_bundle_to_requests(tmp_path: Path) -> None:
    ca, _ = write_cert(tmp_path, "ca", ca=True)
    pool = HTTPSConnectionPool("127.0.0.1", 8443)
    LXDSSLAdapter().cert_verify(pool, "https://127.0.0.1:8443", ca, None)
    assert pool.assert_fingerprint is None
    assert pool.cert_reqs == "CERT_REQUIRED" and pool.ca_certs == ca


def _https_client(server: tuple[str, str], cert: tuple[str, str]) -> Any:
    from pylxd import Client

    session = requests.Session()
    session.mount("https://127.0.0.1:8443", FakeLXD())  # no TLS: the fake answers
    session.verify, session.trust_env = server[0], False
    return Client(
        "https://127.0.0.1:8443", cert=cert, verify=server[0], session=session
    )


def test_ssl_options_name_the_client_certificate(
    server: tuple[str, str], other: tuple[str, str]
) -> None:
    client = _https_client(server, other)
    assert client.ssl_options == {"certfile": other[0], "keyfile": other[1]}


def test_websockets_honour_ssl_options_set_by_the_caller(
    tmp_path: Path, server: tuple[str, str], other: tuple[str, str]
) -> None:
    client = _https_client(server, other)
    third = write_cert(tmp_path, "third")
    client.ssl_options = {"certfile": third[0], "keyfile": third[1], "x": 1}
    _websocket._ssl_context.cache_clear()
    context, options = _websocket.tls_for(client)
    assert options is not None and options["certfile"] == third[0]
    assert options["x"] == 1
    assert context is not None and context.pin == fingerprint(server[0])  # type: ignore[attr-defined]


def test_servercerts_file_for_the_host_is_pinned(
    tmp_path: Path, server: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``~/.config/lxc/servercerts/<host>.crt`` (the lxc tool's) pins like verify=."""
    from pylxd import _transport
    from pylxd.client import Client

    (tmp_path / "servercerts").mkdir()
    saved = tmp_path / "servercerts" / "lxd.example.crt"
    saved.write_text(Path(server[0]).read_text())
    monkeypatch.setattr(_transport, "CERTS_PATH", str(tmp_path))
    _, verify = Client._https_credentials("https://lxd.example:8443", None, True)
    assert verify == str(saved)
    assert pinned_fingerprint(verify) == fingerprint(server[0])

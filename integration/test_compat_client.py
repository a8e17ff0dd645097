"""pylxd 2.4.2-style client code against the real daemon (issue 15, client rows).

``verify=<server.crt>`` pins the certificate (HTTP and websockets) for an
address its SAN does not name; ``authenticate(secret=...)``; a project
created after ``Client(project=)``; ``is_api=False``; ``web_socket_manager``;
``pylxd.models.<submodule>``.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography import x509

from integration.conftest import skip_on_incus, unique_name
from pylxd import Client, _transport, exceptions
from pylxd.managers import web_socket_manager
from pylxd.tests._certs import fingerprint, write_cert

#: Resolves to loopback but is not in the LXD server certificate's SAN.
UNNAMED_HOST = "localhost"


def _san(path: str) -> list[str]:
    cert = x509.load_pem_x509_certificate(Path(path).read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return [str(v) for v in names.value.get_values_for_type(x509.DNSName)] + [
        str(v) for v in names.value.get_values_for_type(x509.IPAddress)
    ]


@pytest.fixture(scope="module")
def unnamed_url(lxd_env: dict[str, Any]) -> str:
    """The main daemon's HTTPS URL by a name its certificate does not hold."""
    assert UNNAMED_HOST not in _san(lxd_env["main"]["server_cert"])
    port = lxd_env["main"]["https"].rsplit(":", 1)[1]
    return f"https://{UNNAMED_HOST}:{port}"


@pytest.fixture(scope="module")
def pinned(lxd_env: dict[str, Any], https_client: Client, unnamed_url: str) -> Client:
    """pylxd 2.4.2 style: ``Client(endpoint, cert=(crt, key), verify=<server.crt>)``."""
    cert = (lxd_env["client_cert"], lxd_env["client_key"])
    return Client(unnamed_url, cert=cert, verify=lxd_env["main"]["server_cert"])


# -- row 3: pinning ----------------------------------------------------------------
def test_pinned_certificate_works_for_an_address_not_in_its_san(
    pinned: Client,
) -> None:
    assert pinned.trusted
    assert pinned.host_info["api_version"] == "1.0"
    assert pinned.ssl_options is not None and "certfile" in pinned.ssl_options


def test_exec_websockets_are_pinned_too(pinned: Client, running_container: Any) -> None:
    instance = pinned.instances.get(running_container.name)
    result = instance.execute(["sh", "-c", "echo pinned; echo err >&2; exit 4"])
    assert (result.exit_code, result.stdout, result.stderr) == (4, "pinned\n", "err\n")


def test_events_websocket_is_pinned_too(pinned: Client) -> None:
    events = pinned.events()
    events.connect()
    try:
        assert not events.terminated
    finally:
        events.close()


def test_sftp_upgrade_is_pinned_too(pinned: Client, container: Any) -> None:
    from integration.test_instance_subresources import sftp_version

    with contextlib.closing(pinned.instances.get(container.name).sftp()) as sock:
        sock.settimeout(60)
        assert sftp_version(sock) == 3


def test_a_wrong_pin_is_refused(lxd_env: dict[str, Any], unnamed_url: str) -> None:
    cert = (lxd_env["client_cert"], lxd_env["client_key"])
    wrong = lxd_env["second"]["server_cert"]
    with pytest.raises(exceptions.ClientConnectionFailed, match="(?i)fingerprint"):
        Client(unnamed_url, cert=cert, verify=wrong)


def test_a_wrong_pin_is_refused_for_websockets(
    lxd_env: dict[str, Any], unnamed_url: str
) -> None:
    port = int(unnamed_url.rsplit(":", 1)[1])
    context = _transport.tls_context(lxd_env["second"]["server_cert"], None)
    raw = socket.create_connection((UNNAMED_HOST, port), timeout=30)
    with pytest.raises(ssl.SSLCertVerificationError, match="not the pinned"):
        context.wrap_socket(raw, server_hostname=UNNAMED_HOST)
    raw.close()


def test_a_file_of_several_certificates_is_a_ca_bundle_not_a_pin(
    lxd_env: dict[str, Any], tmp_path: Path, unnamed_url: str
) -> None:
    # LXD's self-signed, non-CA certificates cannot anchor a chain: a bundle
    # of them is refused even by an address in the SAN (pylxd 2.4.2 pinned
    # the first one, here the wrong one, and was refused as well).
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(
        Path(lxd_env["second"]["server_cert"]).read_text()
        + Path(lxd_env["main"]["server_cert"]).read_text()
    )
    cert = (lxd_env["client_cert"], lxd_env["client_key"])
    for url in (lxd_env["main"]["https"], unnamed_url):
        with pytest.raises(
            exceptions.ClientConnectionFailed, match="CERTIFICATE_VERIFY"
        ):
            Client(url, cert=cert, verify=str(bundle))


# -- row 1: authenticate -------------------------------------------------------------
@pytest.fixture
def untrusted(
    lxd_env: dict[str, Any], tmp_path: Path, client: Client
) -> Iterator[Client]:
    """A client over HTTPS with a certificate of its own, not trusted yet.

    Its certificate is removed from the trust store afterwards.
    """
    pair = write_cert(tmp_path, "pylxd-it-compat")
    main = lxd_env["main"]
    new = Client(main["https"], cert=pair, verify=main["server_cert"])
    assert not new.trusted
    yield new
    with contextlib.suppress(exceptions.NotFound):
        client.api.certificates[fingerprint(pair[0])].delete()


def test_authenticate_with_secret_token(client: Client, untrusted: Client) -> None:
    token = client.certificates.create_token(unique_name("pylxd-it-tok"))
    untrusted.authenticate(secret=token)
    assert untrusted.trusted


@skip_on_incus("no core.trust_password (trust is by token only)")
def test_authenticate_with_the_trust_password(
    lxd_env: dict[str, Any], untrusted: Client
) -> None:
    untrusted.authenticate(lxd_env["main"]["trust_password"])
    assert untrusted.trusted


@skip_on_incus("a token sent as a password needs LXD 5.0's password field")
def test_use_token_auth_false_still_trusts_on_lxd_5_0(
    client: Client, untrusted: Client
) -> None:
    # LXD 5.0.2 has no explicit_trust_token: a token goes in "password" anyway.
    token = client.certificates.create_token(unique_name("pylxd-it-tok"))
    untrusted.authenticate(token, use_token_auth=False)
    assert untrusted.trusted


def test_a_wrong_secret_is_refused(untrusted: Client) -> None:
    with pytest.raises(exceptions.LXDAPIException):
        untrusted.authenticate(secret="not-the-password")
    assert not untrusted.trusted


# -- row 5: the project is created after connecting ------------------------------------
def test_project_created_after_client_project(
    client: Client, lxd_env: dict[str, Any]
) -> None:
    name = unique_name("pit")
    scoped = Client(endpoint=lxd_env["main"]["socket"], project=name)
    try:
        with pytest.raises(exceptions.NotFound):
            scoped.profiles.all()
        client.projects.create(name)
        assert "default" in [p.name for p in scoped.profiles.all()]
    finally:
        with contextlib.suppress(exceptions.NotFound):
            client.api.projects[name].delete()


# -- row 4, section 2 ------------------------------------------------------------------
def test_is_api_false(client: Client) -> None:
    response = client.api.get(is_api=False)
    assert response.status_code == 200
    assert response.json()["metadata"]["api_version"] == "1.0"


def test_web_socket_manager_runs_and_stops_a_ws4py_manager(client: Client) -> None:
    from ws4py.manager import WebSocketManager

    events = client.events()
    events.connect()
    with web_socket_manager(WebSocketManager()) as manager:
        manager.add(events)
        manager.start()
        assert manager.running
    assert not manager.running
    events.close()


def test_models_submodules_after_import_pylxd_models(
    lxd_env: dict[str, Any],
) -> None:
    code = (
        "import sys, pylxd, pylxd.models\n"
        "client = pylxd.Client(endpoint=sys.argv[1])\n"
        "names = [i.name for i in pylxd.models.instance.Instance.all(client)]\n"
        "print(type(names).__name__, pylxd.models.profile.Profile.exists(client, 'default'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, lxd_env["main"]["socket"]],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.split() == ["list", "True"]

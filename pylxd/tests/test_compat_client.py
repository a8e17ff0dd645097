"""pylxd 2.4.2 code against the client, transport, managers and package.

Each test is a call written as for pylxd 2.4.2 (rows 1-13 and the
module-level names of the compatibility map), run against the fake LXD.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from typing import Any

import pytest

import pylxd
from pylxd import Client
from pylxd import client as client_module
from pylxd import exceptions, managers
from pylxd.testing import FakeLXD
from pylxd.testing._extensions import LXD_5_0_2_EXTENSIONS
from pylxd.tests.test_certificate import client_with_cert


# -- row 1: authenticate(secret, use_token_auth=True) -------------------------
def test_authenticate_takes_secret_by_keyword(lxd: FakeLXD, tmp_path: Any) -> None:
    lxd.config["core.trust_password"] = "s3cret"
    lxd.trusted = False
    new = client_with_cert(lxd, tmp_path)
    new.authenticate(secret="s3cret")
    assert new.trusted
    assert lxd.last_body("POST", "/1.0/certificates")["password"] == "s3cret"


def test_password_keyword_is_still_accepted(lxd: FakeLXD, tmp_path: Any) -> None:
    lxd.config["core.trust_password"] = "s3cret"
    lxd.trusted = False
    new = client_with_cert(lxd, tmp_path)
    new.authenticate(password="s3cret")
    assert new.trusted


def test_use_token_auth_true_sends_a_password_as_a_password(tmp_path: Any) -> None:
    # pylxd's default is True: "detect", not "force a token".
    lxd = FakeLXD(extensions=[*LXD_5_0_2_EXTENSIONS, "explicit_trust_token"])
    lxd.config["core.trust_password"] = "s3cret"
    lxd.trusted = False
    new = client_with_cert(lxd, tmp_path)
    new.authenticate("s3cret", use_token_auth=True)
    body = lxd.last_body("POST", "/1.0/certificates")
    assert body["password"] == "s3cret" and "trust_token" not in body
    assert new.trusted


def test_use_token_auth_false_sends_a_token_as_a_password(tmp_path: Any) -> None:
    lxd = FakeLXD(extensions=[*LXD_5_0_2_EXTENSIONS, "explicit_trust_token"])
    token = lxd.client().certificates.create_token("laptop")
    lxd.trusted = False
    new = client_with_cert(lxd, tmp_path)
    new.authenticate(token, use_token_auth=False)
    body = lxd.last_body("POST", "/1.0/certificates")
    assert body["password"] == token and "trust_token" not in body


def test_authenticate_without_a_secret_is_refused_before_sending(
    lxd: FakeLXD, tmp_path: Any
) -> None:
    lxd.trusted = False
    new = client_with_cert(lxd, tmp_path)
    before = len(lxd.requests)
    with pytest.raises(exceptions.InvalidArgument, match="secret="):
        new.authenticate()
    assert len(lxd.requests) == before


# -- row 4: is_api=False --------------------------------------------------------
def test_is_api_false_is_not_sent_and_skips_the_envelope_check(
    client: Client, lxd: FakeLXD
) -> None:
    response = client.api.get(is_api=False)
    assert response.status_code == 200
    assert lxd.requests[-1].path == "/1.0"


# -- row 6: a certificate is ignored where it means nothing ------------------------
def test_missing_cert_files_are_ignored_for_a_socket_or_http(lxd: FakeLXD) -> None:
    client = Client(
        endpoint=lxd.base_url, cert=("/nope.crt", "/nope.key"), session=lxd.session()
    )
    assert client.trusted and client.ssl_options is None


def test_missing_cert_files_for_https_fail_at_construction() -> None:
    # Row 7 (class C): pylxd fails on the first request with an OSError.
    with pytest.raises(exceptions.ClientConnectionFailed, match="nope.crt"):
        Client("https://127.0.0.1:1", cert=("/nope.crt", "/nope.key"), verify=False)


# -- _APINode(url, session), as pylxd code builds its own nodes ---------------------
def test_api_node_takes_the_session_second(lxd: FakeLXD) -> None:
    session = lxd.session()
    node = client_module._APINode(f"{lxd.base_url}/1.0", session)
    assert node.session is session
    assert node.profiles.get().json()["metadata"] == ["/1.0/profiles/default"]


# -- rows 8, 9: managers ---------------------------------------------------------
def test_web_socket_manager_stops_its_manager() -> None:
    stopped: list[bool] = []

    class Manager:
        def stop(self) -> None:
            stopped.append(True)

    manager = Manager()
    with pytest.raises(RuntimeError):
        with managers.web_socket_manager(manager) as entered:
            assert entered is manager
            raise RuntimeError("stop anyway")
    assert stopped == [True]


def test_managers_bind_keyword_arguments(client: Client) -> None:
    profiles = managers.ProfileManager(client=client)
    assert [p.name for p in profiles.all()] == ["default"]


def test_cluster_manager_keeps_its_client(client: Client) -> None:
    cluster = managers.ClusterManager(client=client)
    assert cluster._client is client


# -- row 10: LXDAPIExtensionNotAvailable(name) -------------------------------------
def test_extension_error_from_a_bare_name_says_what_is_missing() -> None:
    error = exceptions.LXDAPIExtensionNotAvailable("network_forward")
    assert str(error) == "LXD API extension 'network_forward' is not available"


def test_extension_error_from_a_message_keeps_it(client: Client) -> None:
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable) as info:
        client.assert_has_api_extension("not_an_extension")
    assert str(info.value).startswith(
        "LXD API extension 'not_an_extension' is not available on "
    )


# -- row 12 and section 2: module-level names ------------------------------------
def test_model_submodules_are_reachable_after_import_pylxd_models() -> None:
    code = (
        "import pylxd.models\n"
        "print(pylxd.models.instance.Instance.__name__,"
        " pylxd.models.storage_pool.StorageVolume.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["Instance", "StorageVolume"]


def test_client_path_constants() -> None:
    assert client_module.DEFAULT_SCHEME == "http+unix://"
    assert client_module.SOCKET_CONNECTION_TIMEOUT == 60
    assert (client_module.CERT_FILE_NAME, client_module.KEY_FILE_NAME) == (
        "client.crt",
        "client.key",
    )
    assert client_module.APT_ROOT.endswith("/.config/lxc/")
    assert client_module.SNAP_ROOT.endswith("/snap/lxd/common/config/")
    assert client_module.DEFAULT_CERTS.cert.endswith("/client.crt")


def test_patch_targets_are_the_real_modules() -> None:
    import re
    import socket
    from urllib import parse

    import urllib3
    from cryptography import x509
    from ws4py.client import WebSocketBaseClient

    assert client_module.re is re and client_module.socket is socket
    assert client_module.parse is parse and client_module.urllib3 is urllib3
    assert client_module.x509 is x509
    assert client_module.WebSocketBaseClient is WebSocketBaseClient


def test_cryptography_is_not_imported_by_import_pylxd() -> None:
    code = "import sys, pylxd.client; print('cryptography.x509' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_model_modules_re_export_operation_and_lxdapiexception() -> None:
    from pylxd.models import cluster, instance, operation

    assert instance.Operation is operation.Operation
    assert instance.LXDAPIException is exceptions.LXDAPIException
    assert cluster.LXDAPIException is exceptions.LXDAPIException
    assert importlib.import_module("pylxd.models.storage_pool").managers is managers


def test_ws_exclude_origin_mutates_kwargs_as_pylxd_did() -> None:
    kwargs: dict[str, Any] = {"exclude_headers": ["X-Mine"]}
    client_module._ws_exclude_origin(kwargs)
    assert kwargs == {"exclude_headers": ["X-Mine", "origin"]}
    again = {"exclude_headers": ["Origin"]}
    client_module._ws_exclude_origin(again)
    assert again == {"exclude_headers": ["Origin"]}


def test_image_create_from_config_posts_the_config(
    client: Client, lxd: FakeLXD
) -> None:
    from pylxd.models import image

    config = {"source": {"type": "image", "alias": "nope"}}
    operation_url = image._image_create_from_config(client, config)
    assert lxd.last_body("POST", "/1.0/images") == config
    assert operation_url.startswith("/1.0/operations/")


def test_version_function_is_importlib_metadata_version() -> None:
    from importlib.metadata import version

    assert pylxd.version is version


def test_unknown_event_type_is_refused_as_pylxd_code_catches_it(
    client: Client,
) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="event type 'nope'") as info:
        client.events(event_types={"nope"})  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)

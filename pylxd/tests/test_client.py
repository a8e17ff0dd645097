"""Unit tests of Client: endpoints, certificates, connection errors, extensions, projects."""

from __future__ import annotations

import base64
import json
import os
import threading

import pytest
import requests

from pylxd import Client
from pylxd import client as client_module
from pylxd import exceptions
from pylxd._transport import ConnectionLost, RequestTimeout, endpoint_url
from pylxd.testing import FakeLXD
from pylxd.testing._fake import Reply


def test_host_info_is_read_on_connect(client: Client, lxd: FakeLXD) -> None:
    assert client.host_info["environment"]["server_version"] == "5.0.2"
    assert client.trusted is True
    assert client.server_clustered is False
    assert [(r.method, r.path) for r in lxd.requests] == [("GET", "/1.0")]


def test_untrusted_client(lxd: FakeLXD) -> None:
    lxd.trusted = False
    assert lxd.client().trusted is False


def test_extensions(client: Client) -> None:
    assert client.has_api_extension("projects")
    assert not client.has_api_extension("no_such_extension")
    client.assert_has_api_extension("projects")
    with pytest.raises(
        exceptions.LXDAPIExtensionNotAvailable, match="no_such_extension"
    ):
        client.assert_has_api_extension("no_such_extension")


def test_resources_are_read_once(client: Client, lxd: FakeLXD) -> None:
    from pylxd.testing._fake import route

    @route("GET", r"/1.0/resources")
    def _resources(fake: FakeLXD, request: object) -> Reply:
        return fake.sync({"cpu": {"total": 2}})

    try:
        assert client.resources["cpu"]["total"] == 2
        assert client.resources["cpu"]["total"] == 2
        assert len(lxd.calls("GET", "/1.0/resources")) == 1
    finally:
        from pylxd.testing import _fake

        _fake._ROUTES.pop()


def test_project_is_sent_with_every_call(lxd: FakeLXD) -> None:
    lxd.client().projects.create("p1")
    scoped = lxd.client(project="p1")
    scoped.profiles.all()
    assert lxd.requests[-1].query == {"recursion": "1", "project": "p1"}


def test_client_in_a_project_created_after_connecting(lxd: FakeLXD) -> None:
    # pylxd 2.4.2 code connects with project= and then creates the project.
    scoped = lxd.client(project="later")
    assert [r.path for r in lxd.requests] == ["/1.0"]
    with pytest.raises(exceptions.NotFound):
        scoped.profiles.all()
    scoped.projects.create("later")
    scoped.profiles.create("p-in-later")
    assert lxd.requests[-1].query == {"project": "later"}
    assert scoped.profiles.exists("p-in-later")


def test_project_needs_the_extension() -> None:
    lxd = FakeLXD(extensions=["storage"])
    with pytest.raises(
        exceptions.ClientConnectionFailed, match="does not handle projects"
    ):
        lxd.client(project="p1")


def test_missing_socket_fails_clearly(tmp_path: object) -> None:
    with pytest.raises(exceptions.ClientConnectionFailed) as info:
        Client(endpoint="/nonexistent/lxd/unix.socket")
    assert "/nonexistent/lxd/unix.socket" in str(info.value)


def test_default_socket_follows_lxd_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("LXD_DIR", "/srv/lxd")
    assert endpoint_url(None) == "http+unix://%2Fsrv%2Flxd%2Funix.socket"
    monkeypatch.delenv("LXD_DIR")
    expected = "/var/snap/lxd/common/lxd/unix.socket"
    if not os.path.exists(expected):
        expected = "/var/lib/lxd/unix.socket"
    assert endpoint_url(None) == "http+unix://" + expected.replace("/", "%2F")


def test_socket_path_endpoint_becomes_a_unix_url(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "unix.socket")
    open(path, "w").close()
    assert endpoint_url(path) == "http+unix://" + path.replace("/", "%2F")


def test_refused_unix_connection_names_the_socket(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "unix.socket")
    open(path, "w").close()  # a file, not a listening socket
    with pytest.raises(exceptions.ClientConnectionFailed) as info:
        Client(endpoint=path)
    assert path in str(info.value)


@pytest.mark.parametrize("endpoint", ["ftp://host", "not a url", "https://", 42])
def test_malformed_endpoints_are_refused(endpoint: object) -> None:
    with pytest.raises(exceptions.ClientConnectionFailed, match="Invalid LXD endpoint"):
        Client(endpoint=endpoint)  # type: ignore[arg-type]


def test_trailing_slash_is_dropped() -> None:
    assert endpoint_url("https://127.0.0.1:8443/") == "https://127.0.0.1:8443"


def test_missing_cert_file_is_reported(tmp_path: object) -> None:
    crt = os.path.join(str(tmp_path), "missing.crt")
    with pytest.raises(exceptions.ClientConnectionFailed, match="missing.crt"):
        Client(endpoint="https://127.0.0.1:1", cert=(crt, crt))


def test_non_pem_cert_file_is_reported(tmp_path: object) -> None:
    crt = os.path.join(str(tmp_path), "garbage.crt")
    with open(crt, "w") as handle:
        handle.write("this is not a certificate")
    with pytest.raises(exceptions.ClientConnectionFailed, match="not in PEM format"):
        Client(endpoint="https://127.0.0.1:1", cert=(crt, crt))


def test_refused_https_connection() -> None:
    with pytest.raises(exceptions.ClientConnectionFailed, match="127.0.0.1:1"):
        Client(endpoint="https://127.0.0.1:1", verify=False)


def test_garbage_json_on_connect(lxd: FakeLXD) -> None:
    lxd.reply_next(Reply(200, b"{not json", {"Content-Type": "application/json"}))
    with pytest.raises(exceptions.ClientConnectionFailed, match="answered GET /1.0"):
        lxd.client()


def test_html_answer_on_connect(lxd: FakeLXD) -> None:
    lxd.reply_next(Reply(200, b"<html>proxy</html>", {"Content-Type": "text/html"}))
    with pytest.raises(
        exceptions.ClientConnectionFailed, match="with an error: HTTP 200: <html>proxy"
    ):
        lxd.client()


def test_server_error_on_connect(lxd: FakeLXD) -> None:
    lxd.fail_next(500, "database is locked")
    with pytest.raises(exceptions.ClientConnectionFailed, match="database is locked"):
        lxd.client()


def test_connection_lost_after_connect(client: Client, lxd: FakeLXD) -> None:
    lxd.disconnect_next()
    with pytest.raises(ConnectionLost) as info:
        client.profiles.all()
    assert isinstance(info.value, exceptions.ClientConnectionFailed)
    assert isinstance(info.value, requests.exceptions.ConnectionError)
    assert f"{lxd.base_url}/1.0/profiles" in str(info.value)


def test_request_timeout(client: Client, lxd: FakeLXD) -> None:
    lxd.timeout_next()
    with pytest.raises(RequestTimeout, match="did not answer GET"):
        client.profiles.get("default")


def test_verify_path_wins_over_ca_bundle_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = client_module.get_session_for_url("https://h:8443", verify="/pinned.crt")
    settings = session.merge_environment_settings(
        "https://h:8443/1.0", {}, None, None, None
    )
    assert settings["verify"] == "/pinned.crt"
    session = client_module.get_session_for_url("https://h:8443", verify=False)
    settings = session.merge_environment_settings(
        "https://h:8443/1.0", {}, None, None, None
    )
    assert settings["verify"] is False


def test_verify_true_uses_the_environment_bundle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/some/bundle.crt")
    session = client_module.get_session_for_url("https://h:8443", verify=True)
    settings = session.merge_environment_settings(
        "https://h:8443/1.0", {}, None, None, None
    )
    assert settings["verify"] == "/some/bundle.crt"


def test_default_client_cert_and_server_cert(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    base = str(tmp_path)
    crt, key = os.path.join(base, "client.crt"), os.path.join(base, "client.key")
    for path in (crt, key):
        with open(path, "w") as handle:
            handle.write("-----BEGIN CERTIFICATE-----\n")
    os.makedirs(os.path.join(base, "servercerts"))
    server = os.path.join(base, "servercerts", "lxd.example.crt")
    open(server, "w").close()
    monkeypatch.setattr(client_module, "DEFAULT_CERTS", client_module.Cert(crt, key))
    monkeypatch.setattr("pylxd._transport.CERTS_PATH", base)
    cert, verify = Client._https_credentials("https://lxd.example:8443", None, True)
    assert cert == (crt, key)
    assert verify == server
    assert Client._https_credentials("https://other:8443", None, False) == (
        (crt, key),
        False,
    )


def test_authenticate_with_password(lxd: FakeLXD, tmp_path: object) -> None:
    calls = []

    class Certificates:
        def create(self, password: str, cert_data: bytes, token_auth: bool) -> None:
            calls.append((password, cert_data, token_auth))
            lxd.trusted = True

    lxd.trusted = False
    client = lxd.client()
    crt = os.path.join(str(tmp_path), "c.crt")
    with open(crt, "wb") as handle:
        handle.write(b"PEM")
    client.api.session.cert = (crt, crt)
    client.certificates = Certificates()  # type: ignore[assignment]
    client.authenticate("s3cret")
    assert calls == [("s3cret", b"PEM", False)]
    assert client.trusted is True


def test_authenticate_detects_tokens(lxd: FakeLXD, tmp_path: object) -> None:
    token = base64.b64encode(
        json.dumps({"client_name": "x", "fingerprint": "f", "secret": "s"}).encode()
    ).decode()
    seen = []

    class Certificates:
        def create(self, password: str, cert_data: bytes, token_auth: bool) -> None:
            seen.append(token_auth)

    lxd.trusted = False
    client = lxd.client()
    crt = os.path.join(str(tmp_path), "c.crt")
    open(crt, "w").close()
    client.api.session.cert = crt
    client.certificates = Certificates()  # type: ignore[assignment]
    client.authenticate(token)
    assert seen == [True]


def test_authenticate_without_cert_is_clear(lxd: FakeLXD) -> None:
    lxd.trusted = False
    with pytest.raises(exceptions.ClientConnectionFailed, match="no certificate"):
        lxd.client().authenticate("pw")


def test_authenticate_when_trusted_is_a_no_op(client: Client, lxd: FakeLXD) -> None:
    client.authenticate("pw")
    assert lxd.calls("POST") == []


def test_websocket_url() -> None:
    fake = FakeLXD()
    assert fake.client().websocket_url == f"ws://{fake.host}"


def test_repr_names_endpoint_and_project(lxd: FakeLXD) -> None:
    lxd.client().projects.create("p1")
    assert (
        repr(lxd.client(project="p1"))
        == f"Client(endpoint='{lxd.base_url}/1.0', project='p1')"
    )


def test_threads_share_one_client(client: Client) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                assert client.profiles.get("default").name == "default"
        except BaseException as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_managers_are_wired(client: Client) -> None:
    for name in ("instances", "containers", "virtual_machines", "images", "networks"):
        assert getattr(client, name) is not None
    assert "get" in dir(client.profiles)
    assert repr(client.profiles) == "<ProfileManager for Profile>"


def test_manager_verbs_are_the_models_classmethods_of_the_moment(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pylxd.models.operation import Operation
    from pylxd.models.profile import Profile

    # A verb the model lacks is no attribute, and not listed.
    assert not hasattr(client.operations, "create")
    assert "create" not in dir(client.operations)
    assert {"get", "all"} <= set(dir(client.operations))
    with pytest.raises(AttributeError, match="create"):
        client.operations.create  # noqa: B018
    # A patched classmethod is seen by the next access.
    seen = []
    monkeypatch.setattr(
        Profile, "get", classmethod(lambda cls, c, name: seen.append((c, name)))
    )
    client.profiles.get("x")
    assert seen == [(client, "x")]
    monkeypatch.setattr(Operation, "all", "not a classmethod")
    assert not hasattr(client.operations, "all")
    # A verb set on a manager stays for that client's managers.
    client.profiles.get = "patched"  # type: ignore[assignment]
    assert client.profiles.get == "patched"
    del client.profiles.get
    assert client.profiles.get("y") is None and seen[-1] == (client, "y")

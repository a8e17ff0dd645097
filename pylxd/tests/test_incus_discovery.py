"""Finding LXD or Incus: the default socket, client certificates, ``is_incus``, trust."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pylxd import Client, _transport, exceptions
from pylxd.client import Cert
from pylxd.testing import FakeLXD
from pylxd.tests._certs import make_cert


@pytest.fixture
def sockets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    """LXD's snap and deb sockets and Incus's, moved into ``tmp_path`` (none exists)."""
    monkeypatch.delenv("LXD_DIR", raising=False)
    monkeypatch.delenv("INCUS_DIR", raising=False)
    paths = {name: tmp_path / name / "unix.socket" for name in ("snap", "deb", "incus")}
    monkeypatch.setattr(_transport, "SNAP_SOCKET", str(paths["snap"]))
    monkeypatch.setattr(_transport, "DEB_SOCKET", str(paths["deb"]))
    monkeypatch.setattr(_transport, "INCUS_SOCKET", str(paths["incus"]))
    return paths


def make(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def test_lxd_dir_comes_before_incus_dir(
    sockets: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    make(sockets["snap"])
    monkeypatch.setenv("INCUS_DIR", "/srv/incus")
    assert _transport.default_socket_path() == "/srv/incus/unix.socket"
    monkeypatch.setenv("LXD_DIR", "/srv/lxd")
    assert _transport.default_socket_path() == "/srv/lxd/unix.socket"
    assert _transport.endpoint_url(None) == "http+unix://%2Fsrv%2Flxd%2Funix.socket"


def test_then_snap_deb_and_incus_sockets_in_that_order(
    sockets: dict[str, Path],
) -> None:
    # none exists: LXD's deb socket, so the error names the usual path
    assert _transport.default_socket_path() == str(sockets["deb"])
    make(sockets["incus"])
    assert _transport.default_socket_path() == str(sockets["incus"])
    make(sockets["deb"])
    assert _transport.default_socket_path() == str(sockets["deb"])
    make(sockets["snap"])
    assert _transport.default_socket_path() == str(sockets["snap"])


def write_pair(config: Path) -> Cert:
    config.mkdir(parents=True, exist_ok=True)
    pair = Cert(str(config / "client.crt"), str(config / "client.key"))
    for path in pair:
        Path(path).write_text("-----BEGIN CERTIFICATE-----\n")
    return pair


@pytest.fixture
def configs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, Path]:
    """LXD's and Incus's client config dirs under ``tmp_path`` (empty)."""
    lxc, incus = tmp_path / "lxc", tmp_path / "incus"
    monkeypatch.setattr(_transport, "CERTS_PATH", str(lxc))
    monkeypatch.setattr(_transport, "INCUS_CERTS_PATH", str(incus))
    lxd_pair = Cert(str(lxc / "client.crt"), str(lxc / "client.key"))
    monkeypatch.setattr("pylxd.client.DEFAULT_CERTS", lxd_pair)
    return lxc, incus


def test_client_cert_from_incus_config_when_lxd_has_none(
    configs: tuple[Path, Path],
) -> None:
    lxc, incus = configs
    assert _transport.client_config_dirs() == (str(lxc), str(incus))
    assert Client._https_credentials("https://h:8443", None, False) == (None, False)
    incus_pair = write_pair(incus)
    assert Client._https_credentials("https://h:8443", None, False)[0] == incus_pair
    lxd_pair = write_pair(lxc)
    assert Client._https_credentials("https://h:8443", None, False)[0] == lxd_pair
    given = ("/given.crt", "/given.key")
    assert Client._https_credentials("https://h:8443", given, False)[0] == given


def test_server_cert_from_lxd_config_then_incus_config(
    configs: tuple[Path, Path],
) -> None:
    lxc, incus = configs
    assert _transport.server_cert_for("https://h:8443") is None
    for config in (incus, lxc):
        (config / "servercerts").mkdir(parents=True)
        (config / "servercerts" / "h.crt").touch()
        found = Client._https_credentials("https://h:8443", None, True)[1]
        assert found == str(config / "servercerts" / "h.crt")
    assert _transport.server_cert_for("https://other:8443") is None


def test_is_incus_from_the_environment(fake: FakeLXD) -> None:
    client = fake.client()
    assert client.is_incus is False
    client.host_info["environment"]["server"] = "incus"
    assert client.is_incus is True


def test_is_incus_for_an_untrusted_client_from_the_extensions() -> None:
    # an untrusted client is shown no environment (LXD 5.0.2 and Incus alike)
    lxd = FakeLXD(trusted=False)
    assert "environment" not in lxd.client().host_info
    assert lxd.client().is_incus is False
    incus = FakeLXD(trusted=False, extensions=[*lxd.extensions, "restrict_dev_incus"])
    assert incus.client().is_incus is True


def untrusted_incus(tmp_path: Path) -> tuple[FakeLXD, Client]:
    fake = FakeLXD(trusted=False, extensions=["restrict_dev_incus"])
    client = fake.client()
    pem = tmp_path / "c.crt"
    pem.write_bytes(make_cert()[0])
    client.api.session.cert = (str(pem), str(pem))
    return fake, client


def test_a_password_for_incus_is_refused_before_sending(tmp_path: Path) -> None:
    fake, client = untrusted_incus(tmp_path)
    before = len(fake.requests)
    with pytest.raises(exceptions.InvalidArgument) as refused:
        client.authenticate("s3cret")
    assert "Incus at " in str(refused.value)
    assert "no trust password" in str(refused.value)
    assert fake.base_url in str(refused.value)
    assert isinstance(refused.value, ValueError)
    assert isinstance(refused.value, exceptions.LXDAPIException)
    assert len(fake.requests) == before  # nothing was sent


def test_a_token_for_incus_goes_in_trust_token(tmp_path: Path) -> None:
    fake, client = untrusted_incus(tmp_path)
    token = FakeLXD().client().certificates.create_token("new")
    with pytest.raises(exceptions.LXDAPIException):
        client.authenticate(token)  # this fake does not know the token
    body = fake.last_body("POST", "/1.0/certificates")
    assert body["trust_token"] == token
    assert "password" not in body


def incus_like(fake: FakeLXD) -> Client:
    """A client of ``fake`` that was told, on connecting, that it is Incus."""
    from pylxd.testing._fake_core import host_info

    info = host_info(fake)
    info["environment"]["server"] = "incus"
    fake.reply_next(FakeLXD.sync(info), method="GET", path="/1.0")
    client = fake.client()
    assert client.is_incus
    return client


def test_lxd_headers_go_to_incus_under_incus_names() -> None:
    sent: list[dict[str, str]] = []

    def record(request: Any) -> None:
        sent.append(dict(request.prepared.headers))

    lxd_fake, incus_fake = FakeLXD(), FakeLXD()
    clients = (lxd_fake.client(), incus_like(incus_fake))
    for fake, client in zip((lxd_fake, incus_fake), clients):
        fake.faults.append(record)
        with pytest.raises(exceptions.NotFound):  # no such instance: headers sent
            client.api.instances["c1"].files.post(
                params={"path": "/tmp/f"}, data=b"x", headers={"X-LXD-mode": "0600"}
            )
    to_lxd, to_incus = sent
    assert to_lxd.get("X-LXD-mode") == "0600" and "X-Incus-mode" not in to_lxd
    assert to_incus.get("X-Incus-mode") == "0600" and "X-LXD-mode" not in to_incus


def test_incus_answer_headers_are_read_under_lxd_names(fake: FakeLXD) -> None:
    client = fake.client()
    reply = FakeLXD.raw(b"x", **{"X-Incus-Type": "file", "X-Incus-Mode": "0600"})
    fake.reply_next(reply, method="GET", path="/1.0/instances/c1/files")
    response = client.api.instances["c1"].files.get(params={"path": "/f"})
    assert response.headers["X-LXD-Type"] == "file"
    assert response.headers["X-LXD-Mode"] == response.headers["X-Incus-Mode"]


def started_operation(fake: FakeLXD, client: Client) -> str:
    """A pending token operation of ``fake``: its id."""
    response = client.api.certificates.post(
        json={"type": "client", "token": True, "name": "t"}
    )
    return str(response.json()["metadata"]["id"])


def test_incus_wait_deadline_is_an_operation_timeout(fake: FakeLXD) -> None:
    client = fake.client()
    op_id = started_operation(fake, client)
    envelope = FakeLXD.error(500, "context deadline exceeded")
    envelope.status = 200  # as Incus sends it
    fake.reply_next(envelope, method="GET", path=f"/1.0/operations/{op_id}/wait")
    with pytest.raises(exceptions.OperationTimeout) as info:
        client.operations.get(op_id).wait(timeout=1)
    assert info.value.response.json()["metadata"]["id"] == op_id


def test_incus_wait_error_of_a_failed_operation_carries_the_operation(
    fake: FakeLXD,
) -> None:
    client = fake.client()
    op_id = started_operation(fake, client)
    failed = fake.operations[op_id]
    failed.status, failed.err = "Failure", 'A project named "p" already exists'
    envelope = FakeLXD.error(500, failed.err)
    envelope.status = 200  # as Incus sends it
    fake.reply_next(envelope, method="GET", path=f"/1.0/operations/{op_id}/wait")
    with pytest.raises(exceptions.Conflict, match="already exists") as info:
        client.operations.wait_for_operation(op_id)
    assert info.value.response.json()["metadata"]["status"] == "Failure"


def test_an_error_envelope_in_a_200_answer_is_classed_by_its_code(
    fake: FakeLXD,
) -> None:
    client = fake.client()
    envelope = FakeLXD.error(404, "not found")
    envelope.status = 200
    fake.reply_next(envelope, method="GET", path="/1.0/profiles/p")
    with pytest.raises(exceptions.NotFound):
        client.api.profiles["p"].get()

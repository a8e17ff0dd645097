"""Unit tests of instance backups, logs, metadata, templates, backup import,
bulk state and the SFTP upgrade, against the fake LXD."""

from __future__ import annotations

import io
import os
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from pylxd import Client, _http_upgrade, exceptions
from pylxd.models import InstanceBackup
from pylxd.models._streaming import UploadBody
from pylxd.testing import FakeLXD
from pylxd.testing._extensions import LXD_5_0_2_EXTENSIONS
from pylxd.testing._fake_instance_subresources import add_log, subresources

C1 = "/1.0/instances/c1"


@pytest.fixture
def instance(client: Client) -> Any:
    response = client.api.instances.post(
        json={"name": "c1", "source": {"type": "none"}}
    )
    client.operations.wait_for_operation(response.json()["operation"])
    return client.instances.get("c1")


def without_extension(name: str) -> FakeLXD:
    return FakeLXD(extensions=[e for e in LXD_5_0_2_EXTENSIONS if e != name])


# -- backups -------------------------------------------------------------------
def test_backup_create_sends_defaults_and_returns_the_loaded_backup(
    instance: Any, lxd: FakeLXD
) -> None:
    backup = instance.backups.create()
    assert lxd.last_body("POST", f"{C1}/backups") == {
        "instance_only": False,
        "optimized_storage": False,
    }
    assert isinstance(backup, InstanceBackup)
    assert (backup.name, backup.expires_at, backup.instance_only) == (
        "backup0",
        "0001-01-01T00:00:00Z",
        False,
    )
    assert backup.instance is instance
    assert len(lxd.calls("GET", f"{C1}/backups/backup0")) == 1


def test_backup_create_sends_every_option(instance: Any, lxd: FakeLXD) -> None:
    expiry = datetime(2030, 1, 2, 3, 4, 5)
    backup = instance.backups.create(
        "nightly",
        expires_at=expiry,
        instance_only=True,
        optimized_storage=True,
        compression_algorithm="xz",
    )
    assert lxd.last_body("POST", f"{C1}/backups") == {
        "name": "nightly",
        "expires_at": "2030-01-02T03:04:05+00:00",
        "instance_only": True,
        "optimized_storage": True,
        "compression_algorithm": "xz",
    }
    assert (backup.name, backup.instance_only, backup.optimized_storage) == (
        "nightly",
        True,
        True,
    )


def test_backup_create_keeps_an_aware_expiry_and_a_string(
    instance: Any, lxd: FakeLXD
) -> None:
    zone = timezone(timedelta(hours=2))
    instance.backups.create("a", expires_at=datetime(2030, 1, 1, 12, tzinfo=zone))
    assert lxd.last_body("POST", f"{C1}/backups")["expires_at"] == (
        "2030-01-01T12:00:00+02:00"
    )
    instance.backups.create("b", expires_at="2030-01-01T00:00:00Z")
    assert lxd.last_body("POST", f"{C1}/backups")["expires_at"] == (
        "2030-01-01T00:00:00Z"
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"name": "a/b"}, ValueError, "Instance backup name 'a/b'"),
        ({"name": ""}, ValueError, "Instance backup name ''"),
        ({"name": ".."}, ValueError, "Instance backup name '..'"),
        ({"expires_at": 12}, TypeError, "Instance backup expires_at"),
    ],
)
def test_backup_create_rejects_bad_input_before_sending(
    instance: Any, lxd: FakeLXD, kwargs: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        instance.backups.create(**kwargs)
    assert not lxd.calls("POST", f"{C1}/backups")


def test_backup_create_without_wait_does_not_wait_or_load(
    instance: Any, lxd: FakeLXD
) -> None:
    before = len(lxd.requests)
    backup = instance.backups.create("b1", wait=False)
    assert [r.method for r in lxd.requests[before:]] == ["POST"]
    assert backup.name == "b1" and backup.instance is instance


def test_backup_create_of_an_existing_name_raises_lxds_error(instance: Any) -> None:
    instance.backups.create("b1")
    with pytest.raises(exceptions.LXDAPIException, match='Backup "c1/b1" already'):
        instance.backups.create("b1")


def test_backup_create_needs_the_extension() -> None:
    client = without_extension("container_backup").client()
    client.api.instances.post(json={"name": "c1", "source": {"type": "none"}})
    with pytest.raises(
        exceptions.LXDAPIExtensionNotAvailable, match="container_backup"
    ):
        client.instances.get("c1").backups.create()


def test_backups_all_is_one_request_and_get_exists(instance: Any, lxd: FakeLXD) -> None:
    instance.backups.create("b1")
    instance.backups.create("b2")
    before = len(lxd.requests)
    backups = instance.backups.all()
    assert len(lxd.requests) == before + 1
    assert lxd.requests[-1].query == {"recursion": "1"}
    assert [b.name for b in backups] == ["b1", "b2"]
    assert backups[0].created_at and backups[0].instance is instance
    assert instance.backups.get("b2").name == "b2"
    assert instance.backups.exists("b1") and not instance.backups.exists("nope")
    with pytest.raises(exceptions.NotFound, match="Instance backup not found"):
        instance.backups.get("nope")


def test_backup_rename_posts_the_new_name(instance: Any, lxd: FakeLXD) -> None:
    backup = instance.backups.create("b1")
    backup.rename("b2")
    assert lxd.last_body("POST", f"{C1}/backups/b1") == {"name": "b2"}
    assert backup.name == "b2"
    assert [b.name for b in instance.backups.all()] == ["b2"]
    with pytest.raises(ValueError, match="Instance backup name 'x/y'"):
        backup.rename("x/y")


def test_backup_delete_waits_for_the_operation(instance: Any, lxd: FakeLXD) -> None:
    backup = instance.backups.create("b1")
    backup.delete()
    assert lxd.calls("DELETE", f"{C1}/backups/b1")
    assert lxd.requests[-1].path.endswith("/wait")
    assert instance.backups.all() == []


def test_backup_export_streams_to_a_file_object_with_progress(
    instance: Any, lxd: FakeLXD
) -> None:
    backup = instance.backups.create("b1")
    expected = subresources(lxd, "c1")["backups"]["b1"]["data"]
    seen: list[tuple[int, int | None]] = []
    target = io.BytesIO()
    written = backup.export(
        target, progress=lambda done, total: seen.append((done, total))
    )
    assert (written, target.getvalue()) == (len(expected), expected)
    assert seen == [(len(expected), len(expected))]
    assert lxd.last("GET", f"{C1}/backups/b1/export")


def test_backup_export_to_a_path_and_removes_it_on_failure(
    instance: Any, tmp_path: Path
) -> None:
    backup = instance.backups.create("b1")
    path = tmp_path / "b1.tar.gz"
    assert backup.export(path) == path.stat().st_size > 0
    complete = path.read_bytes()

    def broken(done: int, total: int | None) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        backup.export(str(path), progress=broken)
    # The earlier, complete export is left as it was, and nothing else.
    assert path.read_bytes() == complete
    assert os.listdir(tmp_path) == ["b1.tar.gz"]


def test_backup_export_holds_one_chunk_at_a_time(
    instance: Any, lxd: FakeLXD, tmp_path: Path
) -> None:
    import tracemalloc

    backup = instance.backups.create("b1")
    size = 24 * 1024 * 1024
    subresources(lxd, "c1")["backups"]["b1"]["data"] = bytes(size)
    tracemalloc.start()
    try:
        written = backup.export(tmp_path / "big.tar.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert written == size
    assert peak < size // 4, f"export held {peak} bytes at once"


def test_backup_export_rejects_a_target_that_cannot_be_written(instance: Any) -> None:
    backup = instance.backups.create("b1")
    with pytest.raises(TypeError, match="Backup 'b1' export: the target must be"):
        backup.export(42)  # type: ignore[arg-type]


# -- create from backup ------------------------------------------------------
@pytest.fixture
def backup_bytes(instance: Any) -> bytes:
    buffer = io.BytesIO()
    instance.backups.create("b1").export(buffer)
    return buffer.getvalue()


def test_create_from_backup_uploads_raw_bytes_with_headers(
    client: Client, lxd: FakeLXD, backup_bytes: bytes
) -> None:
    restored = client.instances.create_from_backup(backup_bytes, name="c2")
    call = lxd.last("POST", "/1.0/instances")
    assert call.body == backup_bytes
    assert restored.name == "c2" and restored.status == "Stopped"
    assert client.instances.exists("c2")


def test_create_from_backup_streams_a_file_with_progress(
    client: Client, lxd: FakeLXD, backup_bytes: bytes, tmp_path: Path
) -> None:
    client.instances.get("c1").delete(wait=True)
    path = tmp_path / "backup.tar.gz"
    path.write_bytes(backup_bytes)
    seen: list[tuple[int, int | None]] = []
    restored = client.instances.create_from_backup(
        path, progress=lambda done, total: seen.append((done, total))
    )
    assert restored.name == "c1"  # the backed-up name
    assert seen[-1] == (len(backup_bytes), len(backup_bytes))
    with open(path, "rb") as handle:
        client.instances.create_from_backup(handle, name="c3")
    assert lxd.last("POST", "/1.0/instances").body == backup_bytes


def test_create_from_backup_without_wait_returns_an_unloaded_instance(
    client: Client, lxd: FakeLXD, backup_bytes: bytes
) -> None:
    before = len(lxd.requests)
    restored = client.instances.create_from_backup(backup_bytes, name="c2", wait=False)
    assert [r.method for r in lxd.requests[before:]] == ["POST"]
    assert restored.name == "c2"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"backup": 3}, TypeError, "Instance backup must be"),
        ({"backup": b"x", "name": "a/b"}, ValueError, "Instance name"),
        ({"backup": b"x", "pool": ""}, ValueError, "Storage pool name"),
    ],
)
def test_create_from_backup_rejects_bad_input_before_sending(
    client: Client, lxd: FakeLXD, kwargs: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        client.instances.create_from_backup(**kwargs)
    assert not lxd.calls("POST", "/1.0/instances")


def test_create_from_backup_reports_lxds_errors(
    client: Client, backup_bytes: bytes
) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="Unsupported compression"):
        client.instances.create_from_backup(b"not a backup")
    with pytest.raises(exceptions.LXDAPIException, match="Storage pool not found"):
        client.instances.create_from_backup(backup_bytes, name="c2", pool="nopool")
    with pytest.raises(exceptions.LXDAPIException, match="already exists on target"):
        client.instances.create_from_backup(backup_bytes)
    assert not client.instances.exists("c2")


def test_create_from_backup_name_needs_its_extension() -> None:
    client = without_extension("backup_override_name").client()
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="override_name"):
        client.instances.create_from_backup(b"x", name="c2")


def test_upload_body_announces_its_length_or_goes_chunked() -> None:
    seen: list[tuple[int, int | None]] = []
    body = UploadBody(io.BytesIO(b"abcdef"), lambda d, t: seen.append((d, t)), 4)
    prepared = requests.Request("POST", "http://x/", data=body).prepare()
    assert prepared.headers["Content-Length"] == "6"
    assert list(body) == [b"abcd", b"ef"] and seen == [(4, 6), (6, 6)]
    whole = UploadBody(io.BytesIO(b"abcdef"))
    assert list(whole) == [b"abcdef"] and not hasattr(whole, "read")  # 1 MiB sends

    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            return 0

        def seekable(self) -> bool:
            return False

    unknown = UploadBody(Pipe())  # type: ignore[arg-type]
    assert unknown.total is None
    prepared = requests.Request("POST", "http://x/", data=unknown).prepare()
    assert prepared.headers["Transfer-Encoding"] == "chunked"


# -- bulk state ----------------------------------------------------------------
def test_set_all_states_puts_the_state_and_returns_the_operation(
    client: Client, lxd: FakeLXD, instance: Any
) -> None:
    operation = client.instances.set_all_states("start")
    assert lxd.last_body("PUT", "/1.0/instances") == {
        "state": {"action": "start", "timeout": 30, "force": False, "stateful": False}
    }
    assert not lxd.calls("GET", f"/1.0/operations/{operation.id}/wait")
    assert operation.resources == {"instances": [C1]}
    done = client.instances.set_all_states("stop", force=True, timeout=5, wait=True)
    assert lxd.last_body("PUT", "/1.0/instances")["state"] == {
        "action": "stop",
        "timeout": 5,
        "force": True,
        "stateful": False,
    }
    assert done.status == "Success"
    assert client.instances.get("c1").status == "Stopped"


def test_set_all_states_of_containers_uses_the_containers_collection(
    client: Client, lxd: FakeLXD, instance: Any
) -> None:
    client.containers.set_all_states("start", wait=True)
    assert lxd.last_body("PUT", "/1.0/containers")["state"]["action"] == "start"


def test_set_all_states_rejects_unknown_actions(client: Client, lxd: FakeLXD) -> None:
    with pytest.raises(ValueError, match="Bulk state action must be one of"):
        client.instances.set_all_states("pause")
    assert not lxd.calls("PUT")


def test_set_all_states_needs_its_extension() -> None:
    client = without_extension("instance_bulk_state_change").client()
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable):
        client.instances.set_all_states("stop")


# -- logs ------------------------------------------------------------------------
def test_logs_list_get_export_and_delete(
    instance: Any, lxd: FakeLXD, tmp_path: Path
) -> None:
    add_log(lxd, "c1", "exec_1.stdout", b"hello\n")
    assert instance.logs.all() == ["exec_1.stdout", "lxc.log"]
    assert instance.logs.get("exec_1.stdout") == "hello\n"
    target = io.BytesIO()
    assert instance.logs.export("exec_1.stdout", target) == 6
    assert target.getvalue() == b"hello\n"
    assert lxd.last("GET", f"{C1}/logs/exec_1.stdout")
    instance.logs.delete("exec_1.stdout")
    assert lxd.calls("DELETE", f"{C1}/logs/exec_1.stdout")
    assert instance.logs.all() == ["lxc.log"]


def test_logs_report_lxds_refusals(instance: Any) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="may not be deleted"):
        instance.logs.delete("lxc.log")
    with pytest.raises(exceptions.LXDAPIException, match="not valid"):
        instance.logs.get("other.log")
    with pytest.raises(exceptions.NotFound):
        instance.logs.delete("exec_missing.stdout")


# -- metadata and templates ------------------------------------------------------
def test_metadata_get_put_and_patch(instance: Any, lxd: FakeLXD) -> None:
    metadata = instance.get_metadata()
    assert metadata["architecture"] == "x86_64"
    metadata["properties"] = {"os": "busybox"}
    instance.put_metadata(metadata)
    assert lxd.last_body("PUT", f"{C1}/metadata") == metadata
    instance.patch_metadata({"properties": {"release": "1"}})
    assert lxd.last_body("PATCH", f"{C1}/metadata") == {"properties": {"release": "1"}}
    assert instance.get_metadata()["properties"] == {"os": "busybox", "release": "1"}


def test_metadata_must_be_a_dict(instance: Any, lxd: FakeLXD) -> None:
    with pytest.raises(TypeError, match="Instance metadata must be a dict"):
        instance.put_metadata(["x"])
    with pytest.raises(TypeError, match="Instance metadata must be a dict"):
        instance.patch_metadata("x")
    assert not lxd.calls("PUT") and not lxd.calls("PATCH")


def test_templates_put_get_list_and_delete(instance: Any, lxd: FakeLXD) -> None:
    instance.templates.put("hostname.tpl", "{{ container.name }}\n")
    call = lxd.last("POST", f"{C1}/metadata/templates")
    assert (call.query, call.body) == (
        {"path": "hostname.tpl"},
        b"{{ container.name }}\n",
    )
    instance.templates.put("raw.tpl", b"\x00bytes")
    assert instance.templates.all() == ["hostname.tpl", "raw.tpl"]
    assert instance.templates.get("hostname.tpl") == "{{ container.name }}\n"
    instance.templates.delete("raw.tpl")
    assert lxd.last("DELETE", f"{C1}/metadata/templates").query == {"path": "raw.tpl"}
    assert instance.templates.all() == ["hostname.tpl"]


def test_templates_report_missing_ones_and_bad_content(instance: Any) -> None:
    with pytest.raises(exceptions.NotFound, match='Template "nope" not found'):
        instance.templates.get("nope")
    with pytest.raises(exceptions.NotFound):
        instance.templates.delete("nope")
    with pytest.raises(TypeError, match="content must be str or bytes"):
        instance.templates.put("x.tpl", 3)


def test_sub_managers_do_no_io_and_name_their_instance(
    instance: Any, lxd: FakeLXD
) -> None:
    before = len(lxd.requests)
    assert "c1" in repr(instance.logs) and "c1" in repr(instance.templates)
    assert "c1" in repr(instance.backups)
    assert len(lxd.requests) == before


def test_extras_of_a_missing_instance_raise_not_found(client: Client) -> None:
    ghost = client.instances.model(client, name="ghost")
    for call in (
        ghost.backups.all,
        ghost.logs.all,
        ghost.templates.all,
        ghost.get_metadata,
    ):
        with pytest.raises(exceptions.NotFound, match="Instance not found"):
            call()


# -- SFTP upgrade ----------------------------------------------------------------
def test_upgrade_sends_the_request_and_leaves_the_protocol_bytes() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: sftp\r\n"
            b"Connection: Upgrade\r\n\r\n\x00\x00\x00\x05"
        )
        _http_upgrade.upgrade(ours, "/1.0/instances/c1/sftp?project=p", "lxd", "sftp")
        request = theirs.recv(4096)
        assert request == (
            b"GET /1.0/instances/c1/sftp?project=p HTTP/1.1\r\nHost: lxd\r\n"
            b"Connection: Upgrade\r\nUpgrade: sftp\r\n\r\n"
        )
        assert ours.recv(4) == b"\x00\x00\x00\x05"


@pytest.mark.parametrize(
    "answer, error, match",
    [
        (
            b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
            b'Content-Length: 50\r\n\r\n{"type":"error","error":"Instance not found","x":1}',
            exceptions.NotFound,
            "Instance not found",
        ),
        (b"HTTP/1.1 200 OK\r\n\r\n", exceptions.LXDAPIException, "HTTP 200"),
        (b"garbage\r\n\r\n", exceptions.ClientConnectionFailed, "status line"),
        (b"HTTP/1.1 101", exceptions.ClientConnectionFailed, "closed the connection"),
    ],
)
def test_upgrade_refusals_raise(answer: bytes, error: type, match: str) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(answer)
        theirs.shutdown(socket.SHUT_WR)
        with pytest.raises(error, match=match):
            _http_upgrade.upgrade(ours, "/1.0/instances/c1/sftp", "lxd", "sftp")


def test_tls_context_follows_the_session_verify() -> None:
    import ssl

    session = requests.Session()
    session.verify = False
    assert _http_upgrade.tls_context(session).verify_mode == ssl.CERT_NONE
    session.verify = True
    assert _http_upgrade.tls_context(session).verify_mode == ssl.CERT_REQUIRED


def test_sftp_on_an_unreachable_socket_raises_connection_failed(
    tmp_path: Path,
) -> None:
    from pylxd._transport import _APINode, unix_socket_url

    node = _APINode(unix_socket_url(str(tmp_path / "none.socket")))["1.0"]
    with pytest.raises(exceptions.ClientConnectionFailed, match="Cannot reach LXD"):
        _http_upgrade.connect(node.instances.c1.sftp, "sftp")

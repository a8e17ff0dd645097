"""Instance files against the real LXD: ``instance.files`` end to end."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest

from integration.conftest import (
    ON_INCUS,
    WAIT,
    busybox_container,
    force_delete_instance,
    unique_name,
)
from pylxd import Client, exceptions
from pylxd.models.files import (
    FileError,
    FileNotFound,
    FilesManager,
    UnsafePathWarning,
)

MiB = 1 << 20


class _Instance:
    """What FilesManager needs of an instance (name, client, api)."""

    def __init__(self, client: Client, name: str) -> None:
        self.name = name
        self.client = client
        self.api = client.api.instances[name]

    def __repr__(self) -> str:
        return f"Instance(name={self.name!r})"


def _wait(client: Client, response: Any) -> None:
    client.operations.wait_for_operation(response.json()["operation"], timeout=WAIT)


@pytest.fixture(scope="module")
def box(client: Client, image_alias: str) -> Iterator[str]:
    """One stopped busybox container for this module (tests use their own dirs)."""
    with busybox_container(client, image_alias, "pylxd-it-files") as name:
        yield name


@pytest.fixture
def files(client: Client, box: str) -> FilesManager:
    return FilesManager(_Instance(client, box))


@pytest.fixture
def workdir(files: FilesManager) -> str:
    """A fresh directory in the container for one test."""
    path = f"/tmp/{unique_name('t')}"
    files.mk_dir(path)
    return path


def test_instance_files_is_a_files_manager(client: Client, box: str) -> None:
    pytest.importorskip("pylxd.models.instance")
    instance = client.instances.get(box)
    assert isinstance(instance.files, FilesManager)
    assert instance.files.listdir("/")


def test_put_get_roundtrip_with_metadata(files: FilesManager, workdir: str) -> None:
    payload = bytes(range(256)) * 3
    files.put(f"{workdir}/bin", payload, mode=0o640, uid=1000, gid=1001)
    files.put(f"{workdir}/text", "héllo\n")

    assert files.get(f"{workdir}/bin") == payload
    assert files.get(f"{workdir}/text") == "héllo\n".encode()
    info = files.stat(f"{workdir}/bin")
    assert (info.type, info.mode, info.uid, info.gid, info.size) == (
        "file",
        0o640,
        1000,
        1001,
        len(payload) if ON_INCUS else None,  # LXD 5.0's HEAD carries no length
    )
    assert files.stat(f"{workdir}/text").mode == 0o644  # LXD's default


@pytest.mark.parametrize("mode", ["644", "0644", "0o644", 0o644])
def test_every_mode_spelling_reaches_lxd_as_octal(
    files: FilesManager, workdir: str, mode: Any
) -> None:
    # LXD itself reads "644" as decimal (0o1204 -> 0204): we must not send it raw.
    files.put(f"{workdir}/m", b"x", mode=mode)
    assert files.stat(f"{workdir}/m").mode == 0o644


def test_streamed_put_and_get_to(
    files: FilesManager, workdir: str, tmp_path: Path
) -> None:
    source = tmp_path / "blob"
    source.write_bytes(os.urandom(5 * MiB + 123))
    sent: list[tuple[int, int | None]] = []
    with open(source, "rb") as handle:
        files.put(f"{workdir}/blob", handle, progress=lambda d, t: sent.append((d, t)))
    assert sent[-1] == (5 * MiB + 123, 5 * MiB + 123) and len(sent) == 6

    received: list[tuple[int, int | None]] = []
    sink = io.BytesIO()
    written = files.get_to(
        f"{workdir}/blob", sink, lambda d, t: received.append((d, t))
    )
    assert written == 5 * MiB + 123
    assert received[-1] == (written, written)
    digest = hashlib.sha256(source.read_bytes()).digest()
    assert hashlib.sha256(sink.getvalue()).digest() == digest
    assert hashlib.sha256(files.get(f"{workdir}/blob")).digest() == digest


def test_empty_file(files: FilesManager, workdir: str) -> None:
    files.put(f"{workdir}/empty", b"")
    assert files.get(f"{workdir}/empty") == b""
    assert files.get_to(f"{workdir}/empty", io.BytesIO()) == 0


def test_a_source_shrinking_mid_upload_is_reported(
    files: FilesManager, workdir: str, tmp_path: Path
) -> None:
    source = tmp_path / "shrinking"
    source.write_bytes(b"s" * (3 * MiB))
    with open(source, "rb") as handle:
        with pytest.raises(exceptions.TransferIncomplete, match="the source ended"):
            files.put(
                f"{workdir}/s", handle, progress=lambda d, t: os.truncate(source, 0)
            )
    files.put(f"{workdir}/after", b"the connection pool still works")
    assert files.get(f"{workdir}/after") == b"the connection pool still works"


def test_put_from_a_generator(files: FilesManager, workdir: str) -> None:
    files.put(f"{workdir}/gen", (bytes([i]) * 1000 for i in range(10)))
    assert files.get(f"{workdir}/gen") == b"".join(bytes([i]) * 1000 for i in range(10))


def test_append_and_replace(files: FilesManager, workdir: str) -> None:
    files.put(f"{workdir}/log", b"one\n", mode=0o600)
    files.put(f"{workdir}/log", b"two\n", append=True)
    assert files.get(f"{workdir}/log") == b"one\ntwo\n"
    files.put(f"{workdir}/log", b"new", mode=0o644)
    assert files.get(f"{workdir}/log") == b"new"
    assert files.stat(f"{workdir}/log").mode == 0o600  # LXD 5.0 keeps the mode
    with pytest.raises(FileNotFound):
        files.put(f"{workdir}/none", b"x", append=True)


def test_mk_dir_listdir_and_symlink(files: FilesManager, workdir: str) -> None:
    files.mk_dir(f"{workdir}/d", mode="0700", uid=5, gid=6)
    files.mk_dir(f"{workdir}/d")  # exists: nothing changes
    files.put(f"{workdir}/d/f", b"x")
    files.symlink(f"{workdir}/link", "d/f")

    assert sorted(files.listdir(workdir)) == ["d", "link"]
    assert files.listdir(f"{workdir}/d") == ["f"]
    info = files.stat(f"{workdir}/d")
    assert (info.type, info.mode, info.uid, info.gid) == ("directory", 0o700, 5, 6)
    assert files.stat(f"{workdir}/link").type == "symlink"
    # LXD stores "d/f" but reports the target joined to the link's directory.
    assert files.get(f"{workdir}/link") == f"{workdir}/d/f".encode()
    with pytest.raises(NotADirectoryError):
        files.listdir(f"{workdir}/d/f")
    with pytest.raises(IsADirectoryError):
        files.get_to(f"{workdir}/d", io.BytesIO())
    with pytest.raises(exceptions.LXDAPIException, match="file exists"):
        files.symlink(f"{workdir}/link", "elsewhere")


def test_delete(files: FilesManager, workdir: str, box: str) -> None:
    assert files.delete_available()
    files.mk_dir(f"{workdir}/d")
    files.put(f"{workdir}/d/f", b"x")
    with pytest.raises(FileError, match="directory not empty") as err:
        files.delete(f"{workdir}/d")
    assert str(err.value).startswith(f"Path '{workdir}/d' in instance '{box}': ")
    files.delete(f"{workdir}/d/f")
    files.delete(f"{workdir}/d")
    assert files.listdir(workdir) == []
    with pytest.raises(FileNotFound):
        files.delete(f"{workdir}/d")


def test_missing_paths_and_instances_name_both(
    client: Client, files: FilesManager, box: str
) -> None:
    with pytest.raises(exceptions.NotFound) as err:
        files.get("/no/such/file")
    assert str(err.value) == f"Path '/no/such/file' in instance '{box}': Not Found"
    with pytest.raises(FileNotFound, match="'/no/such/file'"):
        files.put("/no/such/file", b"x")
    with pytest.raises(FileNotFound, match="'/no/such'"):
        files.stat("/no/such")
    ghost = FilesManager(_Instance(client, unique_name("pylxd-it-ghost")))
    with pytest.raises(
        FileNotFound, match="^Path '/etc' in instance '.*': (.*: )?Instance not found$"
    ):
        ghost.listdir("/etc")


def test_bad_input_sends_nothing(files: FilesManager, workdir: str) -> None:
    with pytest.raises(ValueError, match="'0x1'"):
        files.put(f"{workdir}/f", b"x", mode="0x1")
    with pytest.raises(ValueError, match="path is empty"):
        files.put("", b"x")
    with pytest.raises(TypeError, match="uid"):
        files.put(f"{workdir}/f", b"x", uid=1.5)
    with pytest.raises(ValueError, match="out of range"):
        files.put(f"{workdir}/f", b"x", uid=2**32 + 5)
    with pytest.raises(TypeError):
        files.put(f"{workdir}/f", 12)
    assert files.listdir(workdir) == []


def _local_tree(root: Path) -> Path:
    (root / "secret").write_bytes(b"outside the source")
    src = root / "src"
    (src / "sub" / "deep").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"A")
    (src / "tool").write_bytes(b"#!/bin/sh\necho hi\n")
    (src / "sub" / "deep" / "b.txt").write_bytes(b"B" * 100_000)
    os.chmod(src / "tool", 0o755)
    os.chmod(src / "a.txt", 0o600)
    os.symlink("a.txt", src / "inside")
    os.symlink("../secret", src / "outside")
    return src


def test_recursive_put_keeps_symlinks_as_links(
    files: FilesManager, workdir: str, tmp_path: Path
) -> None:
    src = _local_tree(tmp_path)
    files.recursive_put(str(src), f"{workdir}/dst", mode=True)

    assert sorted(files.listdir(f"{workdir}/dst")) == [
        "a.txt",
        "inside",
        "outside",
        "sub",
        "tool",
    ]
    assert files.get(f"{workdir}/dst/sub/deep/b.txt") == b"B" * 100_000
    assert files.stat(f"{workdir}/dst/tool").mode == 0o755
    assert files.stat(f"{workdir}/dst/a.txt").mode == 0o600
    assert files.stat(f"{workdir}/dst/outside").type == "symlink"
    assert files.get(f"{workdir}/dst/outside") == f"{workdir}/secret".encode()


def test_recursive_put_follows_when_asked(
    files: FilesManager, workdir: str, tmp_path: Path
) -> None:
    src = _local_tree(tmp_path)
    files.recursive_put(str(src), f"{workdir}/dst", mode=0o640, follow_symlinks=True)
    assert files.get(f"{workdir}/dst/outside") == b"outside the source"
    assert files.stat(f"{workdir}/dst/inside").type == "file"
    assert files.stat(f"{workdir}/dst/tool").mode == 0o640


def test_recursive_transfers_report_their_progress_in_bytes(
    files: FilesManager, workdir: str, tmp_path: Path
) -> None:
    src = _local_tree(tmp_path)
    size = len(b"A") + len(b"#!/bin/sh\necho hi\n") + 100_000  # symlinks: no bytes
    sent: list[tuple[int, Any]] = []
    files.recursive_put(str(src), f"{workdir}/dst", progress=lambda *a: sent.append(a))
    assert sent[-1] == (size, None)
    assert [d for d, _ in sent] == sorted(d for d, _ in sent)
    received: list[tuple[int, Any]] = []
    with pytest.warns(UnsafePathWarning, match="outside"):  # the link to ../secret
        files.recursive_get(
            f"{workdir}/dst",
            str(tmp_path / "back"),
            progress=lambda *a: received.append(a),
        )
    assert received[-1] == (size, None)
    assert (tmp_path / "back" / "sub" / "deep" / "b.txt").read_bytes() == b"B" * 100_000


def test_recursive_put_of_a_file_is_refused(
    files: FilesManager, tmp_path: Path
) -> None:
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(NotADirectoryError):
        files.recursive_put(str(tmp_path / "f"), "/tmp/never")
    with pytest.raises(FileNotFound):
        files.stat("/tmp/never")


def test_recursive_get_keeps_modes_and_safe_links(
    files: FilesManager, workdir: str, tmp_path: Path
) -> None:
    remote = f"{workdir}/tree"
    files.mk_dir(remote, mode=0o755)
    files.mk_dir(f"{remote}/conf", mode=0o750)
    files.put(f"{remote}/conf/app.ini", b"k=v\n", mode=0o600)
    files.put(f"{remote}/run", b"#!/bin/sh\n", mode=0o755)
    files.symlink(f"{remote}/current", "conf/app.ini")
    files.symlink(f"{remote}/passwd", "/etc/passwd")
    files.symlink(f"{remote}/escape", "../../../../etc/shadow")
    files.symlink(f"{remote}/conf/up", "..")  # a loop: kept, never followed
    local = tmp_path / "pulled"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        files.recursive_get(remote, str(local))

    assert sorted(str(w.message) for w in caught) == [
        f"Skipped '{remote}/escape': symlink to '/etc/shadow' points outside "
        f"'{remote}'",
        f"Skipped '{remote}/passwd': symlink to '/etc/passwd' points outside "
        f"'{remote}'",
    ]
    assert all(w.category is UnsafePathWarning for w in caught)
    assert sorted(os.listdir(local)) == ["conf", "current", "run"]
    assert os.readlink(local / "current") == "conf/app.ini"
    assert os.readlink(local / "conf" / "up") == ".."
    assert (local / "current").read_bytes() == b"k=v\n"
    assert stat.S_IMODE(os.stat(local / "conf" / "app.ini").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(local / "conf").st_mode) == 0o750
    assert stat.S_IMODE(os.stat(local / "run").st_mode) == 0o755
    assert sorted(os.listdir(tmp_path)) == ["pulled"]


def test_recursive_get_of_the_image_etc(files: FilesManager, tmp_path: Path) -> None:
    files.recursive_get("/etc", str(tmp_path / "etc"))
    assert sorted(os.listdir(tmp_path / "etc")) == sorted(files.listdir("/etc"))
    assert (tmp_path / "etc" / "hostname").read_bytes() == files.get("/etc/hostname")


def test_files_on_a_running_container(client: Client, make_container_raw: Any) -> None:
    name = make_container_raw()
    api = client.api.instances[name]
    _wait(client, api.state.put(json={"action": "start", "timeout": 30}))
    files = FilesManager(_Instance(client, name))
    files.put("/tmp/live", b"running")
    assert files.get("/tmp/live") == b"running"
    assert "live" in files.listdir("/tmp")


def test_files_over_https(
    https_client: Client, files: FilesManager, workdir: str
) -> None:
    remote = FilesManager(_Instance(https_client, files._instance.name))
    payload = os.urandom(3 * MiB)
    remote.put(f"{workdir}/tls", io.BytesIO(payload))
    sink = io.BytesIO()
    remote.get_to(f"{workdir}/tls", sink)
    assert sink.getvalue() == payload
    assert files.get(f"{workdir}/tls") == payload


@pytest.fixture
def make_container_raw(client: Client, image_alias: str) -> Iterator[Any]:
    made: list[str] = []

    def make() -> str:
        name = unique_name("pylxd-it-files")
        made.append(name)
        body = {"name": name, "source": {"type": "image", "alias": image_alias}}
        _wait(client, client.api.instances.post(json=body))
        return name

    yield make
    for name in made:
        force_delete_instance(client, name)


def test_container_fixture_files(container: Any) -> None:
    container.files.put("/root/hello", b"hi", mode="0600")
    assert container.files.get("/root/hello") == b"hi"
    assert container.files.stat("/root/hello").mode == 0o600
    assert "hello" in container.files.listdir("/root")
    container.files.delete("/root/hello")
    with pytest.raises(exceptions.NotFound):
        container.files.get("/root/hello")

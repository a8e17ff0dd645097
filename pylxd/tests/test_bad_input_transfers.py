"""Transfers: nothing short reported as success, nothing sent for bad input.

Three families, through the public API on the fake LXD (and, for the short
body, over a real Unix socket served by a minimal local server):

- short bodies: every download raises ``TransferIncomplete`` naming what
  and the byte counts; a download to a path leaves no file behind and an
  existing file as it was;
- bad input (uid/gid, chunk sizes, targets, upload data): refused before
  any request, so LXD never truncates the file;
- uploads failing midway raise, and ``put(atomic=True)`` replaces a file
  only when the upload is complete.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from pylxd import Client, exceptions
from pylxd.exceptions import TransferIncomplete
from pylxd.models.instance import Instance
from pylxd.testing import FakeLXD
from pylxd.testing._fake_files import add_entry, filesystem
from pylxd.testing._fake_images import add_image
from pylxd.testing._fake_instance_subresources import subresources
from pylxd.tests.test_bad_input import EMPTY, Ctx, Row

FILES = "/1.0/instances/c1/files"
DATA = bytes(range(256)) * 400  # 102400 bytes


@pytest.fixture
def ctx(tmp_path: Path) -> Ctx:
    fake = FakeLXD()
    client = fake.client()
    box = client.instances.create({"name": "c1", **EMPTY}, wait=True)
    box.start(wait=True)
    add_entry(filesystem(fake, "c1"), "/srv", "directory")
    add_entry(filesystem(fake, "c1"), "/srv/data", content=DATA)
    fake.requests.clear()
    return Ctx(fake, client, box, tmp_path)


def _fs(ctx: Ctx) -> dict[str, Any]:
    return filesystem(ctx.fake, "c1")


# -- short bodies ------------------------------------------------------------
def _cut_file(ctx: Ctx, keep: int = 1000) -> None:
    ctx.fake.truncate_next(keep, "GET", FILES, query={"path": "/srv/data"})


def test_get_of_a_short_body_raises_with_the_byte_counts(ctx: Ctx) -> None:
    _cut_file(ctx)
    with pytest.raises(TransferIncomplete) as err:
        ctx.box.files.get("/srv/data")
    assert (err.value.received, err.value.expected) == (1000, len(DATA))
    assert "'/srv/data'" in str(err.value) and "1000 of 102400 bytes" in str(err.value)
    assert isinstance(err.value, exceptions.ClientConnectionFailed)


def test_get_to_a_file_object_raises_on_a_short_body(ctx: Ctx) -> None:
    _cut_file(ctx)
    with pytest.raises(TransferIncomplete, match="1000 of 102400"):
        ctx.box.files.get_to("/srv/data", io.BytesIO())


def test_get_to_a_path_leaves_no_file_on_a_short_body(ctx: Ctx) -> None:
    _cut_file(ctx)
    with pytest.raises(TransferIncomplete):
        ctx.box.files.get_to("/srv/data", str(ctx.tmp / "out"))
    assert os.listdir(ctx.tmp) == []


def test_get_to_a_path_keeps_the_existing_file_on_a_short_body(ctx: Ctx) -> None:
    target = ctx.tmp / "out"
    target.write_bytes(b"previous")
    _cut_file(ctx)
    with pytest.raises(TransferIncomplete):
        ctx.box.files.get_to("/srv/data", target)
    assert target.read_bytes() == b"previous"
    assert os.listdir(ctx.tmp) == ["out"]


def test_get_to_a_path_writes_it_whole(ctx: Ctx) -> None:
    target = ctx.tmp / "out"
    target.write_bytes(b"previous")
    assert ctx.box.files.get_to("/srv/data", str(target)) == len(DATA)
    assert target.read_bytes() == DATA
    assert os.listdir(ctx.tmp) == ["out"]


def test_get_to_follows_a_symlink_named_as_the_destination(ctx: Ctx) -> None:
    real = ctx.tmp / "real"
    real.write_bytes(b"")
    (ctx.tmp / "link").symlink_to(real)
    ctx.box.files.get_to("/srv/data", ctx.tmp / "link")
    assert real.read_bytes() == DATA and (ctx.tmp / "link").is_symlink()


def test_get_to_dev_null_writes_in_place(ctx: Ctx) -> None:
    assert ctx.box.files.get_to("/srv/data", os.devnull) == len(DATA)
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)


def test_recursive_get_of_a_short_file_raises_and_leaves_nothing(ctx: Ctx) -> None:
    _cut_file(ctx, keep=10)
    with pytest.raises(TransferIncomplete, match="'/srv/data'"):
        ctx.box.files.recursive_get("/srv", str(ctx.tmp / "tree"))
    assert os.listdir(ctx.tmp / "tree") == []


def _backup(ctx: Ctx) -> Any:
    backup = ctx.box.backups.create("b1")
    subresources(ctx.fake, "c1")["backups"]["b1"]["data"] = DATA
    return backup


def test_backup_export_to_a_path_raises_on_a_short_body(ctx: Ctx) -> None:
    backup = _backup(ctx)
    target = ctx.tmp / "b1.tar.gz"
    target.write_bytes(b"older backup")
    ctx.fake.truncate_next(5000, "GET", "/1.0/instances/c1/backups/b1/export")
    with pytest.raises(TransferIncomplete, match="Backup 'b1' export.*5000 of 102400"):
        backup.export(target)
    assert target.read_bytes() == b"older backup"
    assert os.listdir(ctx.tmp) == ["b1.tar.gz"]


def test_volume_backup_export_raises_on_a_short_body(ctx: Ctx) -> None:
    pool = ctx.client.storage_pools.create({"name": "p1", "driver": "dir"})
    volume = pool.volumes.create({"name": "v1"})
    backup = volume.backups.create("vb")
    url = "/1.0/storage-pools/p1/volumes/custom/v1/backups/vb/export"
    ctx.fake.truncate_next(3, "GET", url)
    with pytest.raises(TransferIncomplete, match="Volume backup 'vb' export"):
        backup.export(str(ctx.tmp / "vb.tar"))
    assert os.listdir(ctx.tmp) == []


def test_log_export_raises_on_a_short_body(ctx: Ctx) -> None:
    subresources(ctx.fake, "c1")["logs"]["lxc.log"] = DATA
    ctx.fake.truncate_next(7, "GET", "/1.0/instances/c1/logs/lxc.log")
    with pytest.raises(TransferIncomplete, match="Log 'lxc.log' export.*7 of 102400"):
        ctx.box.logs.export("lxc.log", str(ctx.tmp / "lxc.log"))
    assert os.listdir(ctx.tmp) == []


@pytest.fixture
def image(ctx: Ctx) -> Any:
    data = DATA * 3
    fingerprint = hashlib.sha256(data).hexdigest()
    add_image(ctx.fake, "default", fingerprint, data=data)
    return ctx.client.images.get(fingerprint)


def _read_export(image: Any, stream: bool) -> None:
    with image.export(stream=stream) as handle:
        handle.read()


@pytest.mark.parametrize(
    "export",
    [
        lambda image: image.export_to(io.BytesIO(), verify=True),
        lambda image: image.export_to(io.BytesIO(), verify=False),
        lambda image: _read_export(image, stream=True),
        lambda image: _read_export(image, stream=False),
    ],
    ids=["export_to verify", "export_to no verify", "export stream", "export"],
)
def test_image_exports_raise_on_a_short_body(
    ctx: Ctx, image: Any, export: Callable[[Any], Any]
) -> None:
    ctx.fake.truncate_next(4096, "GET", f"/1.0/images/{image.fingerprint}/export")
    with pytest.raises(TransferIncomplete, match="4096 of 307200"):
        export(image)


def test_image_export_is_seekable_at_0_as_in_pylxd_2_4(image: Any) -> None:
    with image.export() as handle:
        assert handle.tell() == 0 and handle.seekable()
        data = handle.read()
        handle.seek(0)
        assert handle.read(10) == data[:10]
    assert hashlib.sha256(data).hexdigest() == image.fingerprint


# -- a real Unix socket: Content-Length N, N/2 sent, then closed --------------
class _HalfServer:
    """Answers ``GET /1.0`` properly, then any other GET with half a body."""

    def __init__(self, path: str, size: int) -> None:
        self.size = size
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        while True:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            if request.startswith(b"GET /1.0 "):
                body = (
                    b'{"type": "sync", "status_code": 200, "metadata": '
                    b'{"api_extensions": [], "auth": "trusted", "environment": {}}}'
                )
                head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                conn.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode())
                conn.sendall(body)
                continue
            if request.startswith(b"POST "):
                _read_some(conn, len(request), 256 * 1024)
                return  # and close mid-upload: the daemon died
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                f"X-LXD-type: file\r\nContent-Length: {self.size}\r\n\r\n"
            )
            conn.sendall(head.encode() + b"x" * (self.size // 2))
            return  # and close: the daemon died

    def close(self) -> None:
        self.listener.close()


def _read_some(conn: socket.socket, already: int, size: int) -> None:
    while already < size:
        chunk = conn.recv(65536)
        if not chunk:
            return
        already += len(chunk)


@pytest.fixture
def half_server(tmp_path: Path) -> Iterator[tuple[Client, _HalfServer]]:
    path = str(tmp_path / "lxd.socket")
    server = _HalfServer(path, 4 * 1024 * 1024)
    try:
        yield Client(endpoint=path), server
    finally:
        server.close()


@pytest.mark.parametrize(
    "download",
    [
        lambda files, tmp: files.get("/f"),
        lambda files, tmp: files.get_to("/f", io.BytesIO()),
        lambda files, tmp: files.get_to("/f", str(tmp / "out")),
        lambda files, tmp: files.recursive_get("/f", str(tmp / "out")),
    ],
    ids=["get", "get_to file object", "get_to path", "recursive_get"],
)
def test_a_body_cut_on_a_real_socket_raises(
    half_server: tuple[Client, _HalfServer],
    tmp_path: Path,
    download: Callable[[Any, Path], Any],
) -> None:
    client, server = half_server
    files = Instance(client, name="c1").files  # not fetched: no GET of c1
    with pytest.raises(TransferIncomplete) as err:
        download(files, tmp_path)
    assert err.value.expected == server.size
    assert err.value.received == server.size // 2
    assert sorted(os.listdir(tmp_path)) == ["lxd.socket"]


def test_an_upload_cut_on_a_real_socket_says_how_much_was_sent(
    half_server: tuple[Client, _HalfServer], tmp_path: Path
) -> None:
    client, _ = half_server
    files: Any = Instance(client, name="c1").files
    source = tmp_path / "big"
    source.write_bytes(b"u" * (16 * 1024 * 1024))
    with open(source, "rb") as data:
        with pytest.raises(
            TransferIncomplete, match="LXD keeps what it received"
        ) as err:
            files.put("/f", data)
    assert err.value.expected == 16 * 1024 * 1024
    assert 0 <= err.value.received < err.value.expected


# -- bad input: refused before any request --------------------------------------
def _no_request(ctx: Ctx) -> None:
    assert ctx.fake.requests == [], [(r.method, r.path) for r in ctx.fake.requests]


BAD_IDS = [2**32 + 5, 2**70, -1, "٣", "-1", "", " 1", 1.0, True]


#: The calls taking uid/gid, each given ``{field: value}``.
ID_CALLS: dict[str, Callable[[Ctx, dict[str, Any]], Any]] = {
    "put": lambda c, kw: c.box.files.put("/srv/data", b"new", **kw),
    "mk_dir": lambda c, kw: c.box.files.mk_dir("/srv/d", **kw),
    "recursive_put": lambda c, kw: c.box.files.recursive_put(
        str(c.tmp), "/srv/t", **kw
    ),
}


def _id_row(name: str, field: str, value: Any) -> Row:
    call = ID_CALLS[name]
    error = TypeError if isinstance(value, (bool, float)) else ValueError
    return Row(
        f"{name} {field}={value!r}",
        lambda c: call(c, {field: value}),
        error,
        (field, repr(value)),
    )


def _id_rows() -> list[Row]:
    return [
        _id_row(name, field, value)
        for value in BAD_IDS
        for field in ("uid", "gid")
        for name in ID_CALLS
    ]


ROWS = _id_rows() + [
    Row(
        "put a list of ints",
        lambda c: c.box.files.put("/srv/data", [1, 2, 3]),
        TypeError,
        ("FilesManager.put", "chunks must be bytes or str", "int"),
    ),
    Row(
        "put a generator of ints",
        lambda c: c.box.files.put("/srv/data", (i for i in [1, 2, 3])),
        TypeError,
        ("FilesManager.put", "int"),
    ),
    Row(
        "put a dict",
        lambda c: c.box.files.put("/srv/data", {"a": 1}),
        TypeError,
        ("FilesManager.put", "dict"),
    ),
    Row(
        "put a write-only file",
        lambda c: c.box.files.put("/srv/data", open(c.tmp / "w", "wb")),
        ValueError,
        ("FilesManager.put", "cannot be read"),
    ),
    Row(
        "put atomic and append",
        lambda c: c.box.files.put("/srv/data", b"x", append=True, atomic=True),
        ValueError,
        ("atomic=True cannot append",),
    ),
    Row(
        "get_to chunk_size=0",
        lambda c: c.box.files.get_to("/srv/data", io.BytesIO(), chunk_size=0),
        ValueError,
        ("FilesManager.get_to", "chunk_size", "0"),
    ),
    Row(
        "get_to chunk_size=-1",
        lambda c: c.box.files.get_to("/srv/data", io.BytesIO(), chunk_size=-1),
        ValueError,
        ("chunk_size", "-1"),
    ),
    Row(
        "get_to chunk_size=1.5",
        lambda c: c.box.files.get_to("/srv/data", io.BytesIO(), chunk_size=1.5),
        TypeError,
        ("chunk_size", "1.5"),
    ),
    Row(
        "get_to chunk_size=True",
        lambda c: c.box.files.get_to("/srv/data", io.BytesIO(), chunk_size=True),
        TypeError,
        ("chunk_size", "True"),
    ),
    Row(
        "get_to into an int",
        lambda c: c.box.files.get_to("/srv/data", 42),
        TypeError,
        ("FilesManager.get_to", "target", "int"),
    ),
    Row(
        "get_to into a directory",
        lambda c: c.box.files.get_to("/srv/data", str(c.tmp)),
        ValueError,
        ("FilesManager.get_to", "is a directory"),
    ),
    Row(
        "get_to into a missing directory",
        lambda c: c.box.files.get_to("/srv/data", str(c.tmp / "nope" / "out")),
        ValueError,
        ("FilesManager.get_to", "has no directory"),
    ),
    Row(
        "backup export into a directory",
        lambda c: c.box.backups.get("b1").export(c.tmp),
        ValueError,
        ("Backup 'b1' export", "is a directory"),
    ),
    Row(
        "backup export into a list",
        lambda c: c.box.backups.get("b1").export([]),
        TypeError,
        ("Backup 'b1' export", "list"),
    ),
    Row(
        "image export_to a str",
        lambda c: c.client.images.all()[0].export_to("/tmp/out"),  # type: ignore[arg-type]
        TypeError,
        ("export", "fileobj", "str"),
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_sends_nothing(row: Row, ctx: Ctx, image: Any) -> None:
    ctx.box.backups.create("b1")
    before = dict(_fs(ctx))
    ctx.fake.requests.clear()
    with pytest.raises(row.exc) as info:
        row.call(ctx)
    assert isinstance(info.value, exceptions.LXDAPIException)
    text = str(info.value)
    missing = [word for word in row.words if word.lower() not in text.lower()]
    assert missing == [], f"{type(info.value).__name__}: {text}"
    assert [
        (r.method, r.path) for r in ctx.fake.requests if r.path.endswith("/files")
    ] == []
    assert [r for r in ctx.fake.requests if r.method != "GET"] == []
    assert _fs(ctx) == before
    assert _fs(ctx)["/srv/data"]["content"] == DATA


def test_the_largest_ids_are_sent(ctx: Ctx) -> None:
    ctx.box.files.put("/srv/x", b"x", uid=2**32 - 1, gid="4294967295")
    entry = _fs(ctx)["/srv/x"]
    assert (entry["uid"], entry["gid"]) == (2**32 - 1, 2**32 - 1)


def test_check_id_is_one_reusable_helper() -> None:
    from pylxd._ids import MAX_ID, check_id

    assert check_id("user", "1000") == 1000 and check_id("user", MAX_ID) == MAX_ID
    with pytest.raises(exceptions.InvalidArgument, match="user '٣'"):
        check_id("user", "٣")


# -- uploads failing midway -----------------------------------------------------
def test_an_upload_whose_source_fails_midway_raises(ctx: Ctx) -> None:
    def chunks() -> Iterator[Any]:
        yield b"first"
        yield 42

    with pytest.raises(TransferIncomplete, match="5 bytes: the data source failed"):
        ctx.box.files.put("/srv/new", chunks())


def test_an_upload_cut_by_the_daemon_raises(ctx: Ctx) -> None:
    ctx.fake.disconnect_next("POST", FILES)
    with pytest.raises(exceptions.ClientConnectionFailed):
        ctx.box.files.put("/srv/data", b"new")


# -- put(atomic=True) -------------------------------------------------------------
def test_atomic_put_uploads_beside_and_renames(ctx: Ctx) -> None:
    ctx.box.files.put("/srv/data", b"whole new content", mode=0o600, atomic=True)
    fs = _fs(ctx)
    assert fs["/srv/data"]["content"] == b"whole new content"
    assert fs["/srv/data"]["mode"] == 0o600
    assert [p for p in fs if p.startswith("/srv/.data")] == []
    uploaded = [
        r.query["path"]
        for r in ctx.fake.requests
        if r.method == "POST" and r.path == FILES
    ]
    assert uploaded[0].startswith("/srv/.data.pylxd-") and uploaded[0].endswith(".part")


def test_atomic_put_keeps_the_file_when_the_upload_fails(ctx: Ctx) -> None:
    def chunks() -> Iterator[Any]:
        yield b"half"
        raise OSError("disk gone")

    with pytest.raises(TransferIncomplete, match="disk gone"):
        ctx.box.files.put("/srv/data", chunks(), atomic=True)
    fs = _fs(ctx)
    assert fs["/srv/data"]["content"] == DATA
    assert [p for p in fs if p.startswith("/srv/.data")] == []


def test_atomic_put_keeps_the_file_when_the_rename_fails(ctx: Ctx) -> None:
    ctx.fake.on_exec(["mv"], stderr="mv: Permission denied\n", exit_code=1)
    with pytest.raises(exceptions.FileReplaceFailed, match="Permission denied") as err:
        ctx.box.files.put("/srv/data", b"new", atomic=True)
    assert isinstance(err.value, exceptions.FileError)
    assert err.value.path == "/srv/data" and err.value.instance == "c1"
    fs = _fs(ctx)
    assert fs["/srv/data"]["content"] == DATA
    assert [p for p in fs if p.startswith("/srv/.data")] == []


# -- pylxd 2.4.2 rows 40 and 41 ------------------------------------------------
def test_relative_paths_start_at_the_root(ctx: Ctx) -> None:
    ctx.box.files.put("srv/rel", b"r")
    assert ctx.fake.requests[-1].query["path"] == "/srv/rel"
    assert ctx.box.files.get("srv/rel") == b"r"
    ctx.box.files.mk_dir("srv/reldir")
    assert _fs(ctx)["/srv/reldir"]["type"] == "directory"
    ctx.box.files.delete("srv/rel")
    assert "/srv/rel" not in _fs(ctx)


def test_put_mode_true_keeps_the_local_file_mode(ctx: Ctx) -> None:
    local = ctx.tmp / "script"
    local.write_bytes(b"#!/bin/sh\n")
    local.chmod(0o750)
    with open(local, "rb") as handle:
        ctx.box.files.put("/srv/script", handle, mode=True)
    assert _fs(ctx)["/srv/script"]["mode"] == 0o750
    ctx.box.files.put("/srv/plain", b"x", mode=False)
    assert _fs(ctx)["/srv/plain"]["mode"] == 0o644


@pytest.mark.parametrize(
    "mode, expected",
    [(None, (0o750, 0o644)), (False, (0o750, 0o644))]
    + [(True, (0o711, 0o640)), (0o600, (0o600, 0o600))],
)
def test_recursive_put_modes(ctx: Ctx, mode: Any, expected: tuple[int, int]) -> None:
    src = ctx.tmp / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub").chmod(0o711)
    (src / "f").write_bytes(b"f")
    (src / "f").chmod(0o640)
    ctx.box.files.recursive_put(str(src), "/srv/tree", mode=mode)
    fs = _fs(ctx)
    assert (fs["/srv/tree/sub"]["mode"], fs["/srv/tree/f"]["mode"]) == expected


def test_reading_the_first_chunk_early_holds_no_extra_chunk(tmp_path: Path) -> None:
    import tracemalloc

    from pylxd.models import _streaming

    source = tmp_path / "eight"
    source.write_bytes(bytes(8 * _streaming.CHUNK_SIZE))
    with open(source, "rb") as handle:
        tracemalloc.start()
        try:
            sent = sum(len(chunk) for chunk in _streaming.UploadBody(handle))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert sent == 8 * _streaming.CHUNK_SIZE
    assert peak < 2.5 * _streaming.CHUNK_SIZE, peak

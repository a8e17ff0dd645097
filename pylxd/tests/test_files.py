"""Unit tests for ``instance.files`` (FilesManager) against the fake LXD."""

from __future__ import annotations

import io
import json
import os
import stat
import warnings
from pathlib import Path
from typing import Any

import pytest

from pylxd import exceptions
from pylxd.exceptions import TransferIncomplete
from pylxd.models.files import (
    FileError,
    FileInfo,
    FileNotFound,
    FilesManager,
    UnsafePathWarning,
)
from pylxd.testing import FakeLXD, FakeRequest
from pylxd.testing._fake_files import add_entry, filesystem

FILES = "/1.0/instances/c1/files"
MiB = 1 << 20


class _Instance:
    """The least an instance offers FilesManager: name, client, api."""

    def __init__(self, client: Any, name: str = "c1") -> None:
        self.name = name
        self.client = client
        self.api = client.api.instances[name]

    def __repr__(self) -> str:
        return f"Instance(name={self.name!r})"


def make_fake(project: str = "default", **kwargs: Any) -> FakeLXD:
    fake = FakeLXD(**kwargs)
    if project != "default":
        fake.store("projects")[project] = {"name": project, "config": {}}
    fake.store("instances", project)["c1"] = {"name": "c1", "status": "Stopped"}
    return fake


@pytest.fixture
def fake() -> FakeLXD:
    return make_fake()


@pytest.fixture
def files(fake: FakeLXD) -> FilesManager:
    return FilesManager(_Instance(fake.client()))


@pytest.fixture
def fs(fake: FakeLXD) -> dict[str, Any]:
    return filesystem(fake, "c1")


@pytest.fixture
def seen(fake: FakeLXD) -> list[FakeRequest]:
    """Every request as the fake's handlers see it (headers included)."""
    requests: list[FakeRequest] = []

    def record(request: FakeRequest) -> None:
        requests.append(request)
        return None

    fake.faults.append(record)
    return requests


def lxd_headers(request: FakeRequest) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.lower().startswith("x-lxd")}


def file_calls(fake: FakeLXD) -> list[tuple[str, str, dict[str, str]]]:
    return [(r.method, r.path, r.query) for r in fake.requests if "/files" in r.path]


# -- put ----------------------------------------------------------------------
def test_put_bytes_sends_one_post_with_the_raw_body(files, fake, fs, seen):
    files.put("/tmp/f", b"data")

    assert file_calls(fake) == [("POST", FILES, {"path": "/tmp/f"})]
    assert seen[-1].body == b"data"
    assert seen[-1].headers["Content-Type"] == "application/octet-stream"
    assert lxd_headers(seen[-1]) == {}
    assert fs["/tmp/f"]["content"] == b"data"
    assert (fs["/tmp/f"]["mode"], fs["/tmp/f"]["uid"]) == (0o644, 0)


@pytest.mark.parametrize(
    "data", [bytearray(b"data"), memoryview(b"data"), memoryview(b"da" b"ta").cast("c")]
)
def test_put_of_other_buffers(files, fs, data):
    files.put("/tmp/f", data)
    assert fs["/tmp/f"]["content"] == b"data"


def test_put_str_is_sent_as_utf8(files, fs):
    files.put("/tmp/f", "héllo")
    assert fs["/tmp/f"]["content"] == "héllo".encode()


def test_put_sends_mode_uid_gid_headers(files, fs, seen):
    files.put("/tmp/f", b"x", mode=0o600, uid=1000, gid="1001")

    assert lxd_headers(seen[-1]) == {
        "X-LXD-mode": "0600",
        "X-LXD-uid": "1000",
        "X-LXD-gid": "1001",
    }
    assert (fs["/tmp/f"]["mode"], fs["/tmp/f"]["uid"], fs["/tmp/f"]["gid"]) == (
        0o600,
        1000,
        1001,
    )


@pytest.mark.parametrize(
    "mode, header",
    [
        (0o644, "0644"),
        (420, "0644"),
        ("0644", "0644"),
        ("644", "0644"),
        ("0o644", "0644"),
        ("0O755", "0755"),
        (0o4755, "04755"),
        ("7", "07"),
        (0, "00"),
    ],
)
def test_modes_are_sent_as_zero_prefixed_octal(files, seen, mode, header):
    files.put("/tmp/f", b"x", mode=mode)
    assert seen[-1].headers["X-LXD-mode"] == header


@pytest.mark.parametrize(
    "mode", ["abc", "0x1a4", "9", "", "0o", "64 4", 0o10000, -1, 1.5, [0o644]]
)
def test_a_mode_that_is_not_octal_raises_valueerror_naming_it(files, fake, mode):
    with pytest.raises(ValueError) as err:
        files.put("/tmp/f", b"x", mode=mode)
    assert repr(mode) in str(err.value)
    assert "'c1'" in str(err.value)
    assert file_calls(fake) == []


@pytest.mark.parametrize("field", ["uid", "gid"])
@pytest.mark.parametrize(
    "value, error",
    [(-1, ValueError), ("x", ValueError), ("1.5", ValueError)]
    + [(1.5, TypeError), (True, TypeError)],
)
def test_bad_uid_or_gid_raises_before_any_request(files, fake, field, value, error):
    with pytest.raises(error, match=field) as err:
        files.put("/tmp/f", b"x", **{field: value})
    assert repr(value) in str(err.value)
    assert file_calls(fake) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.put("", b"x"),
        lambda f: f.get(""),
        lambda f: f.mk_dir(""),
        lambda f: f.put(None, b"x"),
        lambda f: f.put("/tmp/a\0b", b"x"),
        lambda f: f.recursive_put(".", ""),
    ],
)
def test_bad_paths_are_refused_before_any_request(files, fake, call):
    with pytest.raises((ValueError, TypeError), match="path") as err:
        call(files)
    assert "'c1'" in str(err.value)
    assert file_calls(fake) == []


def test_a_path_object_is_accepted(files, fs):
    from pathlib import PurePosixPath

    files.put(PurePosixPath("/tmp/p"), b"x")
    assert fs["/tmp/p"]["content"] == b"x"


def test_special_characters_in_the_path_survive_the_query(files, fake, fs):
    files.put("/tmp/a b?c#d&e=%", b"x")
    assert fake.requests[-1].query == {"path": "/tmp/a b?c#d&e=%"}
    assert "/tmp/a b?c#d&e=%" in fs


def test_put_of_a_file_streams_it_with_its_length(files, fs, seen, tmp_path):
    source = tmp_path / "big"
    source.write_bytes(b"a" * (2 * MiB + 5))
    progress: list[tuple[int, int | None]] = []
    with open(source, "rb") as handle:
        files.put("/tmp/big", handle, progress=lambda d, t: progress.append((d, t)))
        body = seen[-1].prepared.body

    assert not isinstance(body, (bytes, bytearray))  # streamed, not read whole
    headers = seen[-1].prepared.headers
    assert headers["Content-Length"] == str(2 * MiB + 5)
    assert "Transfer-Encoding" not in headers
    assert fs["/tmp/big"]["content"] == b"a" * (2 * MiB + 5)
    total = 2 * MiB + 5
    assert progress == [(MiB, total), (2 * MiB, total), (total, total)]


def test_put_of_a_pipe_streams_a_chunked_body(files, fs, seen):
    read_end, write_end = os.pipe()
    os.write(write_end, b"piped")
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        files.put("/tmp/p", pipe)
        assert not isinstance(seen[-1].prepared.body, (bytes, bytearray))
    assert seen[-1].prepared.headers["Transfer-Encoding"] == "chunked"
    assert fs["/tmp/p"]["content"] == b"piped"


def test_a_file_that_shrinks_during_the_upload_aborts_it(files, tmp_path):
    source = tmp_path / "shrinking"
    source.write_bytes(b"s" * (2 * MiB))
    with open(source, "rb") as handle:
        with pytest.raises(TransferIncomplete, match="ended 1048576 bytes before"):
            files.put("/tmp/s", handle, progress=lambda d, t: os.truncate(source, MiB))


def test_a_file_that_grows_during_the_upload_sends_its_first_size(files, fs, tmp_path):
    source = tmp_path / "growing"
    source.write_bytes(b"g" * MiB)
    with open(source, "rb") as handle, open(source, "ab") as writer:
        files.put("/tmp/g", handle, progress=lambda d, t: writer.write(b"more"))
    assert fs["/tmp/g"]["content"] == b"g" * MiB


def test_put_reads_file_objects_in_bounded_chunks(files, fs):
    reads: list[int] = []

    class Source(io.RawIOBase):
        def __init__(self) -> None:
            self.left = 3 * MiB

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            reads.append(n)
            take = min(n, self.left)
            self.left -= take
            return b"z" * take

    files.put("/tmp/s", Source())
    assert reads and all(0 < n <= MiB for n in reads)
    assert len(fs["/tmp/s"]["content"]) == 3 * MiB


def test_progress_total_of_a_bytesio_and_of_a_pipe(files):
    seen_totals: list[int | None] = []
    files.put(
        "/tmp/a", io.BytesIO(b"12345"), progress=lambda d, t: seen_totals.append(t)
    )
    read_end, write_end = os.pipe()
    os.write(write_end, b"pipe")
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        files.put("/tmp/b", pipe, progress=lambda d, t: seen_totals.append(t))
    assert seen_totals == [5, None]


def test_put_with_progress_of_bytes_reports_every_chunk(files, fs):
    progress: list[tuple[int, int | None]] = []
    files.put("/tmp/f", b"q" * (MiB + 1), progress=lambda d, t: progress.append((d, t)))
    assert progress == [(MiB, MiB + 1), (MiB + 1, MiB + 1)]
    assert fs["/tmp/f"]["content"] == b"q" * (MiB + 1)


def test_put_accepts_a_text_file_and_an_iterable_of_bytes(files, fs):
    files.put("/tmp/t", io.StringIO("tëxt"))
    files.put("/tmp/i", (part for part in (b"ab", bytearray(b"cd"), "é")))
    assert fs["/tmp/t"]["content"] == "tëxt".encode()
    assert fs["/tmp/i"]["content"] == "abcdé".encode()


@pytest.mark.parametrize("data", [42, 1.5, {"a": 1}, None])
def test_put_of_an_unsupported_type_raises_typeerror(files, fake, data):
    with pytest.raises(TypeError, match=type(data).__name__):
        files.put("/tmp/f", data)
    assert file_calls(fake) == []


def test_put_append(files, fs, seen):
    files.put("/tmp/f", b"one")
    files.put("/tmp/f", b"two", append=True)
    assert seen[-1].headers["X-LXD-write"] == "append"
    assert fs["/tmp/f"]["content"] == b"onetwo"


def test_append_to_a_missing_file_is_not_found(files):
    with pytest.raises(FileNotFound):
        files.put("/tmp/none", b"x", append=True)


def test_replacing_a_file_keeps_its_mode_and_owner_like_lxd(files, fs):
    files.put("/tmp/f", b"first", mode=0o600, uid=5)
    files.put("/tmp/f", b"second", mode=0o644, uid=7)
    assert (fs["/tmp/f"]["content"], fs["/tmp/f"]["mode"], fs["/tmp/f"]["uid"]) == (
        b"second",
        0o600,
        5,
    )


def test_put_into_a_missing_directory_names_instance_and_path(files):
    with pytest.raises(FileNotFound) as err:
        files.put("/nodir/f", b"x")
    assert str(err.value) == "Path '/nodir/f' in instance 'c1': Not Found"
    assert isinstance(err.value, exceptions.NotFound)
    assert (err.value.instance, err.value.path) == ("c1", "/nodir/f")


def test_put_onto_a_directory_surfaces_lxds_error_with_context(files):
    with pytest.raises(FileError) as err:
        files.put("/tmp", b"x")
    assert isinstance(err.value, exceptions.LXDAPIException)
    assert str(err.value) == (
        "Path '/tmp' in instance 'c1': "
        'sftp: "open /tmp: is a directory" (SSH_FX_FAILURE)'
    )
    assert err.value.response.status_code == 500


@pytest.mark.parametrize(
    "status, cls", [(403, exceptions.Forbidden), (409, exceptions.Conflict)]
)
def test_errors_with_their_own_class_keep_it(files, fake, status, cls):
    fake.fail_next(status, "nope", "POST", FILES)
    with pytest.raises(cls, match="nope") as err:
        files.put("/tmp/f", b"x")
    assert not isinstance(err.value, FileError)


def test_put_goes_to_the_clients_project():
    fake = make_fake(project="p1")
    files = FilesManager(_Instance(fake.client(project="p1")))
    files.put("/tmp/f", b"x")
    assert fake.requests[-1].query == {"path": "/tmp/f", "project": "p1"}
    assert filesystem(fake, "c1", "p1")["/tmp/f"]["content"] == b"x"


# -- mk_dir / symlink -----------------------------------------------------------
def test_mk_dir_sends_a_directory_post(files, fake, fs, seen):
    files.mk_dir("/tmp/d", mode="0700", uid=1, gid=2)

    assert file_calls(fake) == [("POST", FILES, {"path": "/tmp/d"})]
    assert lxd_headers(seen[-1]) == {
        "X-LXD-mode": "0700",
        "X-LXD-uid": "1",
        "X-LXD-gid": "2",
        "X-LXD-type": "directory",
    }
    assert (fs["/tmp/d"]["type"], fs["/tmp/d"]["mode"]) == ("directory", 0o700)


def test_mk_dir_of_an_existing_directory_changes_nothing(files, fs):
    files.mk_dir("/tmp/d")
    files.mk_dir("/tmp/d", mode=0o700)
    assert fs["/tmp/d"]["mode"] == 0o750


def test_mk_dir_without_parent_is_not_found(files):
    with pytest.raises(FileNotFound, match="'/a/b'"):
        files.mk_dir("/a/b")


def test_symlink_posts_the_target_as_body(files, fs, seen):
    files.symlink("/tmp/l", "../etc/hostname")
    assert seen[-1].body == b"../etc/hostname"
    assert lxd_headers(seen[-1]) == {"X-LXD-type": "symlink"}
    assert (fs["/tmp/l"]["type"], fs["/tmp/l"]["content"]) == (
        "symlink",
        b"../etc/hostname",
    )


def test_symlink_over_an_existing_entry_fails_with_lxds_message(files):
    files.put("/tmp/f", b"x")
    with pytest.raises(exceptions.LXDAPIException, match="file exists"):
        files.symlink("/tmp/f", "/etc")


@pytest.mark.parametrize("target", ["", None, "a\0b"])
def test_symlink_needs_a_target(files, fake, target):
    with pytest.raises(ValueError, match="target"):
        files.symlink("/tmp/l", target)
    assert file_calls(fake) == []


def test_symlink_needs_the_file_symlinks_extension():
    fake = make_fake(extensions=[])
    files = FilesManager(_Instance(fake.client()))
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable):
        files.symlink("/tmp/l", "x")
    assert file_calls(fake) == []


# -- get / get_to / listdir / stat ------------------------------------------------
def test_get_returns_bytes(files, fake, fs):
    add_entry(fs, "/tmp/f", content=b"\x00\xffbinary")
    assert files.get("/tmp/f") == b"\x00\xffbinary"
    assert file_calls(fake) == [("GET", FILES, {"path": "/tmp/f"})]


def test_get_of_a_missing_file_raises_notfound_naming_both(files):
    with pytest.raises(exceptions.NotFound) as err:
        files.get("/tmp/missing")
    assert "'/tmp/missing'" in str(err.value) and "'c1'" in str(err.value)


def test_file_calls_on_a_missing_instance_say_so(fake):
    files = FilesManager(_Instance(fake.client(), name="ghost"))
    with pytest.raises(FileNotFound) as err:
        files.get("/etc/hostname")
    assert str(err.value) == (
        "Path '/etc/hostname' in instance 'ghost': Instance not found"
    )
    with pytest.raises(FileNotFound, match="Instance not found"):
        files.put("/tmp/x", b"x")


def test_get_of_a_symlink_returns_its_target(files, fs):
    add_entry(fs, "/tmp/l", "symlink", b"/etc/hostname")
    assert files.get("/tmp/l") == b"/etc/hostname"


def test_get_of_a_directory_returns_lxds_json_like_pylxd(files, fs):
    add_entry(fs, "/tmp/f")
    assert json.loads(files.get("/tmp"))["metadata"] == ["f"]


def test_get_to_streams_into_a_file_object(files, fs):
    add_entry(fs, "/tmp/big", content=b"b" * (2 * MiB + 1))
    sink = io.BytesIO()
    progress: list[tuple[int, int | None]] = []

    written = files.get_to("/tmp/big", sink, lambda d, t: progress.append((d, t)))

    assert written == 2 * MiB + 1 and sink.getvalue() == b"b" * (2 * MiB + 1)
    assert progress == [(MiB, written), (2 * MiB, written), (written, written)]


def test_get_to_a_directory_raises(files):
    with pytest.raises(IsADirectoryError, match="'/tmp'"):
        files.get_to("/tmp", io.BytesIO())


def test_get_to_a_missing_file_writes_nothing(files):
    sink = io.BytesIO()
    with pytest.raises(FileNotFound):
        files.get_to("/tmp/none", sink)
    assert sink.getvalue() == b""


def test_listdir(files, fake, fs):
    add_entry(fs, "/tmp/a")
    add_entry(fs, "/tmp/d", "directory")
    add_entry(fs, "/tmp/d/inner")
    assert sorted(files.listdir("/tmp")) == ["a", "d"]
    assert files.listdir("/tmp/d") == ["inner"]
    assert file_calls(fake)[-1] == ("GET", FILES, {"path": "/tmp/d"})


def test_listdir_of_a_file_raises(files, fs):
    add_entry(fs, "/tmp/a")
    with pytest.raises(NotADirectoryError, match="'/tmp/a'"):
        files.listdir("/tmp/a")


def test_stat_uses_head(files, fake, fs):
    add_entry(fs, "/tmp/f", content=b"12345", mode=0o640, uid=3, gid=4)
    info = files.stat("/tmp/f")
    assert (info.type, info.mode, info.uid, info.gid, info.size) == (
        "file",
        0o640,
        3,
        4,
        None,  # LXD 5.0 sends no Content-Length with HEAD
    )
    assert info.modified is not None and info.modified.tzinfo is not None
    assert file_calls(fake) == [("HEAD", FILES, {"path": "/tmp/f"})]


def test_stat_of_a_directory_and_of_a_missing_path(files):
    info = files.stat("/root")
    assert (info.type, info.mode, info.size) == ("directory", 0o700, None)
    with pytest.raises(FileNotFound, match="'/nope'"):
        files.stat("/nope")


def test_stat_without_file_head_falls_back_to_get():
    fake = make_fake(extensions=["file_delete"])
    files = FilesManager(_Instance(fake.client()))
    assert files.stat("/etc").type == "directory"
    assert file_calls(fake) == [("GET", FILES, {"path": "/etc"})]


def test_fileinfo_tolerates_missing_headers():
    info = FileInfo.from_headers({"X-LXD-mode": "bad", "X-LXD-modified": "never"})
    assert info == FileInfo(type="file", mode=0, uid=0, gid=0)


# -- delete -------------------------------------------------------------------------
def test_delete_available_follows_the_extension():
    with_ext = FilesManager(_Instance(make_fake().client()))
    without = FilesManager(_Instance(make_fake(extensions=[]).client()))
    assert (with_ext.delete_available(), without.delete_available()) == (True, False)


def test_delete(files, fake, fs):
    add_entry(fs, "/tmp/f")
    files.delete("/tmp/f")
    assert "/tmp/f" not in fs
    assert file_calls(fake) == [("DELETE", FILES, {"path": "/tmp/f"})]


def test_delete_without_the_extension_sends_nothing():
    fake = make_fake(extensions=[])
    files = FilesManager(_Instance(fake.client()))
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable):
        files.delete("/tmp/f")
    assert file_calls(fake) == []


def test_delete_errors(files, fs):
    add_entry(fs, "/tmp/d", "directory")
    add_entry(fs, "/tmp/d/f")
    with pytest.raises(exceptions.LXDAPIException, match="directory not empty"):
        files.delete("/tmp/d")
    with pytest.raises(FileNotFound, match="'/tmp/none'"):
        files.delete("/tmp/none")


# -- recursive_put ----------------------------------------------------------------------
@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """src/{a.txt 0640, run.sh 0755, sub/ 0750 {b.txt}, in-link -> a.txt,
    out-link -> ../secret, dir-link -> sub}; secret outside src."""
    (tmp_path / "secret").write_bytes(b"do not leak")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"A")
    (src / "run.sh").write_bytes(b"#!/bin/sh\n")
    (src / "sub" / "b.txt").write_bytes(b"B")
    os.chmod(src / "a.txt", 0o640)
    os.chmod(src / "run.sh", 0o755)
    os.chmod(src / "sub", 0o750)
    os.symlink("a.txt", src / "in-link")
    os.symlink("../secret", src / "out-link")
    os.symlink("sub", src / "dir-link")
    return src


def test_recursive_put_keeps_symlinks_and_local_modes(files, fs, tree):
    files.recursive_put(str(tree), "/tmp/dst", mode=True)

    def entry(path: str) -> tuple[str, int, bytes]:
        e = fs[f"/tmp/dst{path}"]
        return e["type"], e["mode"], e["content"]

    assert entry("") == ("directory", stat.S_IMODE(os.stat(tree).st_mode), b"")
    assert entry("/a.txt") == ("file", 0o640, b"A")
    assert entry("/run.sh") == ("file", 0o755, b"#!/bin/sh\n")
    assert entry("/sub") == ("directory", 0o750, b"")
    assert entry("/sub/b.txt") == ("file", 0o644, b"B")
    assert entry("/in-link") == ("symlink", 0o777, b"a.txt")
    assert entry("/out-link") == ("symlink", 0o777, b"../secret")
    assert entry("/dir-link") == ("symlink", 0o777, b"sub")
    assert not any(e["content"] == b"do not leak" for e in fs.values())


def test_recursive_put_creates_parents_first(files, fake, tree):
    files.recursive_put(str(tree), "/tmp/dst")
    posted = [r.query["path"] for r in fake.requests if r.method == "POST"]
    assert posted[0] == "/tmp/dst"
    assert posted.index("/tmp/dst/sub") < posted.index("/tmp/dst/sub/b.txt")
    assert len(posted) == 8  # 2 directories, 4 files... one request each


def test_recursive_put_follows_symlinks_only_when_asked(files, fs, tree):
    files.recursive_put(str(tree), "/tmp/dst", follow_symlinks=True)
    assert fs["/tmp/dst/out-link"]["content"] == b"do not leak"
    assert fs["/tmp/dst/in-link"]["type"] == "file"
    assert fs["/tmp/dst/dir-link"]["type"] == "directory"
    assert fs["/tmp/dst/dir-link/b.txt"]["content"] == b"B"


def test_recursive_put_skips_symlink_loops_when_following(files, fs, tmp_path):
    src = tmp_path / "loop"
    src.mkdir()
    os.symlink(".", src / "self")
    with pytest.warns(UserWarning, match="loop"):
        files.recursive_put(str(src), "/tmp/dst", follow_symlinks=True)
    assert "/tmp/dst/self" not in fs


def test_recursive_put_skips_special_files(files, fs, tmp_path):
    src = tmp_path / "special"
    src.mkdir()
    os.mkfifo(src / "fifo")
    with pytest.warns(UserWarning, match="not a regular file"):
        files.recursive_put(str(src), "/tmp/dst")
    assert "/tmp/dst/fifo" not in fs


def test_recursive_put_with_mode_and_owner_applies_to_everything(files, fs, seen, tree):
    files.recursive_put(str(tree), "/tmp/dst", mode=0o700, uid=10, gid=11)
    created = [
        fs[p] for p in fs if p.startswith("/tmp/dst") and fs[p]["type"] != "symlink"
    ]
    assert {(e["mode"], e["uid"], e["gid"]) for e in created} == {(0o700, 10, 11)}


def test_recursive_put_of_a_file_raises_not_a_directory(files, fake, tree):
    with pytest.raises(NotADirectoryError, match="a.txt"):
        files.recursive_put(str(tree / "a.txt"), "/tmp/dst")
    assert file_calls(fake) == []


def test_recursive_put_of_a_missing_source_says_so(files, fake, tmp_path):
    with pytest.raises(NotADirectoryError, match="does not exist"):
        files.recursive_put(str(tmp_path / "nope"), "/tmp/dst")
    assert file_calls(fake) == []


def test_recursive_put_validates_mode_before_any_request(files, fake, tree):
    with pytest.raises(ValueError, match="'0x9'"):
        files.recursive_put(str(tree), "/tmp/dst", mode="0x9")
    assert file_calls(fake) == []


def test_recursive_put_reports_the_bytes_sent_across_the_tree(files, tree):
    calls: list[tuple[int, Any]] = []
    files.recursive_put(str(tree), "/tmp/dst", progress=lambda *a: calls.append(a))
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == len(b"A" + b"#!/bin/sh\n" + b"B")
    assert {total for _, total in calls} == {None}


# -- recursive_get ------------------------------------------------------------------------
@pytest.fixture
def remote_tree(fs: dict[str, Any]) -> dict[str, Any]:
    add_entry(fs, "/srv", "directory", mode=0o755)
    add_entry(fs, "/srv/app", "directory", mode=0o750)
    add_entry(fs, "/srv/app/run", content=b"#!/bin/sh", mode=0o4755)
    add_entry(fs, "/srv/app/conf", content=b"k=v", mode=0o600)
    add_entry(fs, "/srv/app/empty", "directory", mode=0o700)
    add_entry(fs, "/srv/top.txt", content=b"top")
    add_entry(fs, "/srv/link", "symlink", b"app/conf")
    add_entry(fs, "/srv/abs-link", "symlink", b"/etc/passwd")
    add_entry(fs, "/srv/up-link", "symlink", b"../../outside")
    return fs


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_recursive_get_copies_a_tree_with_modes(files, remote_tree, tmp_path):
    local = tmp_path / "out"
    with pytest.warns(UnsafePathWarning):
        files.recursive_get("/srv", str(local))

    assert (local / "top.txt").read_bytes() == b"top"
    assert (local / "app" / "conf").read_bytes() == b"k=v"
    assert mode_of(local / "app" / "conf") == 0o600
    assert mode_of(local / "app" / "run") == 0o755  # setuid dropped
    assert mode_of(local / "app") == 0o750
    assert mode_of(local / "app" / "empty") == 0o700
    assert mode_of(local) == 0o755
    assert os.readlink(local / "link") == "app/conf"
    assert (local / "link").read_bytes() == b"k=v"


def test_recursive_get_refuses_symlinks_that_leave_the_target(
    files, remote_tree, tmp_path
):
    local = tmp_path / "out"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        files.recursive_get("/srv", str(local))
    messages = sorted(str(w.message) for w in caught)
    assert all(w.category is UnsafePathWarning for w in caught)
    assert messages == [
        "Skipped '/srv/abs-link': symlink to '/etc/passwd' points outside '/srv'",
        "Skipped '/srv/up-link': symlink to '/outside' points outside '/srv'",
    ]
    assert not os.path.lexists(local / "abs-link")
    assert not os.path.lexists(local / "up-link")


def test_symlinks_become_relative_links_inside_the_tree(files, fs, tmp_path):
    add_entry(fs, "/srv", "directory")
    add_entry(fs, "/srv/d", "directory")
    add_entry(fs, "/srv/d/f", content=b"F")
    add_entry(fs, "/srv/d/abs", "symlink", b"/srv/d/f")
    add_entry(fs, "/srv/d/odd", "symlink", b"../d/./f")
    add_entry(fs, "/srv/d/root", "symlink", b"..")
    files.recursive_get("/srv", str(tmp_path / "out"))
    out = tmp_path / "out" / "d"
    assert [os.readlink(out / n) for n in ("abs", "odd", "root")] == ["f", "f", ".."]
    assert (out / "abs").read_bytes() == b"F"


def test_a_server_reporting_relative_targets_is_handled(files, fake, fs, tmp_path):
    add_entry(fs, "/srv", "directory")
    add_entry(fs, "/srv/esc", "symlink")
    raw = FakeLXD.raw(b"a/../../x", **{"X-LXD-type": "symlink", "X-LXD-mode": "0777"})

    def answer(request: FakeRequest) -> Any:
        return raw if request.query.get("path") == "/srv/esc" else None

    fake.faults.append(answer)
    with pytest.warns(UnsafePathWarning, match="points outside '/srv'"):
        files.recursive_get("/srv", str(tmp_path / "out"))
    assert os.listdir(tmp_path / "out") == []


def test_links_changed_while_pulling_are_rechecked(files, fs, tmp_path, monkeypatch):
    from pylxd.models import _files_recursive

    add_entry(fs, "/srv", "directory")
    add_entry(fs, "/srv/sub", "directory")
    add_entry(fs, "/srv/link", "symlink", b"sub/x")
    walk = _files_recursive._TreeDownload._walk
    outside = tmp_path / "outside"
    outside.mkdir()

    def racing(self: Any, *args: Any) -> None:
        walk(self, *args)
        os.rmdir(self.real_root + "/sub")  # someone swaps a directory for a link
        os.symlink(outside, self.real_root + "/sub")

    monkeypatch.setattr(_files_recursive._TreeDownload, "_walk", racing)
    with pytest.warns(UnsafePathWarning, match="resolves outside the target"):
        files.recursive_get("/srv", str(tmp_path / "out"))
    assert not os.path.lexists(tmp_path / "out" / "link")


def test_recursive_get_skips_names_that_are_not_plain(files, fake, fs, tmp_path):
    add_entry(fs, "/srv", "directory")
    add_entry(fs, "/srv/ok", content=b"fine")
    listing = ["../evil", "/abs", "a/b", ".", "..", "", "ok"]
    evil = FakeLXD.sync(listing)
    evil.headers.update({"X-LXD-type": "directory", "X-LXD-mode": "0755"})
    fake.reply_next(evil, "GET", FILES)
    local = tmp_path / "out"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        files.recursive_get("/srv", str(local))
    assert len(caught) == 6
    assert all("not a plain file name" in str(w.message) for w in caught)
    assert os.listdir(local) == ["ok"]
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_recursive_get_never_writes_through_local_symlinks(files, fs, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(b"original")
    local = tmp_path / "out"
    local.mkdir()
    os.symlink(outside, local / "d")
    os.symlink(outside / "victim", local / "f")
    add_entry(fs, "/srv", "directory")
    add_entry(fs, "/srv/d", "directory")
    add_entry(fs, "/srv/d/victim", content=b"evil")
    add_entry(fs, "/srv/f", content=b"evil")

    with pytest.warns(UnsafePathWarning):
        files.recursive_get("/srv", str(local))

    assert (outside / "victim").read_bytes() == b"original"
    assert os.listdir(outside) == ["victim"]


def test_recursive_get_of_a_file_copies_it(files, fs, tmp_path):
    add_entry(fs, "/tmp/one", content=b"1", mode=0o640)
    files.recursive_get("/tmp/one", str(tmp_path / "one"))
    assert (tmp_path / "one").read_bytes() == b"1"
    assert mode_of(tmp_path / "one") == 0o640


def test_recursive_get_of_a_symlink_is_skipped(files, fs, tmp_path):
    add_entry(fs, "/tmp/l", "symlink", b"/etc")
    with pytest.warns(UnsafePathWarning, match="neither a file nor a directory"):
        files.recursive_get("/tmp/l", str(tmp_path / "l"))
    assert not os.path.lexists(tmp_path / "l")


def test_recursive_get_into_an_existing_directory(files, remote_tree, tmp_path):
    (tmp_path / "keep").write_bytes(b"mine")
    with pytest.warns(UnsafePathWarning):
        files.recursive_get("/srv", str(tmp_path))
    assert (tmp_path / "keep").read_bytes() == b"mine"
    assert (tmp_path / "top.txt").read_bytes() == b"top"


def test_recursive_get_of_a_missing_path(files, tmp_path):
    with pytest.raises(FileNotFound, match="'/nope'"):
        files.recursive_get("/nope", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_recursive_get_removes_a_partial_file_on_failure(files, fs, fake, tmp_path):
    add_entry(fs, "/srv", "directory")
    add_entry(fs, "/srv/f", content=b"data" * 1000)
    fake.truncate_next(keep=100, method="GET", query={"path": "/srv/f"})
    with pytest.raises(TransferIncomplete, match=r"'/srv/f'.* 100 of 4000 bytes"):
        files.recursive_get("/srv", str(tmp_path / "out"))
    assert os.listdir(tmp_path / "out") == []


def test_recursive_get_leaves_an_existing_file_as_it_was_on_failure(
    files, fs, fake, tmp_path
):
    add_entry(fs, "/srv", "directory")
    add_entry(fs, "/srv/f", content=b"new" * 1000)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "f").write_bytes(b"old content")
    fake.truncate_next(keep=10, method="GET", query={"path": "/srv/f"})
    with pytest.raises(TransferIncomplete):
        files.recursive_get("/srv", str(tmp_path / "out"))
    assert os.listdir(tmp_path / "out") == ["f"]
    assert (tmp_path / "out" / "f").read_bytes() == b"old content"


# -- the fake itself (it is public: pylxd.testing) ------------------------------------------
def test_fake_parses_modes_like_lxd(files, fs, fake):
    session = fake.session()
    url = fake.base_url + FILES
    session.post(
        url, params={"path": "/tmp/dec"}, data=b"", headers={"X-LXD-mode": "644"}
    )
    session.post(
        url, params={"path": "/tmp/bad"}, data=b"", headers={"X-LXD-mode": "abc"}
    )
    assert (fs["/tmp/dec"]["mode"], fs["/tmp/bad"]["mode"]) == (0o204, 0o644)


@pytest.mark.parametrize(
    "method, params, headers, status, error",
    [
        ("GET", {}, {}, 400, "Missing path argument"),
        (
            "POST",
            {"path": "/tmp/x"},
            {"X-LXD-type": "fifo"},
            400,
            "Bad file type: fifo",
        ),
        (
            "POST",
            {"path": "/tmp/x"},
            {"X-LXD-write": "no"},
            400,
            "Bad file write mode: no",
        ),
        ("GET", {"path": "/missing"}, {}, 404, "Not Found"),
        (
            "DELETE",
            {"path": "/"},
            {},
            500,
            'sftp: "remove /: device or resource busy" (SSH_FX_FAILURE)',
        ),
    ],
)
def test_fake_errors_match_lxd(fake, method, params, headers, status, error):
    response = fake.session().request(
        method, fake.base_url + FILES, params=params, headers=headers, data=b""
    )
    assert (response.status_code, response.json()["error"]) == (status, error)


def test_fake_follows_symlinked_parents(files, fs):
    files.mk_dir("/tmp/real")
    files.symlink("/tmp/via", "real")
    files.put("/tmp/via/f", b"x")
    assert fs["/tmp/real/f"]["content"] == b"x"
    assert files.get("/tmp/via/f") == b"x"


def test_fake_filesystem_follows_the_instance_object(fake):
    first = filesystem(fake, "c1")
    add_entry(first, "/tmp/f")
    instance = fake.store("instances").pop("c1")
    fake.store("instances")["c2"] = instance
    assert "/tmp/f" in filesystem(fake, "c2")  # renamed: files kept
    fake.store("instances")["c1"] = {"name": "c1"}
    assert "/tmp/f" not in filesystem(fake, "c1")  # a new c1 starts empty


# -- through the models ------------------------------------------------------------------
def test_instance_files_through_the_model():
    from pylxd.models.instance import Instance

    fake = FakeLXD()
    client = fake.client()
    instance = client.instances.create(
        {"name": "c1", "source": {"type": "none"}}, wait=True
    )
    assert Instance.FilesManager is FilesManager
    assert instance.files is instance.files  # built once, lazily
    instance.files.put("/tmp/f", b"model")
    assert fake.requests[-1].path == FILES
    container = client.containers.get("c1")
    assert container.files.get("/tmp/f") == b"model"
    assert fake.requests[-1].path == FILES
    instance.rename("c2", wait=True)
    assert client.instances.get("c2").files.get("/tmp/f") == b"model"
    with pytest.raises(FileNotFound, match="Instance not found"):
        FilesManager(_Instance(client, "c1")).get("/tmp/f")


def test_a_timeout_or_a_lost_daemon_is_a_clear_client_error(files, fake):
    fake.timeout_next("GET", FILES)
    with pytest.raises(exceptions.ClientConnectionFailed, match="did not answer"):
        files.get("/etc")
    fake.disconnect_next("POST", FILES)
    with pytest.raises(exceptions.ClientConnectionFailed, match="Cannot reach LXD"):
        files.put("/tmp/f", io.BytesIO(b"x"))


def test_recursive_get_reports_the_bytes_received_across_the_tree(
    files, remote_tree, tmp_path
):
    calls: list[tuple[int, Any]] = []
    with pytest.warns(UnsafePathWarning):
        files.recursive_get(
            "/srv", str(tmp_path / "out"), progress=lambda *a: calls.append(a)
        )
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == len(b"#!/bin/sh" + b"k=v" + b"top")
    assert {total for _, total in calls} == {None}
    single: list[tuple[int, Any]] = []
    files.recursive_get(
        "/srv/top.txt", str(tmp_path / "t"), progress=lambda *a: single.append(a)
    )
    assert single == [(3, None)]

"""Bad input for transfers, against the real LXD: refused before any request.

The point (issue 19, items 3, 6, 7, 15): LXD truncates a file as soon as an
upload starts, wraps ``uid=2**32+5`` to uid 5 and chokes on non-ASCII
digits; a ``chunk_size`` of 0 read nothing, -1 hung. Each row must raise
before anything is sent (recorded through ``_APINode._send``), and the file
already in the container must keep its content.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from integration import test_bad_input_names
from integration.conftest import busybox_container
from integration.test_bad_input import Row
from pylxd import Client, exceptions

pytestmark = pytest.mark.integration

CONTENT = b"precious content\n" * 1000
PATH = "/root/precious"


@pytest.fixture(scope="module")
def box(client: Client, image_alias: str) -> Iterator[Any]:
    with busybox_container(client, image_alias, "pylxd-it-badxfer") as name:
        instance = client.instances.get(name)
        instance.files.put(PATH, CONTENT)
        yield instance


#: Every request sent, as (verb, URL): the names matrix's fixture.
sent = test_bad_input_names.sent


class Ctx:
    """What a row may use: the container (holding PATH) and a scratch folder."""

    def __init__(self, box: Any, tmp: Path) -> None:
        self.box = box
        self.tmp = tmp


def _id_row(
    name: str, call: Callable[[Ctx, dict[str, Any]], Any], field: str, value: Any
) -> Row:
    error = TypeError if isinstance(value, bool) else ValueError
    return Row(
        f"{name} {field}={value!r}",
        lambda c: call(c, {field: value}),
        error,
        (field, repr(value)),
    )


ID_CALLS: dict[str, Callable[[Ctx, dict[str, Any]], Any]] = {
    "put": lambda c, kw: c.box.files.put(PATH, b"new", **kw),
    "mk_dir": lambda c, kw: c.box.files.mk_dir("/root/newdir", **kw),
    "recursive_put": lambda c, kw: c.box.files.recursive_put(
        str(c.tmp), "/root/t", **kw
    ),
}

ROWS = [
    _id_row(name, call, field, value)
    for name, call in ID_CALLS.items()
    for field in ("uid", "gid")
    for value in (2**32 + 5, 2**70, -1, "٣", True)
] + [
    Row(
        "put a list of ints",
        lambda c: c.box.files.put(PATH, [1, 2, 3]),  # type: ignore[attr-defined]
        TypeError,
        ("FilesManager.put", "int"),
    ),
    Row(
        "put a generator of ints",
        lambda c: c.box.files.put(PATH, iter([1, 2])),  # type: ignore[attr-defined]
        TypeError,
        ("FilesManager.put", "int"),
    ),
    Row(
        "put a file open for writing",
        lambda c: c.box.files.put(PATH, open(c.tmp / "w", "wb")),  # type: ignore[attr-defined]
        ValueError,
        ("FilesManager.put", "not open for reading"),
    ),
    Row(
        "get_to chunk_size=0",
        lambda c: c.box.files.get_to(PATH, io.BytesIO(), chunk_size=0),  # type: ignore[attr-defined]
        ValueError,
        ("chunk_size", "0"),
    ),
    Row(
        "get_to chunk_size=-1",
        lambda c: c.box.files.get_to(PATH, io.BytesIO(), chunk_size=-1),  # type: ignore[attr-defined]
        ValueError,
        ("chunk_size", "-1"),
    ),
    Row(
        "get_to into an int",
        lambda c: c.box.files.get_to(PATH, 42),  # type: ignore[attr-defined]
        TypeError,
        ("FilesManager.get_to", "target", "int"),
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_transfer_input_sends_nothing(
    row: Row, box: Any, tmp_path: Path, sent: list[tuple[str, str]]
) -> None:
    with pytest.raises(row.exc) as info:
        row.call(Ctx(box, tmp_path))  # type: ignore[arg-type]
    assert isinstance(info.value, exceptions.LXDAPIException)
    text = str(info.value)
    missing = [word for word in row.words if word.lower() not in text.lower()]
    assert missing == [], f"{type(info.value).__name__}: {text}"
    assert sent == []
    assert box.files.get(PATH) == CONTENT


def test_get_to_a_path_string_is_written_whole(box: Any, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"old")
    assert box.files.get_to(PATH, str(target)) == len(CONTENT)
    assert target.read_bytes() == CONTENT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_ids_as_ascii_digit_strings_are_sent(box: Any) -> None:
    box.files.put("/root/owned", b"x", uid="1000", gid=1001)
    info = box.files.stat("/root/owned")
    assert (info.uid, info.gid) == (1000, 1001)


# -- put(atomic=True): the old file or the new one, whole ------------------------
@pytest.fixture(scope="module")
def running(client: Client, image_alias: str) -> Iterator[Any]:
    with busybox_container(client, image_alias, "pylxd-it-atomic", start=True) as name:
        instance = client.instances.get(name)
        instance.files.put(PATH, CONTENT)
        yield instance


def test_atomic_put_replaces_the_file_whole(running: Any) -> None:
    running.files.put("/root/atomic", b"first")
    running.files.put("/root/atomic", b"second version", mode=0o600, atomic=True)
    assert running.files.get("/root/atomic") == b"second version"
    assert running.files.stat("/root/atomic").mode == 0o600
    assert [n for n in running.files.listdir("/root") if ".pylxd-" in n] == []


def test_atomic_put_failing_midway_keeps_the_old_file(running: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"x" * 65536
        raise OSError("local disk failed")

    with pytest.raises(exceptions.TransferIncomplete, match="local disk failed"):
        running.files.put(PATH, chunks(), atomic=True)
    assert running.files.get(PATH) == CONTENT
    assert [n for n in running.files.listdir("/root") if ".pylxd-" in n] == []


def test_plain_put_failing_midway_raises(running: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"x" * 65536
        raise OSError("local disk failed")

    running.files.put("/root/plain", b"old")
    with pytest.raises(exceptions.TransferIncomplete, match="65536 bytes"):
        running.files.put("/root/plain", chunks())

"""pylxd 2.4.2 code for files and image exports, run unchanged on the real LXD.

Written the way pylxd 2.4.2's users write it (``client.containers``,
positional arguments, ``mode=True``): rows 29, 40 and 41 of
``pylxd-2.4.2-differences.md``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any, Iterator

import pytest

from integration.conftest import ON_INCUS, busybox_container
from pylxd import Client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def container(client: Client, image_alias: str) -> Iterator[Any]:
    with busybox_container(client, image_alias, "pylxd-it-compat-files") as name:
        yield client.containers.get(name)


# -- row 40: relative paths start at the instance's root ------------------------
def test_relative_paths_are_taken_from_the_root(container: Any) -> None:
    container.files.put("root/relative.txt", b"relative")
    assert container.files.get("/root/relative.txt") == b"relative"
    assert container.files.get("root/relative.txt") == b"relative"
    container.files.mk_dir("root/reldir")
    assert "reldir" in container.files.listdir("/root")
    container.files.delete("root/relative.txt")
    container.files.delete("root/reldir")
    assert "relative.txt" not in container.files.listdir("/root")


def test_dot_dot_stays_inside_the_instance(container: Any) -> None:
    container.files.put("/../../root/dotdot.txt", b"inside")
    assert container.files.get("/root/dotdot.txt") == b"inside"
    container.files.delete("/root/dotdot.txt")


def test_recursive_transfers_take_relative_paths(
    container: Any, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"A")
    container.files.recursive_put(str(src), "root/reltree")
    container.files.recursive_get("root/reltree", str(tmp_path / "back"))
    assert (tmp_path / "back" / "a.txt").read_bytes() == b"A"


# -- row 41: mode=True keeps the local mode, False/None send none ---------------
def test_put_mode_true_keeps_the_local_files_mode(
    container: Any, tmp_path: Path
) -> None:
    local = tmp_path / "tool.sh"
    local.write_bytes(b"#!/bin/sh\necho hi\n")
    os.chmod(local, 0o750)
    with open(local, "rb") as data:
        container.files.put("/root/tool.sh", data, mode=True)
    assert container.files.stat("/root/tool.sh").mode == 0o750


@pytest.mark.parametrize("mode", [False, None])
def test_put_mode_false_or_none_gets_lxds_default(container: Any, mode: Any) -> None:
    container.files.put("/root/default-mode", b"x", mode=mode)
    assert container.files.stat("/root/default-mode").mode == 0o644
    container.files.delete("/root/default-mode")


#: The daemon's mode for a directory made without one (Incus: 0755).
DEFAULT_DIR_MODE = 0o755 if ON_INCUS else 0o750


@pytest.mark.parametrize(
    "mode, dir_mode, file_mode",
    [
        (None, DEFAULT_DIR_MODE, 0o644),
        (False, DEFAULT_DIR_MODE, 0o644),
        (True, 0o711, 0o640),
    ],
)
def test_recursive_put_modes(
    container: Any, tmp_path: Path, mode: Any, dir_mode: int, file_mode: int
) -> None:
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    os.chmod(src / "sub", 0o711)
    (src / "sub" / "f").write_bytes(b"f")
    os.chmod(src / "sub" / "f", 0o640)
    dst = f"/root/modes-{mode}"
    container.files.recursive_put(str(src), dst, mode=mode)
    assert container.files.stat(f"{dst}/sub").mode == dir_mode
    assert container.files.stat(f"{dst}/sub/f").mode == file_mode


# -- row 29: Image.export() is a seekable file at 0 ------------------------------
def test_image_export_is_a_seekable_file_at_0(client: Client, image_alias: str) -> None:
    image = client.images.get_by_alias(image_alias)
    exported = image.export()
    try:
        assert exported.tell() == 0
        first = exported.read(512)
        exported.seek(0, os.SEEK_END)
        size = exported.tell()
        exported.seek(0)
        assert exported.read(512) == first
        exported.seek(0)
        assert hashlib.sha256(exported.read()).hexdigest() == image.fingerprint
        assert size > 0
    finally:
        exported.close()


def test_image_export_can_still_stream(client: Client, image_alias: str) -> None:
    image = client.images.get_by_alias(image_alias)
    with image.export(stream=True) as stream:
        digest = hashlib.sha256(stream.read()).hexdigest()
    assert digest == image.fingerprint


def test_get_to_a_local_path(container: Any, tmp_path: Path) -> None:
    container.files.put("/root/pulled", b"pulled" * 1000)
    target = tmp_path / "pulled"
    container.files.get_to("/root/pulled", str(target))
    assert target.read_bytes() == b"pulled" * 1000
    assert stat.S_ISREG(target.stat().st_mode)

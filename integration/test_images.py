"""Images against a real LXD: uploads (unified and split), exports, aliases, copies.

The shared ``busybox`` image is only read. Every image a test uploads is a
copy of it whose ``metadata.yaml`` carries a unique property, so its
fingerprint is new; fixtures delete these images (on both daemons) even when a
test fails.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from integration.conftest import unique_name
from pylxd import Client, exceptions
from pylxd.models.image import Image

needs_mksquashfs = pytest.mark.skipif(
    shutil.which("mksquashfs") is None, reason="squashfs-tools is not installed"
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _metadata_yaml(original: bytes, marker: str) -> bytes:
    """Add a ``pylxd_test`` property, which changes the image fingerprint."""
    text = original.decode()
    return text.replace(
        "properties:\n", f"properties:\n  pylxd_test: {marker}\n", 1
    ).encode()


def build_unified(source: str, target: Path, marker: str) -> Path:
    """Copy the busybox tarball with a unique property (streamed, member by member)."""
    with tarfile.open(source) as src, tarfile.open(target, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member) if member.isfile() else None
            if member.name == "metadata.yaml" and data is not None:
                content = _metadata_yaml(data.read(), marker)
                member.size = len(content)
                data = io.BytesIO(content)
            dst.addfile(member, data)
    return target


def build_split(source: str, workdir: Path, marker: str) -> tuple[Path, Path]:
    """A split image: metadata tarball + squashfs rootfs (needs mksquashfs)."""
    tree = workdir / "tree"
    with tarfile.open(source) as src:
        src.extractall(tree, filter="tar")
    meta_yaml = tree / "metadata.yaml"
    meta_yaml.write_bytes(_metadata_yaml(meta_yaml.read_bytes(), marker))
    metadata = workdir / "meta.tar.gz"
    with tarfile.open(metadata, "w:gz") as dst:
        dst.add(meta_yaml, "metadata.yaml")
        dst.add(tree / "templates", "templates")
    rootfs = workdir / "rootfs.squashfs"
    subprocess.run(
        ["mksquashfs", str(tree / "rootfs"), str(rootfs), "-noappend", "-quiet"],
        check=True,
        capture_output=True,
    )
    return metadata, rootfs


def delete_image(client: Client, fingerprint: str) -> None:
    with contextlib.suppress(exceptions.NotFound):
        client.images.get(fingerprint).delete(wait=True)


@pytest.fixture
def cleanup() -> Iterator[Callable[[Client, str], None]]:
    """Register ``(client, fingerprint)`` pairs to delete after the test."""
    made: list[tuple[Client, str]] = []
    yield lambda client, fingerprint: made.append((client, fingerprint))
    for client, fingerprint in made:
        delete_image(client, fingerprint)


@pytest.fixture
def tarball(lxd_env: dict[str, Any], tmp_path: Path) -> Path:
    """A unified image no daemon has yet."""
    marker = uuid.uuid4().hex
    return build_unified(lxd_env["image_tarball"], tmp_path / "image.tar.gz", marker)


@pytest.fixture
def uploaded(
    client: Client, tarball: Path, cleanup: Callable[[Client, str], None]
) -> Image:
    """A private image on the main daemon, uploaded from ``tarball``."""
    fingerprint = sha256_file(tarball)
    cleanup(client, fingerprint)
    return client.images.create(str(tarball))


# -- reading the shared image ---------------------------------------------------
def test_lookups(client: Client, lxd_env: dict[str, Any]) -> None:
    fingerprint = lxd_env["image_fingerprint"]
    assert fingerprint in [i.fingerprint for i in client.images.all()]
    image = client.images.get_by_alias(lxd_env["image_alias"])
    assert image.fingerprint == fingerprint
    assert client.images.get(fingerprint[:12]).fingerprint == fingerprint
    assert {"name": lxd_env["image_alias"], "description": ""} in image.aliases
    assert (image.architecture, image.type) == ("x86_64", "container")
    assert image.properties["os"] == "busybox" and image.size > 0
    assert client.images.exists(fingerprint)
    assert client.images.exists(lxd_env["image_alias"], alias=True)
    assert not client.images.exists("0" * 64)
    assert not client.images.exists(unique_name(), alias=True)


def test_unknown_fingerprint_and_alias_are_not_found(client: Client) -> None:
    # Incus names the image: 'Image "<fingerprint>" not found'
    with pytest.raises(exceptions.NotFound, match='Image ("0+" )?not found'):
        client.images.get("0" * 64)
    with pytest.raises(exceptions.NotFound, match="Image alias not found"):
        client.images.get_by_alias(unique_name())


def test_export_streams_and_matches_the_fingerprint(
    client: Client, lxd_env: dict[str, Any], tmp_path: Path
) -> None:
    image = client.images.get(lxd_env["image_fingerprint"])
    target = tmp_path / "export.tar.gz"
    progress: list[tuple[int, Any]] = []
    with open(target, "wb") as handle:
        written = image.export_to(handle, progress=lambda d, t: progress.append((d, t)))
    assert written == image.size == target.stat().st_size
    assert sha256_file(target) == image.fingerprint
    assert progress[-1] == (image.size, image.size)
    with image.export() as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == image.fingerprint


# -- uploads -------------------------------------------------------------------
def test_upload_from_a_path_and_delete(
    client: Client, tarball: Path, cleanup: Callable[[Client, str], None]
) -> None:
    fingerprint = sha256_file(tarball)
    cleanup(client, fingerprint)
    image = client.images.create(str(tarball))
    assert image.fingerprint == fingerprint
    assert image.filename == "image.tar.gz"
    assert image.public is False and "pylxd_test" in image.properties
    image.delete(wait=True)
    assert not client.images.exists(fingerprint)


def test_upload_from_a_file_object_public_with_progress(
    client: Client, tarball: Path, cleanup: Callable[[Client, str], None]
) -> None:
    cleanup(client, sha256_file(tarball))
    progress: list[tuple[int, Any]] = []
    with open(tarball, "rb") as handle:
        image = client.images.create(
            handle, public=True, progress=lambda d, t: progress.append((d, t))
        )
    size = tarball.stat().st_size
    assert progress[-1] == (size, size)
    assert client.images.get(image.fingerprint).public is True


def test_upload_from_bytes(
    client: Client, tarball: Path, cleanup: Callable[[Client, str], None]
) -> None:
    data = tarball.read_bytes()
    cleanup(client, hashlib.sha256(data).hexdigest())
    assert client.images.create(data).fingerprint == hashlib.sha256(data).hexdigest()


@needs_mksquashfs
def test_split_image_upload_and_export(
    client: Client,
    lxd_env: dict[str, Any],
    tmp_path: Path,
    cleanup: Callable[[Client, str], None],
) -> None:
    metadata, rootfs = build_split(lxd_env["image_tarball"], tmp_path, uuid.uuid4().hex)
    expected = hashlib.sha256(metadata.read_bytes() + rootfs.read_bytes()).hexdigest()
    cleanup(client, expected)
    image = client.images.create(str(rootfs), metadata=str(metadata))
    assert image.fingerprint == expected
    meta_out, rootfs_out = io.BytesIO(), io.BytesIO()
    image.export_to(meta_out, rootfs_fileobj=rootfs_out)
    assert meta_out.getvalue() == metadata.read_bytes()
    assert rootfs_out.getvalue() == rootfs.read_bytes()
    with pytest.raises(ValueError, match="split image"):
        image.export_to(io.BytesIO())


def test_corrupt_upload_fails_with_lxds_message_and_leaves_nothing(
    client: Client,
) -> None:
    garbage = b"this is not an image " * 100
    with pytest.raises(exceptions.LXDAPIException, match="Unsupported compression"):
        client.images.create(garbage)
    assert not client.images.exists(hashlib.sha256(garbage).hexdigest())


def test_duplicate_upload_fails(client: Client, uploaded: Image, tarball: Path) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="same fingerprint"):
        client.images.create(str(tarball))


def test_save(client: Client, uploaded: Image) -> None:
    uploaded.public = True
    uploaded.properties["description"] = "edited by pylxd"
    uploaded.auto_update = False
    uploaded.save()
    again = client.images.get(uploaded.fingerprint)
    assert again.public is True
    assert again.properties["description"] == "edited by pylxd"
    assert again.profiles == ["default"]


def test_save_an_expiry_set_as_a_datetime(client: Client, uploaded: Image) -> None:
    at = datetime.datetime(2099, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc)
    uploaded.expires_at = at
    uploaded.save()
    assert client.images.get(uploaded.fingerprint).datetime_of("expires_at") == at


def test_refresh_of_a_local_image_fails(uploaded: Image) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="Image source not found"):
        uploaded.refresh()


# -- aliases -------------------------------------------------------------------
def test_add_and_delete_alias(client: Client, uploaded: Image) -> None:
    name = unique_name()
    uploaded.add_alias(name, "made by a test")
    assert {"name": name, "description": "made by a test"} in uploaded.aliases
    assert client.images.get_by_alias(name).fingerprint == uploaded.fingerprint
    with pytest.raises(exceptions.Conflict, match="already exists"):
        uploaded.add_alias(name, "")
    uploaded.delete_alias(name)
    assert not client.images.exists(name, alias=True)
    assert name not in [a["name"] for a in uploaded.aliases]


def test_alias_manager(
    client: Client, uploaded: Image, lxd_env: dict[str, Any]
) -> None:
    name, renamed = unique_name(), unique_name()
    alias = client.images.aliases.create(name, uploaded.fingerprint, "first")
    try:
        assert (alias.target, alias.description) == (uploaded.fingerprint, "first")
        assert name in [a.name for a in client.images.aliases.all()]
        with pytest.raises(exceptions.Conflict):
            client.images.aliases.create(name, uploaded.fingerprint)
        alias.rename(renamed)
        assert client.images.aliases.exists(renamed)
        assert not client.images.aliases.exists(name)
        alias.update(description="second")
        assert client.images.aliases.get(renamed).description == "second"
        # PATCH on Incus; on LXD (whose 5.0 never answers it) a guarded PUT
        alias.patch({"description": "third"})
        assert (alias.description, alias.target) == ("third", uploaded.fingerprint)
        assert client.images.aliases.get(renamed).description == "third"
        alias.target = lxd_env["image_fingerprint"]
        alias.save()
        assert client.images.aliases.get(renamed).target == lxd_env["image_fingerprint"]
    finally:
        for each in (name, renamed):
            with contextlib.suppress(exceptions.NotFound):
                client.images.aliases.get(each).delete()
    with pytest.raises(exceptions.NotFound):
        client.images.aliases.get(renamed)
    with pytest.raises(exceptions.NotFound, match='Image ("0+" )?not found'):
        client.images.aliases.create(unique_name(), "0" * 64)


# -- copies between the two daemons -----------------------------------------------
@pytest.mark.parametrize("public", [False, True], ids=["private", "public"])
def test_copy_over_https(
    https_client: Client,
    second_client: Client,
    uploaded: Image,
    cleanup: Callable[[Client, str], None],
    public: bool,
) -> None:
    cleanup(second_client, uploaded.fingerprint)
    source = https_client.images.get(uploaded.fingerprint)
    if public:
        source.public = True
        source.save()
    copied = source.copy(second_client, wait=True)
    assert copied.fingerprint == uploaded.fingerprint
    assert second_client.images.get(uploaded.fingerprint).public is public
    assert copied.properties == source.properties


def _download_tokens(client: Client) -> list[str]:
    """Ids of the running "Image download token" operations (secrets)."""
    running = client.api.operations.get(params={"recursion": 1}).json()["metadata"]
    return [
        op["id"]
        for op in (running or {}).get("running") or ()
        if op.get("description") == "Image download token"
    ]


@pytest.mark.parametrize("wait", [True, False], ids=["wait", "no-wait"])
def test_copy_to_a_server_having_the_image_cancels_the_secret(
    https_client: Client,
    second_client: Client,
    uploaded: Image,
    cleanup: Callable[[Client, str], None],
    wait: bool,
) -> None:
    """LXD 5.0.2 reads the image with the secret but never downloads it."""
    cleanup(second_client, uploaded.fingerprint)
    source = https_client.images.get(uploaded.fingerprint)
    source.copy(second_client, wait=True)
    before = set(_download_tokens(https_client))
    again = source.copy(second_client, wait=wait)
    assert again.fingerprint == uploaded.fingerprint
    assert set(_download_tokens(https_client)) - before == set()
    assert second_client.images.get(uploaded.fingerprint).public is False


def test_copy_from_a_unix_socket_client(
    client: Client,
    second_https_client: Client,
    uploaded: Image,
    cleanup: Callable[[Client, str], None],
) -> None:
    """The source client is local: its server's HTTPS address is used."""
    cleanup(second_https_client, uploaded.fingerprint)
    uploaded.copy(second_https_client, public=True, wait=True)
    assert second_https_client.images.get(uploaded.fingerprint).public is True


def test_push_to_the_second_daemon(
    client: Client,
    second_client: Client,
    uploaded: Image,
    cleanup: Callable[[Client, str], None],
) -> None:
    """LXD's push mode: the main daemon sends the image to the second one."""
    cleanup(second_client, uploaded.fingerprint)
    pushed = uploaded.push_to(second_client, public=True, wait=True)
    assert pushed.fingerprint == uploaded.fingerprint
    assert second_client.images.get(uploaded.fingerprint).public is True


def test_copy_that_fails_raises(
    client: Client, second_client: Client, uploaded: Image
) -> None:
    source = client.images.get(uploaded.fingerprint)
    source.client.host_info["environment"] = {
        **source.client.host_info["environment"],
        "certificate": "-----BEGIN CERTIFICATE-----\nbad\n-----END CERTIFICATE-----\n",
    }
    try:
        with pytest.raises(exceptions.LXDAPIException):
            source.copy(second_client, wait=True)
    finally:
        client.refresh_host_info()
    assert not second_client.images.exists(uploaded.fingerprint)

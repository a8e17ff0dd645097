"""Unit tests of images and image aliases against the fake LXD."""

from __future__ import annotations

import hashlib
import io
import tarfile
from typing import Any

import pytest

from pylxd import Client, exceptions
from pylxd.models.image import Image, ImageAlias, ImageExportError
from pylxd.testing import FakeLXD, FakeRequest
from pylxd.testing._fake_images import add_image

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def tarball(**properties: str) -> bytes:
    """A minimal unified image: a tar.gz holding ``metadata.yaml``."""
    text = "architecture: x86_64\ncreation_date: 1\nproperties:\n" + "".join(
        f"  {key}: {value}\n" for key, value in properties.items()
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("metadata.yaml")
        info.size = len(text)
        archive.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def image(lxd: FakeLXD) -> dict[str, Any]:
    data = tarball(os="busybox")
    return add_image(lxd, "default", sha(data), data=data, properties={"os": "bb"})


def headers_seen(lxd: FakeLXD) -> list[Any]:
    """Record the headers of every request (the fake records bodies only)."""
    seen: list[Any] = []

    def spy(request: FakeRequest) -> None:
        seen.append((request.method, request.path, dict(request.headers)))
        return None

    lxd.faults.append(spy)
    return seen


# -- lookups -------------------------------------------------------------------
def test_all_is_one_request(client: Client, lxd: FakeLXD, image: Any) -> None:
    images = client.images.all()
    assert [i.fingerprint for i in images] == [image["fingerprint"]]
    assert images[0].properties == {"os": "bb"}
    assert [(r.method, r.path, r.query) for r in lxd.requests[1:]] == [
        ("GET", "/1.0/images", {"recursion": "1"})
    ]


def test_get_by_fingerprint_and_prefix(client: Client, image: Any) -> None:
    fp = image["fingerprint"]
    assert client.images.get(fp).fingerprint == fp
    assert client.images.get(fp[:12]).fingerprint == fp


def test_unknown_fingerprint_or_alias_is_not_found(client: Client) -> None:
    with pytest.raises(exceptions.NotFound, match="Image not found"):
        client.images.get("0" * 64)
    with pytest.raises(exceptions.NotFound, match="Image alias not found"):
        client.images.get_by_alias("missing")


def test_get_by_alias(client: Client, lxd: FakeLXD, image: Any) -> None:
    client.images.aliases.create("bb", image["fingerprint"])
    found = client.images.get_by_alias("bb")
    assert found.fingerprint == image["fingerprint"]
    assert [r.path for r in lxd.requests[-2:]] == [
        "/1.0/images/aliases/bb",
        f"/1.0/images/{image['fingerprint']}",
    ]


def test_exists(client: Client, image: Any) -> None:
    client.images.aliases.create("bb", image["fingerprint"])
    assert client.images.exists(image["fingerprint"])
    assert not client.images.exists("f" * 64)
    assert client.images.exists("bb", alias=True)
    assert not client.images.exists("nope", alias=True)


def test_attributes(client: Client, image: Any) -> None:
    found = client.images.get(image["fingerprint"])
    for name in (
        "aliases architecture auto_update cached created_at expires_at filename "
        "fingerprint last_used_at profiles properties public size type uploaded_at"
    ).split():
        getattr(found, name)
    assert found.size == len(image["_data"])


# -- uploads -------------------------------------------------------------------
def test_create_from_bytes(client: Client, lxd: FakeLXD) -> None:
    data = tarball(os="x")
    seen = headers_seen(lxd)
    created = client.images.create(data)
    assert created.fingerprint == sha(data)
    post = lxd.last("POST", "/1.0/images")
    assert (post.query, post.body) == ({}, data)
    headers = seen[0][2]
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Length"] == str(len(data))
    assert "X-LXD-public" not in headers
    assert lxd.calls("GET")[-1].path.endswith("/wait")
    assert created.properties == {"os": "x"} and created.public is False


def test_create_public_from_path_with_progress(
    client: Client, lxd: FakeLXD, tmp_path: Any
) -> None:
    data = tarball(os="p")
    path = tmp_path / "my-image.tar.gz"
    path.write_bytes(data)
    seen = headers_seen(lxd)
    calls: list[tuple[int, Any]] = []
    created = client.images.create(
        str(path), public=True, progress=lambda done, total: calls.append((done, total))
    )
    headers = seen[0][2]
    assert (headers["X-LXD-public"], headers["X-LXD-filename"]) == (
        "1",
        "my-image.tar.gz",
    )
    assert calls[-1] == (len(data), len(data))
    assert created.public is True and created.filename == "my-image.tar.gz"


def test_create_from_a_stream_of_unknown_size_is_chunked(
    client: Client, lxd: FakeLXD
) -> None:
    data = tarball(os="pipe")

    class Pipe:
        def __init__(self) -> None:
            self._inner = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self._inner.read(size)

    seen = headers_seen(lxd)
    created = client.images.create(Pipe())  # type: ignore[arg-type]
    assert created.fingerprint == sha(data)
    assert seen[0][2].get("Transfer-Encoding") == "chunked"


def test_create_split_image_is_multipart(client: Client, lxd: FakeLXD) -> None:
    metadata, rootfs = tarball(os="split"), b"squashfs" * 100
    seen = headers_seen(lxd)
    created = client.images.create(io.BytesIO(rootfs), metadata=metadata)
    assert created.fingerprint == sha(metadata + rootfs)
    content_type = seen[0][2]["Content-Type"]
    boundary = content_type.split("boundary=")[1]
    assert content_type.startswith("multipart/form-data; boundary=")
    body = lxd.last("POST", "/1.0/images").body
    assert body.startswith(
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"; '
        'filename="metadata"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
    )
    assert body.endswith(rootfs + f"\r\n--{boundary}--\r\n".encode())
    assert b'name="rootfs"; filename="rootfs"' in body
    assert int(seen[0][2]["Content-Length"]) == len(body)


def test_corrupt_upload_raises_lxds_message_and_leaves_nothing(
    client: Client,
) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="^Unsupported compression$"):
        client.images.create(b"not an image")
    empty_tar = io.BytesIO()
    tarfile.open(fileobj=empty_tar, mode="w").close()
    with pytest.raises(exceptions.LXDAPIException, match="missing metadata.yaml"):
        client.images.create(empty_tar.getvalue())
    assert client.images.all() == []


def test_duplicate_upload_fails(client: Client) -> None:
    data = tarball(os="dup")
    client.images.create(data)
    with pytest.raises(exceptions.LXDAPIException, match="same fingerprint"):
        client.images.create(data)


def test_create_rejects_other_types(client: Client, lxd: FakeLXD) -> None:
    with pytest.raises(TypeError, match="Image image must be bytes, a path"):
        client.images.create(42)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        client.images.create("/nonexistent/image.tar.gz")
    assert not lxd.calls("POST")


def test_create_from_simplestreams_request(client: Client, lxd: FakeLXD) -> None:
    created = client.images.create_from_simplestreams(
        "https://images.example", "alpine/3.18", public=True, auto_update=True
    )
    assert lxd.last_body("POST", "/1.0/images") == {
        "public": True,
        "auto_update": True,
        "source": {
            "type": "image",
            "mode": "pull",
            "server": "https://images.example",
            "protocol": "simplestreams",
            "alias": "alpine/3.18",
        },
    }
    assert created.update_source["server"] == "https://images.example"


def test_create_from_url_request(client: Client, lxd: FakeLXD) -> None:
    created = client.images.create_from_url("https://example.test/image")
    assert lxd.last_body("POST", "/1.0/images") == {
        "public": False,
        "auto_update": False,
        "source": {"type": "url", "mode": "pull", "url": "https://example.test/image"},
    }
    assert created.auto_update is False


# -- changes -------------------------------------------------------------------
def test_save_puts_writable_fields(client: Client, lxd: FakeLXD, image: Any) -> None:
    found = client.images.get(image["fingerprint"])
    found.public = True
    found.properties["os"] = "edited"
    found.save()
    assert lxd.last_body("PUT", f"/1.0/images/{image['fingerprint']}") == {
        "auto_update": False,
        "expires_at": "1970-01-01T00:00:00Z",
        "profiles": ["default"],
        "properties": {"os": "edited"},
        "public": True,
    }
    assert client.images.get(image["fingerprint"]).public is True


def test_delete_waits(client: Client, lxd: FakeLXD, image: Any) -> None:
    client.images.get(image["fingerprint"]).delete(wait=True)
    assert lxd.calls("DELETE")[0].path == f"/1.0/images/{image['fingerprint']}"
    assert lxd.requests[-1].path.endswith("/wait")
    assert not client.images.exists(image["fingerprint"])


def test_add_and_delete_alias(client: Client, lxd: FakeLXD, image: Any) -> None:
    found = client.images.get(image["fingerprint"])
    found.add_alias("web", "the web image")
    assert lxd.last_body("POST", "/1.0/images/aliases") == {
        "name": "web",
        "description": "the web image",
        "target": image["fingerprint"],
    }
    assert found.aliases == [{"name": "web", "description": "the web image"}]
    with pytest.raises(exceptions.Conflict, match='Alias "web" already exists'):
        found.add_alias("web", "")
    found.delete_alias("web")
    assert lxd.calls("DELETE")[-1].path == "/1.0/images/aliases/web"
    assert found.aliases == []
    with pytest.raises(exceptions.NotFound):
        found.delete_alias("web")


def test_refresh(client: Client, lxd: FakeLXD, image: Any) -> None:
    found = client.images.get(image["fingerprint"])
    with pytest.raises(exceptions.LXDAPIException, match="Image source not found"):
        found.refresh()
    image["update_source"] = {"server": "https://images.example"}
    assert found.refresh() is False
    assert lxd.calls("POST")[-1].path == f"/1.0/images/{image['fingerprint']}/refresh"
    assert found.refresh(wait=False) is None


# -- exports -------------------------------------------------------------------
def test_export_returns_a_streaming_file(client: Client, image: Any) -> None:
    with client.images.get(image["fingerprint"]).export() as handle:
        assert handle.read(10) == image["_data"][:10]
        assert handle.read() == image["_data"][10:]


def test_export_of_corrupt_data_raises(
    client: Client, lxd: FakeLXD, image: Any
) -> None:
    found = client.images.get(image["fingerprint"])
    lxd.reply_next(lxd.raw(b"tampered"), path=f"/1.0/images/{found.fingerprint}/export")
    with pytest.raises(ImageExportError, match="export is corrupt or incomplete"):
        found.export().read()


def test_export_to_streams_with_progress(client: Client, image: Any) -> None:
    sink = io.BytesIO()
    calls: list[tuple[int, Any]] = []
    found = client.images.get(image["fingerprint"])
    written = found.export_to(sink, progress=lambda d, t: calls.append((d, t)))
    size = len(image["_data"])
    assert (written, sink.getvalue(), calls[-1]) == (size, image["_data"], (size, size))


def test_export_to_split_image(client: Client) -> None:
    metadata, rootfs = tarball(os="split"), b"R" * 3000
    created = client.images.create(rootfs, metadata=metadata)
    meta_sink, rootfs_sink = io.BytesIO(), io.BytesIO()
    assert created.export_to(meta_sink, rootfs_fileobj=rootfs_sink) == 3000 + len(
        metadata
    )
    assert (meta_sink.getvalue(), rootfs_sink.getvalue()) == (metadata, rootfs)
    with pytest.raises(ValueError, match="split image: pass rootfs_fileobj="):
        created.export_to(io.BytesIO())


def test_export_to_corrupt_raises(client: Client, lxd: FakeLXD, image: Any) -> None:
    found = client.images.get(image["fingerprint"])
    lxd.reply_next(lxd.raw(b"short"), path=f"/1.0/images/{found.fingerprint}/export")
    with pytest.raises(ImageExportError, match=f"of image {found.fingerprint}"):
        found.export_to(io.BytesIO())


def test_export_to_without_verification(
    client: Client, lxd: FakeLXD, image: Any
) -> None:
    found = client.images.get(image["fingerprint"])
    lxd.reply_next(lxd.raw(b"other"), path=f"/1.0/images/{found.fingerprint}/export")
    sink = io.BytesIO()
    assert found.export_to(sink, verify=False) == 5
    assert sink.getvalue() == b"other"


def test_background_digest_stops_on_errors() -> None:
    from pylxd.models._image_io import _BackgroundDigest

    with pytest.raises(RuntimeError):
        with _BackgroundDigest() as digest:
            digest.update(b"abc")
            raise RuntimeError("sink failed")
    assert not digest._thread.is_alive()
    assert digest.hexdigest() == sha(b"abc")


def test_multipart_splitter_handles_any_chunking() -> None:
    from pylxd.models._image_io import _MultipartSplitter

    body = (
        b'--BB\r\nContent-Disposition: form-data; name="metadata"\r\n\r\nMETA\r\n--B'
        b'\r\n--BB\r\nContent-Disposition: form-data; name="rootfs"\r\n\r\n'
        + b"x\r\n--B" * 50
        + b"\r\n--BB--\r\n"
    )
    for size in (1, 2, 3, 7, 64, len(body)):
        splitter = _MultipartSplitter(b"BB")
        parts: dict[str, bytes] = {}
        for i in range(0, len(body), size):
            for name, data in splitter.feed(body[i : i + size]):
                parts[name] = parts.get(name, b"") + data
        assert parts == {"metadata": b"META\r\n--B", "rootfs": b"x\r\n--B" * 50}
        assert splitter.done


# -- copy ----------------------------------------------------------------------
@pytest.fixture
def target() -> FakeLXD:
    return FakeLXD()


def reachable(client: Client) -> Client:
    """Give the fake server an HTTPS address and certificate, as LXD reports them."""
    client.host_info["environment"].update(
        addresses=["127.0.0.1:8443"], certificate=PEM
    )
    return client


def test_copy_private_image_uses_a_secret(
    client: Client, lxd: FakeLXD, target: FakeLXD, image: Any
) -> None:
    source = reachable(client).images.get(image["fingerprint"])
    copied = source.copy(target.client(), wait=True)
    secret_op = next(iter(lxd.operations.values()))
    assert lxd.calls("POST")[-1].path == f"/1.0/images/{image['fingerprint']}/secret"
    assert target.last_body("POST", "/1.0/images") == {
        "filename": "",
        "properties": {"os": "bb"},
        "public": False,
        "auto_update": False,
        "source": {
            "type": "image",
            "mode": "pull",
            "protocol": "lxd",
            "server": "https://127.0.0.1:8443",
            "fingerprint": image["fingerprint"],
            "certificate": PEM,
            "secret": secret_op.metadata["secret"],
        },
    }
    assert copied.fingerprint == image["fingerprint"]
    assert copied.client is not client and copied.properties == {"os": "bb"}


def _secret_ops(fake: FakeLXD) -> list[tuple[str, str]]:
    return [(op.description, op.status) for op in fake.operations.values()]


def test_copy_cancels_the_secret_once_the_target_is_done(
    client: Client, lxd: FakeLXD, target: FakeLXD, image: Any
) -> None:
    """A target that had the image leaves the secret valid (LXD 5.0.2)."""
    source = reachable(client).images.get(image["fingerprint"])
    source.copy(target.client(), wait=True)
    (secret_id,) = lxd.operations
    assert lxd.calls("DELETE") and lxd.calls("DELETE")[-1].path == (
        f"/1.0/operations/{secret_id}"
    )
    assert [status for _, status in _secret_ops(lxd)] == ["Cancelled"]


def test_copy_without_wait_to_a_target_having_the_image_cancels_the_secret(
    client: Client, lxd: FakeLXD, target: FakeLXD, image: Any
) -> None:
    add_image(target, "default", image["fingerprint"])
    source = reachable(client).images.get(image["fingerprint"])
    source.copy(target.client(), wait=False)
    assert [status for _, status in _secret_ops(lxd)] == ["Cancelled"]
    assert target.calls("GET", f"/1.0/images/{image['fingerprint']}")


def test_copy_without_wait_leaves_the_secret_to_the_download(
    client: Client, lxd: FakeLXD, target: FakeLXD, image: Any
) -> None:
    source = reachable(client).images.get(image["fingerprint"])
    source.copy(target.client(), wait=False)
    assert not lxd.calls("DELETE")
    assert [status for _, status in _secret_ops(lxd)] == ["Running"]


def test_copy_public_image_sends_certificate_and_no_secret(
    client: Client, lxd: FakeLXD, target: FakeLXD, image: Any
) -> None:
    image["public"] = True
    source = reachable(client).images.get(image["fingerprint"])
    source.copy(target.client(), public=False, auto_update=True)
    body = target.last_body("POST", "/1.0/images")
    assert (body["public"], body["auto_update"]) == (False, True)
    assert body["source"]["certificate"] == PEM and "secret" not in body["source"]
    assert not lxd.calls("POST")


def test_copy_from_a_project_names_it(lxd: FakeLXD, target: FakeLXD) -> None:
    lxd.client().projects.create("p1")
    client = reachable(lxd.client(project="p1"))
    add_image(lxd, "p1", "a" * 64, public=True)
    client.images.get("a" * 64).copy(target.client())
    assert target.last_body("POST", "/1.0/images")["source"]["project"] == "p1"


def test_failed_copy_cancels_the_secret(
    client: Client, lxd: FakeLXD, target: FakeLXD, image: Any
) -> None:
    source = reachable(client).images.get(image["fingerprint"])
    target.fail_next(500, "cannot reach source", method="POST", path="/1.0/images")
    with pytest.raises(exceptions.LXDAPIException, match="cannot reach source"):
        source.copy(target.client())
    assert [op.status for op in lxd.operations.values()] == ["Cancelled"]


def test_copy_without_an_https_address_relays_the_data(
    client: Client, target: FakeLXD, image: Any
) -> None:
    copied = client.images.get(image["fingerprint"]).copy(target.client())
    assert target.last("POST", "/1.0/images").body == image["_data"]
    assert copied.fingerprint == image["fingerprint"]


def test_copy_of_a_split_image_without_address_is_refused(
    client: Client, target: FakeLXD
) -> None:
    created = client.images.create(b"R" * 10, metadata=tarball(os="s"))
    with pytest.raises(ValueError, match="split image and its server has no HTTPS"):
        created.copy(target.client())
    assert not target.calls("POST")


# -- aliases manager -------------------------------------------------------------
def test_alias_manager(client: Client, lxd: FakeLXD, image: Any) -> None:
    fp = image["fingerprint"]
    alias = client.images.aliases.create("one", fp, description="first")
    assert lxd.last_body("POST", "/1.0/images/aliases") == {
        "name": "one",
        "target": fp,
        "description": "first",
    }
    assert (alias.name, alias.target, alias.description) == ("one", fp, "first")
    assert [a.name for a in client.images.aliases.all()] == ["one"]
    assert client.images.aliases.exists("one")
    alias.rename("two")
    assert lxd.last_body("POST", "/1.0/images/aliases/one") == {"name": "two"}
    alias.update(description="second")
    assert lxd.last_body("PUT", "/1.0/images/aliases/two") == {
        "description": "second",
        "target": fp,
    }
    assert not lxd.calls("PATCH")
    alias.description = "third"
    alias.save()
    assert lxd.last_body("PUT", "/1.0/images/aliases/two") == {
        "description": "third",
        "target": fp,
    }
    assert client.images.aliases.get("two").description == "third"
    alias.delete()
    assert not client.images.aliases.exists("two")


def test_alias_errors(client: Client, image: Any) -> None:
    client.images.aliases.create("one", image["fingerprint"])
    with pytest.raises(exceptions.Conflict):
        client.images.aliases.create("one", image["fingerprint"])
    with pytest.raises(exceptions.NotFound, match="Image not found"):
        client.images.aliases.create("two", "0" * 64)
    with pytest.raises(exceptions.NotFound):
        client.images.aliases.get("missing")


def test_images_follow_the_client_project(lxd: FakeLXD) -> None:
    lxd.client().projects.create("p1")
    scoped = lxd.client(project="p1")
    created = scoped.images.create(tarball(os="in-p1"))
    assert lxd.last("POST", "/1.0/images").query == {"project": "p1"}
    assert lxd.client().images.all() == []
    assert [i.fingerprint for i in scoped.images.all()] == [created.fingerprint]
    other = lxd.client().with_project("p1")
    assert other.images.exists(created.fingerprint)


def test_models_are_exported() -> None:
    from pylxd import models

    assert models.Image is Image and models.ImageAlias is ImageAlias


def test_push_to_another_server(
    client: Client, lxd: FakeLXD, target: FakeLXD, image: Any
) -> None:
    destination = reachable(target.client())
    pushed = client.images.get(image["fingerprint"]).push_to(
        destination, public=True, wait=True
    )
    assert target.last_body("POST", "/1.0/images") == {
        "public": True,
        "source": {
            "type": "image",
            "mode": "push",
            "fingerprint": image["fingerprint"],
        },
    }
    token = next(iter(target.operations.values()))
    assert lxd.last_body("POST", f"/1.0/images/{image['fingerprint']}/export") == {
        "target": "https://127.0.0.1:8443",
        "certificate": PEM,
        "secret": token.metadata["secret"],
    }
    assert lxd.requests[-1].path.endswith("/wait")
    assert pushed.client is destination


def test_push_needs_a_reachable_target(
    client: Client, target: FakeLXD, image: Any
) -> None:
    with pytest.raises(ValueError, match="target server has no HTTPS address"):
        client.images.get(image["fingerprint"]).push_to(target.client())
    assert not target.calls("POST")


def test_failed_push_cancels_the_target_token(
    client: Client, lxd: FakeLXD, target: FakeLXD, image: Any
) -> None:
    source = client.images.get(image["fingerprint"])
    lxd.fail_next(500, "cannot connect", method="POST")
    with pytest.raises(exceptions.LXDAPIException, match="cannot connect"):
        source.push_to(reachable(target.client()))
    assert [op.status for op in target.operations.values()] == ["Cancelled"]

"""Fake LXD: images (``/1.0/images``) and image aliases.

Uploads are checked the way LXD checks them (a tarball holding
``metadata.yaml``; split images as ``multipart/form-data`` with a
``metadata`` part first), with LXD's error messages. Downloads from image
servers or from another LXD cannot happen here: the fake records the request
and stores an image as if the download had worked.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import tarfile
from typing import Any

from pylxd.testing._fake import FakeLXD, put_and_patch, route
from pylxd.testing._fake_core import given_name, listing, require_project
from pylxd.testing._fake_wire import (
    FakeError,
    FakeRequest,
    Reply,
    lookup,
    now,
    only,
    rename_in,
)

_FP = r"(?P<fp>(?!aliases(?:/|$))[^/]+)"
_ALIAS = r"(?P<name>[^/]+)"
NEVER = "0001-01-01T00:00:00Z"
NO_EXPIRY = "1970-01-01T00:00:00Z"
_PRIVATE = ("_data", "_metadata", "_rootfs")
_PUT_FIELDS = ("auto_update", "expires_at", "profiles", "properties", "public")


def image_project(fake: FakeLXD, request: FakeRequest) -> str:
    """The project holding the request's images (``default`` without features.images)."""
    project = require_project(fake, request)
    config = fake.store("projects")[project].get("config", {})
    return project if config.get("features.images", "true") == "true" else "default"


def add_image(
    fake: FakeLXD,
    project: str,
    fingerprint: str,
    *,
    data: bytes = b"",
    properties: dict[str, str] | None = None,
    public: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    """Store an image (for seeding tests, or for families that make images)."""
    images = fake.store("images", project)
    if fingerprint in images:
        raise FakeError(400, "Image with same fingerprint already exists")
    images[fingerprint] = {
        "fingerprint": fingerprint,
        "architecture": "x86_64",
        "auto_update": False,
        "cached": False,
        "created_at": now(),
        "expires_at": NO_EXPIRY,
        "filename": "",
        "last_used_at": NEVER,
        "profiles": ["default"],
        "properties": dict(properties or {}),
        "public": public,
        "size": len(data),
        "type": "container",
        "uploaded_at": now(),
        "_data": data,
        **fields,
    }
    return lookup(images, fingerprint, "Image not found")


def _view(fake: FakeLXD, project: str, image: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in image.items() if k not in _PRIVATE}
    if fake.server == "incus":  # Incus 6.0 says which project an image is in
        view["project"] = project
    view["aliases"] = [
        {"name": a["name"], "description": a["description"]}
        for a in fake.store("image_aliases", project).values()
        if a["target"] == image["fingerprint"]
    ]
    return view


def _find(fake: FakeLXD, project: str, fp: str) -> dict[str, Any]:
    """An image by fingerprint or unique fingerprint prefix, as LXD finds them."""
    images = fake.store("images", project)
    if fp in images:
        return lookup(images, fp, "Image not found")
    return only(images, fp, "Image not found")


# -- images ------------------------------------------------------------------
@route("GET", r"/1.0/images")
def _images(fake: FakeLXD, request: FakeRequest) -> Reply:
    project = image_project(fake, request)
    images = fake.store("images", project)
    return fake.sync(
        listing(request, "/1.0/images", images, lambda i: _view(fake, project, i))
    )


@route("POST", r"/1.0/images")
def _image_create(fake: FakeLXD, request: FakeRequest) -> Reply:
    project = image_project(fake, request)
    if request.headers.get("Content-Type", "").startswith("application/json"):
        body = request.json or {}
        if (body.get("source") or {}).get("mode") == "push":
            return _push_token(fake, request, body)
        return fake.run_async(
            "Downloading image",
            request,
            lambda: _from_source(fake, project, body),
        )
    data = request.data
    return fake.run_async(
        "Downloading image", request, lambda: _from_upload(fake, project, request, data)
    )


def _from_source(fake: FakeLXD, project: str, body: dict[str, Any]) -> Any:
    source = body.get("source") or {}
    kind = source.get("type")
    if kind in ("instance", "container", "virtual-machine", "snapshot"):
        owner = str(source.get("name", "")).split("/", 1)[0]
        if owner not in fake.store("instances", project):
            raise FakeError(404, "Instance not found")
        fingerprint = _digest(source.get("name", ""), now())
        update_source = None
        config = fake.store("instances", project)[owner].get("config") or {}
        inherited = {k[6:]: v for k, v in config.items() if k.startswith("image.")}
        body = {**body, "properties": {**inherited, **(body.get("properties") or {})}}
    elif kind in ("image", "url"):
        key = source.get("fingerprint") or source.get("alias") or source.get("url")
        if not key:
            raise FakeError(400, "No image source fingerprint, alias or URL")
        known = re.fullmatch(r"[0-9a-f]{64}", str(key))
        fingerprint = str(key) if known else _digest(source.get("server", ""), key)
        update_source = _update_source(source)
    else:
        raise FakeError(400, "Invalid images JSON")
    existing = fake.store("images", project).get(fingerprint)
    if kind in ("image", "url") and existing is not None:
        # LXD 5.0.2 reads the source's details, then keeps the image it has.
        return {"fingerprint": fingerprint, "size": existing["size"]}
    image = add_image(
        fake,
        project,
        fingerprint,
        properties=body.get("properties"),
        public=bool(body.get("public", False)),
        auto_update=bool(body.get("auto_update", False)),
        filename=body.get("filename", ""),
    )
    if update_source is not None:
        image["update_source"] = update_source
    _add_aliases(fake, project, fingerprint, body.get("aliases") or [])
    return {"fingerprint": fingerprint, "size": image["size"]}


def _push_token(fake: FakeLXD, request: FakeRequest, body: dict[str, Any]) -> Reply:
    """The target side of a push: a one-time secret the source will present."""
    fingerprint = str(body["source"].get("fingerprint", ""))
    op = fake.operation(
        "Image download token",
        {"images": [f"/1.0/images/{fingerprint}"]},
        metadata={
            "aliases": body.get("aliases"),
            "expires_at": "0001-01-01T00:00:00Z",
            "properties": body.get("properties"),
            "public": bool(body.get("public", False)),
            "secret": secrets.token_hex(32),
        },
        status="Running",
        project=request.project,
        op_class="token",
    )
    return fake.async_reply(op)


def _update_source(source: dict[str, Any]) -> dict[str, Any]:
    return {
        "alias": source.get("alias", source.get("fingerprint", "")),
        "certificate": source.get("certificate", ""),
        "protocol": source.get("protocol", "direct"),
        "server": source.get("server", source.get("url", "")),
        "image_type": source.get("image_type", "container"),
    }


def _add_aliases(
    fake: FakeLXD, project: str, target: str, aliases: list[dict[str, Any]]
) -> None:
    for alias in aliases:
        fake.store("image_aliases", project)[alias["name"]] = {
            "name": alias["name"],
            "description": alias.get("description", ""),
            "target": target,
            "type": "container",
        }


def _digest(*parts: Any) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()


def _from_upload(
    fake: FakeLXD, project: str, request: FakeRequest, data: bytes
) -> dict[str, Any]:
    content_type = request.headers.get("Content-Type", "")
    metadata, rootfs = None, data
    vm = False
    if content_type.startswith("multipart/form-data"):
        metadata, rootfs = _split_parts(data, content_type)
        vm = b'name="rootfs.img"' in data  # as LXD: that part name means a VM
    info = _read_metadata(metadata if metadata is not None else rootfs)
    fingerprint = hashlib.sha256((metadata or b"") + rootfs).hexdigest()
    image = add_image(
        fake,
        project,
        fingerprint,
        data=rootfs,
        properties=info["properties"],
        public=request.headers.get("X-LXD-public", "") in ("1", "true"),
        architecture=info["architecture"],
        filename=request.headers.get("X-LXD-filename", ""),
        size=len(rootfs) + len(metadata or b""),
    )
    if metadata is not None:
        image.update(_data=b"", _metadata=metadata, _rootfs=rootfs)
    if vm:
        image["type"] = "virtual-machine"
    return {"fingerprint": fingerprint, "size": image["size"]}


def _split_parts(data: bytes, content_type: str) -> tuple[bytes, bytes]:
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if found is None:
        raise FakeError(400, "Invalid multipart image")
    segments = data.split(b"--" + found.group(1).encode())
    parts: dict[str, bytes] = {}
    for segment in segments[1:-1]:
        head, _, body = segment.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        parts[name.group(1).decode() if name else ""] = body[:-2]
    names = list(parts)
    if (
        len(names) != 2
        or names[0] != "metadata"
        or names[1] not in ("rootfs", "rootfs.img")
    ):
        raise FakeError(400, "Invalid multipart image")
    return parts["metadata"], parts[names[1]]


def _read_metadata(tarball: bytes) -> dict[str, Any]:
    """architecture and properties from ``metadata.yaml``, or LXD's errors."""
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
            member = archive.extractfile("metadata.yaml")
            text = member.read().decode() if member is not None else ""
    except KeyError:
        raise FakeError(400, "Metadata tarball is missing metadata.yaml") from None
    except tarfile.TarError:
        raise FakeError(400, "Unsupported compression") from None
    arch = re.search(r"^architecture:\s*(\S+)", text, re.M)
    block = re.search(r"^properties:\n((?:[ \t]+\S.*\n?)*)", text, re.M)
    properties = {}
    for line in (block.group(1) if block else "").splitlines():
        key, _, value = line.strip().partition(":")
        properties[key] = value.strip().strip('"')
    return {
        "architecture": arch.group(1) if arch else "x86_64",
        "properties": properties,
    }


@route("GET", rf"/1.0/images/{_FP}")
def _image_get(fake: FakeLXD, request: FakeRequest, fp: str) -> Reply:
    project = image_project(fake, request)
    try:
        found = _find(fake, project, fp)
    except FakeError:
        if fake.server != "incus":
            raise
        raise FakeError(404, f'Image "{fp}" not found') from None  # names it
    return fake.sync(_view(fake, project, found))


@route("PUT", rf"/1.0/images/{_FP}")
def _image_put(fake: FakeLXD, request: FakeRequest, fp: str) -> Reply:
    image = _find(fake, image_project(fake, request), fp)
    body = request.json or {}
    image.update({k: body[k] for k in _PUT_FIELDS if k in body})
    image["properties"] = dict(body.get("properties") or {})
    image["public"] = bool(body.get("public", False))
    return fake.empty()


@route("PATCH", rf"/1.0/images/{_FP}")
def _image_patch(fake: FakeLXD, request: FakeRequest, fp: str) -> Reply:
    image = _find(fake, image_project(fake, request), fp)
    body = request.json or {}
    image["properties"].update(body.pop("properties", None) or {})
    image.update({k: body[k] for k in _PUT_FIELDS if k in body})
    return fake.empty()


@route("DELETE", rf"/1.0/images/{_FP}")
def _image_delete(fake: FakeLXD, request: FakeRequest, fp: str) -> Reply:
    project = image_project(fake, request)
    image = _find(fake, project, fp)
    del fake.store("images", project)[image["fingerprint"]]
    aliases = fake.store("image_aliases", project)
    for name in [n for n, a in aliases.items() if a["target"] == image["fingerprint"]]:
        del aliases[name]
    return fake.run_async(
        "Deleting image", request, resources={"images": [f"/1.0/images/{fp}"]}
    )


@route("GET", rf"/1.0/images/{_FP}/export")
def _image_export(fake: FakeLXD, request: FakeRequest, fp: str) -> Reply:
    image = _find(fake, image_project(fake, request), fp)
    name = image.get("filename") or f"{image['fingerprint']}.tar.gz"
    if "_rootfs" not in image:
        headers = {
            "Content-Disposition": f"attachment; filename={name}",
            "Content-Length": str(len(image["_data"])),
        }
        return fake.raw(image["_data"], **headers)
    boundary = secrets.token_hex(16)
    body = b""
    for index, (part, data) in enumerate(
        (("metadata", image["_metadata"]), ("rootfs", image["_rootfs"]))
    ):
        body += (b"\r\n" if index else b"") + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{part}"; '
            f'filename="{part}-{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        body += data
    body += f"\r\n--{boundary}--\r\n".encode()
    return fake.raw(body, f"multipart/form-data; boundary={boundary}")


@route("POST", rf"/1.0/images/{_FP}/export")
def _image_push(fake: FakeLXD, request: FakeRequest, fp: str) -> Reply:
    """Push to another server: the fake cannot reach one, so it only checks."""
    _find(fake, image_project(fake, request), fp)
    body = request.json or {}
    if not body.get("target") or not body.get("secret"):
        raise FakeError(400, "No target or secret given")
    return fake.run_async("Downloading image", request)


@route("POST", rf"/1.0/images/{_FP}/refresh")
def _image_refresh(fake: FakeLXD, request: FakeRequest, fp: str) -> Reply:
    project = image_project(fake, request)
    image = _find(fake, project, fp)

    def work() -> dict[str, bool]:
        if "update_source" not in image:
            raise FakeError(
                400,
                f'Failed to update image "{image["fingerprint"]}" in project '
                f'"{project}": Image source not found',
            )
        return {"refreshed": False}

    return fake.run_async("Refreshing image", request, work)


@route("POST", rf"/1.0/images/{_FP}/secret")
def _image_secret(fake: FakeLXD, request: FakeRequest, fp: str) -> Reply:
    image = _find(fake, image_project(fake, request), fp)
    op = fake.operation(
        "Image download token",
        {"images": [f"/1.0/images/{image['fingerprint']}"]},
        metadata={"secret": secrets.token_hex(32)},
        status="Running",
        project=request.project,
        op_class="token",
    )
    return fake.async_reply(op)


# -- aliases -----------------------------------------------------------------
def _alias(fake: FakeLXD, request: FakeRequest, name: str) -> dict[str, Any]:
    aliases = fake.store("image_aliases", image_project(fake, request))
    return lookup(aliases, name, "Image alias not found")


@route("GET", r"/1.0/images/aliases")
def _aliases(fake: FakeLXD, request: FakeRequest) -> Reply:
    aliases = fake.store("image_aliases", image_project(fake, request))
    return fake.sync(listing(request, "/1.0/images/aliases", aliases))


@route("POST", r"/1.0/images/aliases")
def _alias_create(fake: FakeLXD, request: FakeRequest) -> Reply:
    project = image_project(fake, request)
    body = request.json or {}
    name = given_name(body)
    if name in fake.store("image_aliases", project):
        raise FakeError(409, f'Alias "{name}" already exists')
    image = _find(fake, project, str(body.get("target", "")))
    _add_aliases(fake, project, image["fingerprint"], [body])
    return fake.sync()


@route("GET", rf"/1.0/images/aliases/{_ALIAS}")
def _alias_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    return fake.sync(_alias(fake, request, name))


@put_and_patch(rf"/1.0/images/aliases/{_ALIAS}")
def _alias_update(fake: FakeLXD, request: FakeRequest, name: str, merge: bool) -> Reply:
    alias = _alias(fake, request, name)
    body = request.json or {}
    if not merge or "target" in body:
        project = image_project(fake, request)
        target = _find(fake, project, str(body.get("target", "")))["fingerprint"]
        alias["target"] = target
    if not merge or "description" in body:
        alias["description"] = body.get("description", "")
    return fake.empty()


@route("POST", rf"/1.0/images/aliases/{_ALIAS}")
def _alias_rename(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    _alias(fake, request, name)
    new = (request.json or {}).get("name")
    aliases = fake.store("image_aliases", image_project(fake, request))
    if not new:
        raise FakeError(400, "No name provided")
    if new in aliases:
        raise FakeError(409, f'Alias "{new}" already exists')
    rename_in(aliases, name, new)
    return fake.sync()


@route("DELETE", rf"/1.0/images/aliases/{_ALIAS}")
def _alias_delete(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    _alias(fake, request, name)
    del fake.store("image_aliases", image_project(fake, request))[name]
    return fake.empty()

"""LXD images: ``/1.0/images`` and their aliases, ``/1.0/images/aliases``.

Transfers stream in both directions with constant memory: uploads read the
image from a path or file object chunk by chunk (a split image goes as a
``multipart/form-data`` body built on the fly), and exports are read from the
socket as they arrive, checked against the image fingerprint (SHA-256).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from typing import IO, TYPE_CHECKING, Any, Iterator

from pylxd import exceptions
from pylxd._types import JSONDict
from pylxd.models import _model as model
from pylxd.models._image_io import (  # noqa: F401  (ImageExportError is public)
    ImageData,
    ImageExportError,
    _BackgroundDigest,
    _boundary,
    _check_digest,
    _export_chunks,
    _ExportReader,
    _upload_body,
    _write_parts,
)
from pylxd.models._mixins import (
    CollectionMixin,
    RenameMixin,
    check_name,
    drop_none,
    https_url,
    quote,
)
from pylxd.models._streaming import CHUNK_SIZE, Progress
from pylxd.models.operation import cancel_quietly

#: ``export()`` keeps up to this much in memory before spooling to disk.
_SPOOL_IN_MEMORY = 16 * CHUNK_SIZE

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd.client import Client
    from pylxd.models.operation import Operation


class _SpooledExport(tempfile.SpooledTemporaryFile[bytes]):
    """The file :meth:`Image.export` returns: seekable, as pylxd 2.4's was.

    Python 3.10's ``SpooledTemporaryFile`` lacks ``seekable``/``readable``
    (added in 3.11); they are always true here.
    """

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


class Image(CollectionMixin, model.Model):
    """A LXD image, ``/1.0/images/<fingerprint>``.

    ``save()`` replaces the writable fields (``PUT``): ``public``,
    ``properties``, ``auto_update``, ``expires_at`` and ``profiles``.
    """

    _endpoint = "images"
    _key = "fingerprint"

    aliases = model.Attribute[list[dict[str, str]]](readonly=True)
    architecture = model.Attribute[str](readonly=True)
    auto_update = model.Attribute[bool](optional=True)
    cached = model.Attribute[bool](readonly=True)
    created_at = model.Attribute[str](readonly=True)
    expires_at = model.Attribute[str](optional=True)
    filename = model.Attribute[str](readonly=True)
    fingerprint = model.Attribute[str](readonly=True)
    last_used_at = model.Attribute[str](readonly=True)
    profiles = model.Attribute[list[str]](optional=True)
    project = model.Attribute[str](readonly=True, optional=True)
    properties = model.Attribute[dict[str, str]]()
    public = model.Attribute[bool]()
    size = model.Attribute[int](readonly=True)
    type = model.Attribute[str](readonly=True, optional=True)
    update_source = model.Attribute[dict[str, Any]](readonly=True, optional=True)
    uploaded_at = model.Attribute[str](readonly=True)

    # -- lookups ---------------------------------------------------------
    @classmethod
    def get(cls, client: Client, fingerprint: str) -> Image:
        """Get an image by its fingerprint (a unique prefix is enough).

        Implements ``GET /1.0/images/<fingerprint>``.

        :raises NotFound: when no image has that fingerprint.
        """
        return super().get(client, fingerprint)

    @classmethod
    def exists(cls, client: Client, fingerprint: str, alias: bool = False) -> bool:
        """Tell whether an image exists.

        Implements ``GET /1.0/images/<fingerprint>`` (or
        ``GET /1.0/images/aliases/<name>`` when ``alias`` is True).
        """
        try:
            if alias:
                name = quote(fingerprint, "Image alias", slash=True)
                cls._collection(client).aliases[name].get()
            else:
                cls._collection(client)[quote(fingerprint, "Image")].get()
        except exceptions.NotFound:
            return False
        return True

    @classmethod
    def get_by_alias(cls, client: Client, alias: str) -> Image:
        """Return the image an alias points to.

        Implements ``GET /1.0/images/aliases/<name>``, then the image.

        :raises NotFound: when the alias does not exist.
        """
        name = quote(alias, "Image alias", slash=True)
        response = cls._collection(client).aliases[name].get()
        return cls.get(client, exceptions.metadata_of(response)["target"])

    # -- creation --------------------------------------------------------
    @classmethod
    def create(
        cls,
        client: Client,
        image_data: ImageData,
        metadata: ImageData | None = None,
        public: bool = False,
        wait: bool = True,
        vm: bool = False,
        *,
        progress: Progress | None = None,
    ) -> Image:
        """Upload an image and return it.

        Implements ``POST /1.0/images`` with the raw image as the body: a
        unified tarball, or (with ``metadata``) a split image sent as
        ``multipart/form-data`` (metadata tarball first, then the rootfs).
        Data may be bytes, a path or a binary file object; files are streamed.
        As in pylxd, the upload is always waited for (the fingerprint is only
        known once LXD indexed the image), so ``wait`` is ignored.

        :param vm: a split virtual-machine image: the rootfs part is sent as
            ``rootfs.img`` (a disk image), so LXD stores a VM image.
        :param progress: ``progress(sent_bytes, total_or_None)``.
        :raises LXDAPIException: with LXD's message when it rejects the image
            (no image is left behind).
        """
        with _upload_body(image_data, metadata, progress, vm) as (body, headers):
            if public:
                headers["X-LXD-public"] = "1"
            response = cls._collection(client).post(data=body, headers=headers)
        operation = model.wait_for(client, response, True)
        return cls(client, fingerprint=_fingerprint_of(operation))

    @classmethod
    def create_from_simplestreams(
        cls,
        client: Client,
        server: str,
        alias: str,
        public: bool = False,
        auto_update: bool = False,
    ) -> Image:
        """Download an image from a simplestreams server and return it.

        Implements ``POST /1.0/images`` with a ``simplestreams`` source.
        """
        source = {
            "type": "image",
            "mode": "pull",
            "server": server,
            "protocol": "simplestreams",
            "alias": alias,
        }
        return cls._create_from_source(client, source, public, auto_update)

    @classmethod
    def create_from_url(
        cls,
        client: Client,
        url: str,
        public: bool = False,
        auto_update: bool = False,
    ) -> Image:
        """Download an image from a URL (LXD's ``url`` source) and return it.

        Implements ``POST /1.0/images`` with a ``url`` source.
        """
        source = {"type": "url", "mode": "pull", "url": url}
        return cls._create_from_source(client, source, public, auto_update)

    @classmethod
    def _create_from_source(
        cls, client: Client, source: JSONDict, public: bool, auto_update: bool
    ) -> Image:
        body = {"public": public, "auto_update": auto_update, "source": source}
        response = cls._collection(client).post(json=body)
        operation = model.wait_for(client, response, True)
        return cls.get(client, _fingerprint_of(operation))

    # -- aliases ---------------------------------------------------------
    def add_alias(self, name: str, description: str) -> None:
        """Add an alias to the image.

        Implements ``POST /1.0/images/aliases``.

        :raises Conflict: when the alias exists already.
        """
        check_name("Image alias", name, slash=True)
        body = {"name": name, "description": description, "target": self.fingerprint}
        self.client.api.images.aliases.post(json=body)
        if self._is_loaded("aliases"):
            self.aliases.append({"name": name, "description": description})

    def delete_alias(self, name: str) -> None:
        """Delete an alias of the image.

        Implements ``DELETE /1.0/images/aliases/<name>``.

        :raises NotFound: when the alias does not exist.
        """
        self.client.api.images.aliases[quote(name, "Image alias", slash=True)].delete()
        if self._is_loaded("aliases"):
            self.aliases[:] = [a for a in self.aliases if a.get("name") != name]

    # -- transfers -------------------------------------------------------
    def export(self, *, stream: bool = False) -> IO[bytes]:
        """Export the image: return a file object holding its contents.

        Implements ``GET /1.0/images/<fingerprint>/export``. As in pylxd
        2.4, the whole export is read first, into a seekable temporary file
        positioned at 0 (in memory up to 16 MiB, then on disk), checked
        against the size LXD announced and the fingerprint. A split image
        arrives as LXD's ``multipart/form-data`` body (length checked, not
        hashed); :meth:`export_to` separates its two parts.

        :param stream: return instead a non-seekable file object reading from
            the connection as the data arrives (constant memory; close it, or
            read it to the end, to free the connection). Reading to the end
            runs the same checks.
        :raises ImageExportError: when the data does not match the fingerprint.
        :raises TransferIncomplete: when the export arrives short.
        """
        response = self.api.export.get(stream=True)
        expected = None if _boundary(response) else self.fingerprint
        reader = io.BufferedReader(_ExportReader(response, expected), CHUNK_SIZE)
        if stream:
            return reader
        spooled = _SpooledExport(max_size=_SPOOL_IN_MEMORY)
        try:
            with reader:
                shutil.copyfileobj(reader, spooled, CHUNK_SIZE)
        except BaseException:
            spooled.close()
            raise
        spooled.seek(0)
        return spooled

    def export_to(
        self,
        fileobj: IO[bytes],
        progress: Progress | None = None,
        rootfs_fileobj: IO[bytes] | None = None,
        verify: bool = True,
    ) -> int:
        """Stream the image into ``fileobj`` with constant memory.

        Implements ``GET /1.0/images/<fingerprint>/export``. For a split
        image the metadata tarball goes to ``fileobj`` and the rootfs to
        ``rootfs_fileobj``. With ``verify`` the data is checked against the
        fingerprint (SHA-256, hashed in a helper thread while the data
        streams; about 1 GB/s of CPU, so ``verify=False`` is faster when the
        sink is faster than that).

        :param fileobj: a binary file object the image (or, for a split image,
            its metadata tarball) is written to.
        :param progress: ``progress(received_bytes, total_or_None)``.
        :param rootfs_fileobj: where a split image's rootfs is written.
        :param verify: check the data against the fingerprint (default True).
        :returns: the number of bytes written.
        :raises ValueError: for a split image without ``rootfs_fileobj``.
        :raises InvalidArgumentType: for a ``fileobj`` or ``rootfs_fileobj``
            without ``write`` (nothing is sent).
        :raises ImageExportError: when the data does not match the fingerprint.
        :raises TransferIncomplete: when the export arrives short (with or
            without ``verify``).
        """
        what = f"Image {self.fingerprint} export"
        for name, sink in (("fileobj", fileobj), ("rootfs_fileobj", rootfs_fileobj)):
            if sink is not None and not callable(getattr(sink, "write", None)):
                raise exceptions.InvalidArgumentType(
                    f"{what}: {name} must be a binary file object (with write), "
                    f"not {type(sink).__name__}"
                )
        response = self.api.export.get(stream=True)
        with contextlib.closing(response):
            boundary = _boundary(response)
            if boundary and rootfs_fileobj is None:
                raise ValueError(
                    f"Image {self.fingerprint} is a split image: pass "
                    "rootfs_fileobj= to receive its rootfs"
                )
            sinks = {"": fileobj, "metadata": fileobj}
            if rootfs_fileobj is not None:  # else a unified image: no rootfs part
                sinks["rootfs"] = rootfs_fileobj
            chunks = _export_chunks(response, boundary, progress)
            if not verify:
                return _write_parts(chunks, sinks, None)
            with _BackgroundDigest() as digest:
                written = _write_parts(chunks, sinks, digest)
                _check_digest(response, digest, self.fingerprint)
        return written

    def copy(
        self,
        new_client: Client,
        public: bool | None = None,
        auto_update: bool | None = None,
        wait: bool = False,
    ) -> Image:
        """Copy the image to another LXD server and return it there.

        Implements ``POST /1.0/images`` on ``new_client``'s server with an
        ``image`` source pointing at this server (its HTTPS address and
        certificate, as ``lxc`` sends them, so self-signed servers work). A
        private image is fetched with a one-time secret
        (``POST /1.0/images/<fingerprint>/secret``). When this server has no
        HTTPS address, the image is relayed through this client (streamed).

        The secret is cancelled once the target is done with it: LXD leaves
        it valid when the target had the image already (it reads the image's
        details with it but downloads nothing), so a copy to such a target
        waits for the target even without ``wait`` (no download is involved).

        :param public: the copy's ``public`` flag (default: this image's).
        :param auto_update: the copy's ``auto_update`` (default: this image's).
        :raises LXDAPIException: when the target cannot fetch the image.
        """
        self.sync()
        public = self.public if public is None else public
        auto_update = self.auto_update if auto_update is None else auto_update
        server = https_url(self.client)
        if server is None:
            return self._relay_to(new_client, public)
        source = self._copy_source(server)
        secret = source.pop("_operation", None)
        if secret is not None and not wait:
            wait = type(self).exists(new_client, self.fingerprint)
        body = {
            "filename": self.filename,
            "properties": self.properties,
            "public": public,
            "auto_update": auto_update,
            "source": source,
        }
        with _cancelled_on_error(self.client, secret):
            response = new_client.api.images.post(json=body)
            model.wait_for(new_client, response, wait)
        if wait and secret is not None:
            cancel_quietly(self.client, secret)  # a used secret is gone already
        return type(self)(new_client, fingerprint=self.fingerprint)

    def _copy_source(self, server: str) -> JSONDict:
        source: JSONDict = {
            "type": "image",
            "mode": "pull",
            "protocol": "lxd",
            "server": server,
            "fingerprint": self.fingerprint,
            "certificate": _certificate(self.client),
        }
        if _project(self.client):
            source["project"] = _project(self.client)
        if not self.public:
            response = self.api.secret.post()
            operation = exceptions.metadata_of(response)
            source["secret"] = operation["metadata"]["secret"]
            source["_operation"] = operation["id"]
        return source

    def push_to(
        self, new_client: Client, public: bool | None = None, wait: bool = False
    ) -> Image:
        """Make this image's server push the image to another server.

        LXD's push mode, for when the target cannot reach this server: the
        target hands out a one-time secret (``POST /1.0/images`` with a
        ``push`` source), then this server sends the image to it
        (``POST /1.0/images/<fingerprint>/export``).

        :param public: the copy's ``public`` flag (default: this image's).
        :raises ValueError: when the target server has no HTTPS address.
        :raises LXDAPIException: when the push fails.
        """
        target = https_url(new_client)
        if target is None:
            raise ValueError(
                f"Cannot push image {self.fingerprint}: the target server has no "
                "HTTPS address (core.https_address)"
            )
        source = {"type": "image", "mode": "push", "fingerprint": self.fingerprint}
        body = {"public": self.public if public is None else public, "source": source}
        token = exceptions.metadata_of(new_client.api.images.post(json=body))
        with _cancelled_on_error(new_client, token["id"]):
            request = drop_none(
                target=target,
                certificate=_certificate(new_client),
                secret=token["metadata"]["secret"],
                project=_project(new_client),
            )
            response = self.api.export.post(json=request)
            model.wait_for(self.client, response, wait)
        return type(self)(new_client, fingerprint=self.fingerprint)

    def _relay_to(self, new_client: Client, public: bool) -> Image:
        response = self.api.export.get(stream=True)
        if _boundary(response):
            response.close()
            raise ValueError(
                f"Image {self.fingerprint} is a split image and its server has "
                "no HTTPS address: set core.https_address there to copy it"
            )
        reader = _ExportReader(response, self.fingerprint)
        with io.BufferedReader(reader, CHUNK_SIZE) as stream:
            return type(self).create(new_client, stream, public=public)

    def refresh(self, wait: bool = True) -> bool | None:
        """Ask LXD to refresh the image from its source.

        Implements ``POST /1.0/images/<fingerprint>/refresh``.

        :returns: whether a newer image was fetched (None when not waited for).
        :raises LXDAPIException: when the image has no source to refresh from.
        """
        response = self.api.refresh.post()
        operation = model.wait_for(self.client, response, wait)
        if operation is None:
            return None
        return bool((operation.metadata or {}).get("refreshed", False))


class ImageAlias(CollectionMixin, RenameMixin, model.Model):
    """An image alias, ``/1.0/images/aliases/<name>`` (``client.images.aliases``).

    ``save()`` replaces ``description`` and ``target`` (``PUT``).
    """

    _endpoint = "images/aliases"
    _error_kind = "Image alias"
    _name_slash = True

    name = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    target = model.Attribute[str]()
    type = model.Attribute[str](readonly=True, optional=True)

    @classmethod
    def create(
        cls, client: Client, name: str, target: str, description: str = ""
    ) -> ImageAlias:
        """Point a new alias at image ``target`` and return it.

        Implements ``POST /1.0/images/aliases``.

        :raises Conflict: when the alias exists already.
        :raises NotFound: when there is no image ``target``.
        """
        body = {"name": name, "target": target, "description": description}
        cls._post_collection(client, body)
        return cls.get(client, name)

    def rename(self, new_name: str) -> ImageAlias:
        """Rename the alias and return it.

        Implements ``POST /1.0/images/aliases/<name>``.
        """
        self._rename(new_name)
        return self

    def update(self, target: str | None = None, description: str | None = None) -> None:
        """Change the alias' target and/or description, keeping the other.

        ``alias.update(description="x")`` is ``alias.patch({"description": "x"})``:
        a ``PATCH`` on Incus, a guarded ``PUT`` on LXD (see :meth:`_write`).
        """
        self.patch(drop_none(target=target, description=description))

    def _write(
        self, verb: str, body: JSONDict, wait: bool, if_match: bool | None
    ) -> requests.Response:
        """Send ``body``; on LXD a ``PATCH`` (``patch``, ``raw_patch``,
        ``update``) goes as a ``PUT`` of the merged fields.

        LXD 5.0 never answers ``PATCH /1.0/images/aliases/<name>`` (it fails
        with "context deadline exceeded" after 20 s); Incus does. On LXD the
        alias is read and the merged fields are sent with ``If-Match`` (the
        ETag just read, or with ``if_match`` the one it was loaded with): a
        change made in between fails with ``PreconditionFailed`` instead of
        being overwritten.
        """
        if verb != "patch" or self.client.is_incus:
            return super()._write(verb, body, wait, if_match)
        if not isinstance(body, dict):
            raise exceptions.InvalidArgumentType(
                f"{self._subject()}: patch takes a dict, not {type(body).__name__}"
            )
        guard = self._if_match_headers(if_match)
        with exceptions.naming(self._subject()):
            current = self.api.get()
            etag = model.etag_of(current)
            fields = exceptions.metadata_of(current)
            merged = {
                "description": fields.get("description", ""),
                "target": fields.get("target", ""),
                **body,
            }
            headers = guard or ({"If-Match": etag} if etag else {})
            response: requests.Response = self.api.put(json=merged, headers=headers)
        return response


# -- helpers ----------------------------------------------------------------
def _fingerprint_of(operation: Operation | None) -> str:
    metadata = operation.metadata if operation is not None else None
    if not isinstance(metadata, dict) or "fingerprint" not in metadata:
        raise ValueError(f"LXD reported no image fingerprint in {operation!r}")
    return str(metadata["fingerprint"])


def _certificate(client: Client) -> str:
    """The server certificate (PEM) LXD reports to ``client``."""
    return str(client.host_info.get("environment", {}).get("certificate", ""))


def _project(client: Client) -> str | None:
    """The client's project, None for the default one."""
    return None if client.project in (None, "default") else client.project


@contextlib.contextmanager
def _cancelled_on_error(client: Client, operation_id: str | None) -> Iterator[None]:
    """Cancel a pending token operation (a secret) if the transfer fails."""
    try:
        yield
    except exceptions.LXDAPIException:
        if operation_id is not None:
            cancel_quietly(
                client, operation_id
            )  # a failed transfer may not have used it
        raise


def _image_create_from_config(
    client: Client, config: JSONDict, wait: bool = False
) -> Any:
    """Send ``config`` as ``POST /1.0/images`` (pylxd 2.4.2's helper, kept for its callers).

    :returns: the finished :class:`Operation` when ``wait``, else the
        operation's URL.
    :raises LXDAPIException: when LXD refuses the image or the operation fails.
    """
    operation_url = client.api.images.post(json=config).json()["operation"]
    if wait:
        return client.operations.wait_for_operation(operation_url)
    return operation_url

"""Copying storage volumes between pools and between LXD servers.

A copy on one server is a volume created with a ``copy`` source. A copy to
another server is a pull migration: the source server opens a migration
operation (``POST`` the volume with ``{"migration": true}``), and the target
creates the volume with a ``migration`` source pointing at that operation,
connecting back to the source over HTTPS with the source's certificate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib import parse

from pylxd import exceptions
from pylxd.models._mixins import drop_none, required_https_url
from pylxd.models._model import JSONDict
from pylxd.models.operation import cancel_quietly

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client
    from pylxd.models.storage_pool import StorageVolume


def _source(volume: StorageVolume, volume_only: bool) -> JSONDict:
    source: JSONDict = {"pool": volume.storage_pool.name, "name": volume.name}
    if volume_only:
        source["volume_only"] = True
    return source


def _pool_on(client: Client, name: str, source_pool: Any) -> Any:
    """The pool ``name`` on ``client``: ``source_pool`` itself when it is that pool.

    Any other pool is built as ``source_pool``'s class, so this module needs
    nothing from :mod:`pylxd.models.storage_pool`.
    """
    if source_pool.client is client and source_pool.name == name:
        return source_pool
    return type(source_pool)(client, name=name)


def copy(
    volume: StorageVolume,
    target_client: Client | None,
    name: str | None,
    pool: str | None,
    volume_only: bool,
    description: str | None,
    config: JSONDict | None,
    wait: bool,
) -> StorageVolume:
    """Copy ``volume`` to ``pool`` as ``name``, here or on ``target_client``'s server.

    On the volume's own server (``target_client`` None or its client) this is
    ``POST .../volumes/custom`` with a ``copy`` source; to another server it is
    a pull migration, whose source operation is cancelled when the target
    refuses the copy.
    """
    client = volume.client if target_client is None else target_client
    target_pool = _pool_on(
        client, pool or volume.storage_pool.name, volume.storage_pool
    )
    if client is volume.client:
        body = {
            "name": name or volume.name,
            "type": "custom",
            **drop_none(description=description, config=config),
            "source": {"type": "copy", **_source(volume, volume_only)},
        }
        return type(volume).create(target_pool, body, wait=wait)
    body, operation = _migration(volume, name, volume_only, description, config)
    try:
        return type(volume).create(target_pool, body, wait=wait)
    except exceptions.LXDAPIException:
        cancel_quietly(volume.client, operation)
        raise


def _migration(
    volume: StorageVolume,
    name: str | None,
    volume_only: bool,
    description: str | None,
    config: JSONDict | None,
) -> tuple[JSONDict, str]:
    """Open a migration of ``volume`` on its server: the target's body, and
    the source operation's URL (``POST`` the volume with ``{"migration": true}``)."""
    source_url = https_url(volume.client)
    certificate = volume.client.host_info.get("environment", {}).get("certificate")
    body = {
        "name": name or volume.name,
        "type": "custom",
        "description": volume.description if description is None else description,
        "config": volume.config if config is None else config,
        "content_type": volume.content_type,
    }
    migration = {"name": volume.name, "migration": True}
    if volume_only:
        migration["volume_only"] = True
    answer = volume.api.post(json=migration).json()
    body["source"] = {
        "type": "migration",
        "mode": "pull",
        "operation": source_url + parse.urlsplit(answer["operation"]).path,
        "certificate": certificate,
        "secrets": (answer.get("metadata") or {}).get("metadata") or {},
        **({"volume_only": True} if volume_only else {}),
    }
    return body, answer["operation"]


def https_url(client: Client) -> str:
    """The ``https://host:port`` another LXD can reach ``client``'s server at.

    :raises InvalidArgument: when the server has no HTTPS address.
    """
    return required_https_url(
        client,
        "cannot migrate a storage volume from a server without an HTTPS "
        "address: set core.https_address on the source LXD",
    )

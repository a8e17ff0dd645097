"""Fake LXD: instance migration between fakes of one process.

``POST /1.0/instances/<name>`` with ``migration`` makes a websocket
operation offering the instance (:func:`migration_source`); another
:class:`~pylxd.testing.FakeLXD` creating an instance from a ``migration``
source naming that operation and its secrets pulls it (:func:`pull`). The
offers are kept by operation id (an LXD-made UUID), weakly to the source.
"""

from __future__ import annotations

import secrets as _secrets
import weakref

from pylxd._types import JSONDict
from pylxd.testing._fake import FakeError, FakeLXD, FakeRequest, Reply

#: Offered migrations by operation id: the source fake (weakly) and what it offers.
_MIGRATIONS: dict[str, JSONDict] = {}
_BAD_HANDSHAKE = "Error transferring instance data: websocket: bad handshake"


def from_migration(fake: FakeLXD, request: FakeRequest, source: JSONDict) -> JSONDict:
    """The creation source of a ``migration`` instance: what to pull."""
    if source.get("mode", "pull") != "pull":
        raise FakeError(400, "The fake LXD only pulls migrations")
    url = str(source.get("operation") or "")
    if not url.startswith("https://"):
        raise FakeError(400, f"Invalid migration source operation URL {url!r}")
    return {"_pull": url.rsplit("/", 1)[-1], "_secrets": source.get("secrets") or {}}


def pull(op_id: str, secrets: JSONDict) -> JSONDict:
    """Take the instance a migration source offers (and finish that source)."""
    from pylxd.testing._fake_instances import (
        instance_record,
        set_status,
        snapshot_records,
    )

    entry = _MIGRATIONS.pop(op_id, None) or {}
    source_fake: FakeLXD | None = entry["fake"]() if entry else None
    op = source_fake.operations.get(op_id) if source_fake is not None else None
    if source_fake is None or op is None or op.status != "Running":
        raise FakeError(400, _BAD_HANDSHAKE)
    if entry["secrets"] != secrets:
        raise FakeError(400, _BAD_HANDSHAKE)
    with source_fake.lock:
        record = instance_record(source_fake, entry["project"], entry["name"])
        op.status, op.metadata = "Success", None
        snaps = snapshot_records(source_fake, entry["project"], entry["name"])
        if entry["live"]:  # the source stops once its final state is sent
            set_status(record, "Stopped")
        return {
            "config": dict(record["config"]),
            "_snapshots": {} if entry["instance_only"] else dict(snaps),
            "architecture": record["architecture"],
        }


def migration_source(
    fake: FakeLXD, request: FakeRequest, name: str, body: JSONDict
) -> Reply:
    """Offer instance ``name`` for migration (a websocket operation)."""
    from pylxd.testing._fake_instances import instance_record, resources_of

    record = instance_record(fake, request.project, name)
    if (
        record["status"] != "Stopped"
        and body.get("live")
        and "migration_stateful" not in fake.extensions
    ):
        raise FakeError(400, "Live migration requires migration.stateful")
    keys = ["control", "fs"] + (["criu"] if body.get("live") else [])
    secrets = {key: _secrets.token_hex(32) for key in keys}
    op = fake.operation(
        "Migrating instance",
        resources_of(name),
        metadata=secrets,
        status="Running",
        project=request.project,
        op_class="websocket",
    )
    _MIGRATIONS[op.id] = {
        "fake": weakref.ref(fake),
        "project": request.project,
        "name": name,
        "secrets": dict(secrets),
        "live": bool(body.get("live")),
        "instance_only": bool(body.get("instance_only")),
    }
    return fake.async_reply(op)

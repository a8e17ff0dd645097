"""Fake LXD: the snapshots and backups of storage volumes, kept in the
volume record (``_snapshots``, ``_backups``: name -> record)."""

from __future__ import annotations

from typing import Any, Callable

from pylxd.testing._fake import FakeLXD, put_and_patch, route
from pylxd.testing._fake_core import listing
from pylxd.testing._fake_storage import (
    NEVER,
    VOLUME_PATH,
    backup_tarball,
    public,
    remover,
    volume_of,
)
from pylxd.testing._fake_wire import (
    FakeError,
    FakeRequest,
    Reply,
    lookup,
    now,
    rename_in,
)


def _new_name(
    body: dict[str, Any], prefix: str, taken: dict[str, Any], in_use: str
) -> str:
    """The body's ``name``, or LXD's for an unnamed child (``<prefix><n>``, the
    first one free); a 409 with ``in_use`` when it is taken."""
    name: str = body.get("name") or next(
        f"{prefix}{i}" for i in range(len(taken) + 1) if f"{prefix}{i}" not in taken
    )
    if name in taken:
        raise FakeError(409, in_use.format(name=name))
    return name


class _Children:
    """The list, get, rename and delete routes of one kind of volume child.

    :param kind: ``snapshots`` or ``backups`` (the URL part; the volume
        keeps them under ``_<kind>``).
    :param missing: LXD's message for a child that does not exist.
    :param what: the child in operation descriptions.
    :param view: what ``GET`` shows of a child (and a listing, given the
        volume's name too).
    :param in_use: LXD's message when a rename meets a taken name (None: LXD
        does not check).
    """

    def __init__(
        self,
        kind: str,
        missing: str,
        what: str,
        view: Callable[[Any], Any],
        list_view: Callable[[Any, str], Any],
        in_use: str | None = None,
    ) -> None:
        self.kind, self.missing, self.what = kind, missing, what
        self.view, self.list_view, self.in_use = view, list_view, in_use
        #: The path of one child (its name is the ``child`` group).
        self.one = VOLUME_PATH + rf"/{kind}/(?P<child>[^/]+)"
        route("GET", VOLUME_PATH + f"/{kind}")(self.list)
        route("GET", self.one)(self.get)
        route("POST", self.one)(self.rename)
        route("DELETE", self.one)(self.delete)

    def items(
        self, fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
    ) -> dict[str, Any]:
        """The children of the volume (404 when there is no such volume)."""
        children: dict[str, Any] = volume_of(fake, request, pool, vtype, vol)[
            f"_{self.kind}"
        ]
        return children

    def find(self, fake: FakeLXD, request: FakeRequest, child: str, **vol: str) -> Any:
        """The child called ``child`` (404 with :attr:`missing` when none is)."""
        return lookup(self.items(fake, request, **vol), child, self.missing)

    def list(self, fake: FakeLXD, request: FakeRequest, **vol: str) -> Reply:
        prefix = "/1.0/storage-pools/{pool}/volumes/{vtype}/{vol}/".format(**vol)
        children = self.items(fake, request, **vol)
        render = lambda c: self.list_view(c, vol["vol"])  # noqa: E731
        return fake.sync(
            listing(request, prefix + self.kind, children, render, in_project=False)
        )

    def get(self, fake: FakeLXD, request: FakeRequest, child: str, **vol: str) -> Reply:
        return fake.sync(self.view(self.find(fake, request, child, **vol)))

    def rename(
        self, fake: FakeLXD, request: FakeRequest, child: str, **vol: str
    ) -> Reply:
        children = self.items(fake, request, **vol)
        lookup(children, child, self.missing)
        new = (request.json or {}).get("name")
        if not new:
            raise FakeError(400, "No name provided")

        def work() -> None:
            if self.in_use is not None and new in children:
                raise FakeError(409, self.in_use.format(new=new))
            rename_in(children, child, new)

        return fake.run_async(f"Renaming {self.what}", request, work)

    def delete(
        self, fake: FakeLXD, request: FakeRequest, child: str, **vol: str
    ) -> Reply:
        children = self.items(fake, request, **vol)
        lookup(children, child, self.missing)
        work = remover(children, child)
        return fake.run_async(f"Deleting {self.what}", request, work)


# -- snapshots -----------------------------------------------------------------
_SNAPSHOTS = _Children(
    "snapshots",
    "Storage pool volume not found",
    "storage volume snapshot",
    view=lambda snap: snap,
    list_view=lambda snap, vol: {**snap, "name": f"{vol}/{snap['name']}"},
    in_use='Snapshot "{new}" already in use',
)


@route("POST", VOLUME_PATH + r"/snapshots")
def _snapshot_create(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
) -> Reply:
    volume = volume_of(fake, request, pool, vtype, vol)
    body = request.json or {}
    snaps = volume["_snapshots"]
    name = _new_name(body, "snap", snaps, 'Snapshot "{name}" already in use')
    snap = {
        "name": name,
        "description": "",
        "config": dict(volume["config"]),
        "content_type": volume["content_type"],
        "created_at": now(),
        "expires_at": body.get("expires_at") or NEVER,
    }
    return fake.run_async(
        "Creating storage volume snapshot",
        request,
        lambda: snaps.update({name: snap}),
        resources={"storage_volumes": [f"/1.0/storage_volumes/{vol}"]},
    )


@put_and_patch(_SNAPSHOTS.one)
def _snapshot_update(
    fake: FakeLXD, request: FakeRequest, child: str, merge: bool, **vol: str
) -> Reply:
    found = _SNAPSHOTS.find(fake, request, child, **vol)
    body = request.json or {}
    if not merge or "description" in body:
        found["description"] = body.get("description", "")
    if not merge or "expires_at" in body:
        found["expires_at"] = body.get("expires_at") or NEVER
    return fake.sync()


# -- backups -------------------------------------------------------------------
_BACKUPS = _Children(
    "backups",
    "Storage volume backup not found",
    "custom volume backup",
    view=public,
    list_view=lambda backup, vol: public(backup),
)


@route("POST", VOLUME_PATH + r"/backups")
def _backup_create(
    fake: FakeLXD, request: FakeRequest, pool: str, vtype: str, vol: str
) -> Reply:
    volume = volume_of(fake, request, pool, vtype, vol)
    body = request.json or {}
    backups = volume["_backups"]
    name = _new_name(body, "backup", backups, "Backup already exists")
    backup = {
        "name": name,
        "created_at": now(),
        "expires_at": body.get("expires_at") or NEVER,
        "volume_only": bool(body.get("volume_only")),
        "optimized_storage": bool(body.get("optimized_storage")),
        "_data": backup_tarball(volume),
    }
    return fake.run_async(
        "Creating custom volume backup",
        request,
        lambda: backups.update({name: backup}),
        resources={
            "backups": [f"/1.0/backups/{name}"],
            "storage_volumes": [f"/1.0/storage_volumes/{vol}"],
        },
    )


@route("GET", _BACKUPS.one + r"/export")
def _backup_export(
    fake: FakeLXD, request: FakeRequest, child: str, **vol: str
) -> Reply:
    data = _BACKUPS.find(fake, request, child, **vol)["_data"]
    return fake.raw(data, **{"Content-Length": str(len(data))})

"""Fake LXD: the snapshots and backups of storage volumes, kept in the
volume record (``_snapshots``, ``_backups``: name -> record)."""

from __future__ import annotations

from typing import Any, Callable

from pylxd.testing._fake import FakeLXD, put_and_patch, route
from pylxd.testing._fake_core import given_name, listing
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
    """The routes of one kind of volume child but its update and export.

    :param kind: ``snapshots`` or ``backups`` (the URL part; the volume
        keeps them under ``_<kind>``).
    :param missing: LXD's message for a child that does not exist.
    :param what: the child in operation descriptions.
    :param new: how ``POST`` makes a child: ``(prefix, taken, make)``, the
        name LXD gives an unnamed one (``<prefix><n>``), LXD's 409 message
        when its ``{name}`` is taken, and ``make(volume, name, body)``.
    :param view: what ``GET`` shows of a child; ``list_view``, given the
        volume's name too, what a listing shows.
    :param rename_checked: whether a rename to a taken name is refused (with
        ``taken``); LXD does not check for every kind.
    :param named: the key of the operation resources naming a new child
        (``/1.0/<named>/<name>``), if any.
    """

    def __init__(
        self,
        kind: str,
        missing: str,
        what: str,
        new: tuple[str, str, Callable[[Any, str, Any], Any]],
        view: Callable[[Any], Any],
        list_view: Callable[[Any, str], Any],
        rename_checked: bool = True,
        named: str | None = None,
    ) -> None:
        self.kind, self.missing, self.what = kind, missing, what
        self.prefix, self.taken, self.make = new
        self.view, self.list_view = view, list_view
        self.rename_checked, self.named = rename_checked, named
        #: The path of one child (its name is the ``child`` group).
        self.one = VOLUME_PATH + rf"/{kind}/(?P<child>[^/]+)"
        route("GET", VOLUME_PATH + f"/{kind}")(self.list)
        route("POST", VOLUME_PATH + f"/{kind}")(self.create)
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

    def create(self, fake: FakeLXD, request: FakeRequest, **vol: str) -> Reply:
        volume = volume_of(fake, request, **vol)
        body = request.json or {}
        children = volume[f"_{self.kind}"]
        name = _new_name(body, self.prefix, children, self.taken)
        child = self.make(volume, name, body)
        resources = {"storage_volumes": [f"/1.0/storage_volumes/{vol['vol']}"]}
        if self.named is not None:
            resources = {self.named: [f"/1.0/{self.named}/{name}"], **resources}
        return fake.run_async(
            f"Creating {self.what}",
            request,
            lambda: children.update({name: child}),
            resources=resources,
        )

    def get(self, fake: FakeLXD, request: FakeRequest, child: str, **vol: str) -> Reply:
        return fake.sync(self.view(self.find(fake, request, child, **vol)))

    def rename(
        self, fake: FakeLXD, request: FakeRequest, child: str, **vol: str
    ) -> Reply:
        children = self.items(fake, request, **vol)
        lookup(children, child, self.missing)
        new = given_name(request.json or {})

        def work() -> None:
            if self.rename_checked and new in children:
                raise FakeError(409, self.taken.format(name=new))
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
def _new_snapshot(volume: Any, name: str, body: Any) -> Any:
    return {
        "name": name,
        "description": "",
        "config": dict(volume["config"]),
        "content_type": volume["content_type"],
        "created_at": now(),
        "expires_at": body.get("expires_at") or NEVER,
    }


_SNAPSHOTS = _Children(
    "snapshots",
    "Storage pool volume not found",
    "storage volume snapshot",
    ("snap", 'Snapshot "{name}" already in use', _new_snapshot),
    view=lambda snap: snap,
    list_view=lambda snap, vol: {**snap, "name": f"{vol}/{snap['name']}"},
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
    return fake.empty()


# -- backups -------------------------------------------------------------------
def _new_backup(volume: Any, name: str, body: Any) -> Any:
    return {
        "name": name,
        "created_at": now(),
        "expires_at": body.get("expires_at") or NEVER,
        "volume_only": bool(body.get("volume_only")),
        "optimized_storage": bool(body.get("optimized_storage")),
        "_data": backup_tarball(volume),
    }


_BACKUPS = _Children(
    "backups",
    "Storage volume backup not found",
    "custom volume backup",
    ("backup", "Backup already exists", _new_backup),
    view=public,
    list_view=lambda backup, vol: public(backup),
    rename_checked=False,
    named="backups",
)


@route("GET", _BACKUPS.one + r"/export")
def _backup_export(
    fake: FakeLXD, request: FakeRequest, child: str, **vol: str
) -> Reply:
    data = _BACKUPS.find(fake, request, child, **vol)["_data"]
    return fake.raw(data, **{"Content-Length": str(len(data))})

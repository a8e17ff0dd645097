"""Fake LXD: a REST collection of JSON records, declared once.

A :class:`Collection` is told a collection's path, where its records are
kept, their key, writable fields and defaults, LXD's messages and which
verbs it answers; from that it registers the list, create, get, update
(``PUT`` replaces, ``PATCH`` merges ``config``), rename and delete routes.
A family declares what is its own (the checks of a body, the view of a
record, what a new record gets) and writes only the handlers unique to it.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable

from pylxd._types import JSONDict
from pylxd.testing._fake import FakeLXD, route
from pylxd.testing._fake_core import listing
from pylxd.testing._fake_wire import FakeError, FakeRequest, Reply, lookup

#: An error LXD answers: (status, message).
Error = tuple[int, str]
#: ``hook(fake, request, value, **groups)``: ``groups`` name the parents.
Hook = Callable[..., Any]

_SEG = r"[^/]+"
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def json_body(request: FakeRequest) -> JSONDict:
    """The request's JSON object ({} when empty; LXD's 400 for any other JSON)."""
    body = request.json
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise FakeError(400, "Invalid request body")
    return body


def require_extension(fake: FakeLXD, extension: str | None) -> None:
    """404, as a server without ``extension`` answers a path it does not route."""
    if extension is not None and extension not in fake.extensions:
        raise FakeError(404, "not found")


class Collection:
    """The routes of one collection, from its declaration.

    :param path: the collection's path regex; its named groups (the parents)
        reach every hook as keyword arguments.
    :param items: ``items(fake, request, **groups)``: the records by key
        (a 404 when a parent is missing).
    :param missing: LXD's 404 message for a key with no record.
    :param fields: the writable fields with their defaults, in LXD's order.
        ``config`` among them: ``PATCH`` merges it; ``PATCH`` sets every other
        field from the body, or its default (LXD 5.0), unless ``patch_keeps``
        (absent fields stay, as in Incus).
    :param required: the error of a ``POST`` without the key (or a rename
        without a new name).
    :param exists: the error of a ``POST`` (or rename) naming a taken key.
    :param check: ``check(fake, request, body)``: the checks ``POST`` makes
        between the key's and the clash's.
    :param clean: ``clean(fake, request, body)``: checks a ``POST``, ``PUT``
        or ``PATCH`` body and completes it in place (e.g. its ``config``).
    :param make: ``make(fake, request, record, body)``: the fields a new
        record gets beyond ``fields``.
    :param view: ``view(fake, request, record)``: what ``GET`` and a
        listing with ``recursion=1`` show of a record (by default the record).
    :param created: ``created(record)``: the metadata ``POST`` answers.
    :param extension: the API extension without which nothing is routed.
    :param verbs: the verbs of one record besides ``GET`` (``POST`` renames).
    :param rename: the errors of a rename without a new name and naming a
        taken key (by default ``required`` and ``exists``).
    :param check_free: ``check_free(fake, request, key, verb)``: raises
        LXD's error when the record may not be renamed or deleted (``verb``:
        ``rename``, ``delete``), e.g. while it is in use.
    """

    def __init__(
        self,
        path: str,
        items: Hook,
        missing: str,
        fields: JSONDict,
        *,
        key: str = "name",
        required: Error,
        exists: Error,
        check: Hook | None = None,
        clean: Hook | None = None,
        make: Hook | None = None,
        view: Hook | None = None,
        created: Callable[[JSONDict], Any] | None = None,
        extension: str | None = None,
        verbs: tuple[str, ...] = ("PUT", "PATCH", "DELETE"),
        patch_keeps: bool = False,
        rename: tuple[Error, Error] | None = None,
        check_free: Hook | None = None,
    ) -> None:
        self.items, self.missing, self.fields, self.key = items, missing, fields, key
        self.required, self.exists, self.extension = required, exists, extension
        self.check, self.clean, self.make, self.view = check, clean, make, view
        self.created, self.patch_keeps = created, patch_keeps
        self.rename_errors = rename or (required, exists)
        self.check_free = check_free
        #: The URL of the collection, ``{group}`` for each parent.
        self.url = _GROUP.sub(r"{\1}", path)
        #: The path regex of one record (its key is the ``key`` group).
        self.one = rf"{path}/(?P<key>{_SEG})"
        route("GET", path)(self.list)
        route("POST", path)(self.create)
        route("GET", self.one)(self.get)
        for verb in verbs:
            route(verb, self.one)(getattr(self, verb.lower()))

    # -- finding ---------------------------------------------------------------
    def records(self, fake: FakeLXD, request: FakeRequest, **groups: str) -> Any:
        """The records by key (404 for a missing parent or extension)."""
        require_extension(fake, self.extension)
        return self.items(fake, request, **groups)

    def find(
        self, fake: FakeLXD, request: FakeRequest, key: str, **groups: str
    ) -> JSONDict:
        """The record of ``key`` (404 with :attr:`missing` when there is none)."""
        return lookup(self.records(fake, request, **groups), key, self.missing)

    def _show(self, fake: FakeLXD, request: FakeRequest, **groups: str) -> Hook:
        view = self.view
        if view is None:
            return lambda record: record
        return lambda record: view(fake, request, record, **groups)

    def _cleaned(self, fake: FakeLXD, request: FakeRequest, **groups: str) -> JSONDict:
        body = json_body(request)
        if self.clean is not None:
            self.clean(fake, request, body, **groups)
        return body

    def _check_free(
        self, fake: FakeLXD, request: FakeRequest, verb: str, key: str, **groups: str
    ) -> None:
        if self.check_free is not None:
            self.check_free(fake, request, key, verb, **groups)

    # -- the routes ------------------------------------------------------------
    def list(self, fake: FakeLXD, request: FakeRequest, **groups: str) -> Reply:
        records = self.records(fake, request, **groups)
        render = self._show(fake, request, **groups)
        return fake.sync(listing(request, self.url.format(**groups), records, render))

    def create(self, fake: FakeLXD, request: FakeRequest, **groups: str) -> Reply:
        return self.insert(fake, request, json_body(request), **groups)

    def insert(
        self, fake: FakeLXD, request: FakeRequest, body: JSONDict, **groups: str
    ) -> Reply:
        """A new record from ``body`` (what ``create`` answers a ``POST`` with)."""
        records = self.records(fake, request, **groups)
        key = body.get(self.key)
        if not key:
            raise FakeError(*self.required)
        if self.check is not None:
            self.check(fake, request, body, **groups)
        if key in records:
            raise FakeError(*self.exists)
        if self.clean is not None:
            self.clean(fake, request, body, **groups)
        record = {self.key: key}
        record.update(
            {k: copy.deepcopy(body.get(k, d)) for k, d in self.fields.items()}
        )
        if self.make is not None:
            record.update(self.make(fake, request, record, body, **groups))
        records[key] = record
        return fake.sync(None if self.created is None else self.created(record))

    def get(
        self, fake: FakeLXD, request: FakeRequest, key: str, **groups: str
    ) -> Reply:
        record = self.find(fake, request, key, **groups)
        return fake.sync(self._show(fake, request, **groups)(record))

    def update(
        self, fake: FakeLXD, request: FakeRequest, key: str, merge: bool, **groups: str
    ) -> Reply:
        """``PUT`` (``merge=False``) or ``PATCH`` (``merge=True``) a record."""
        record = self.find(fake, request, key, **groups)
        body = self._cleaned(fake, request, **groups)
        for field, default in self.fields.items():
            if field == "config":
                config = body.get("config") or {}
                record["config"] = {**record["config"], **config} if merge else config
            elif not (merge and self.patch_keeps) or field in body:
                record[field] = copy.deepcopy(body.get(field, default))
        return fake.empty()

    def put(
        self, fake: FakeLXD, request: FakeRequest, key: str, **groups: str
    ) -> Reply:
        return self.update(fake, request, key, False, **groups)

    def patch(
        self, fake: FakeLXD, request: FakeRequest, key: str, **groups: str
    ) -> Reply:
        return self.update(fake, request, key, True, **groups)

    def post(
        self, fake: FakeLXD, request: FakeRequest, key: str, **groups: str
    ) -> Reply:
        """Rename: ``{<key>: new}``."""
        record = self.find(fake, request, key, **groups)
        records = self.records(fake, request, **groups)
        new = json_body(request).get(self.key)
        required, exists = self.rename_errors
        if not new:
            raise FakeError(*required)
        if new in records:
            raise FakeError(*exists)
        self._check_free(fake, request, "rename", key, **groups)
        record[self.key] = new
        records[new] = records.pop(key)
        return fake.sync()

    def delete(
        self, fake: FakeLXD, request: FakeRequest, key: str, **groups: str
    ) -> Reply:
        self.find(fake, request, key, **groups)
        self._check_free(fake, request, "delete", key, **groups)
        del self.records(fake, request, **groups)[key]
        return fake.empty()

"""The fake LXD core: a ``requests`` adapter answering in LXD's envelope.

Resource families live in their own modules (``_fake_*.py``); each declares
its routes with :func:`route` and its initial state with :func:`on_init`.
This module holds what they share: routing, the response envelope,
operations, projects, request recording and fault injection.
"""

from __future__ import annotations

import copy
import functools
import io
import itertools
import json
import re
import threading
import uuid
from typing import Any, Callable, Iterable
from urllib import parse

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

from pylxd._types import JSONDict
from pylxd.testing import _fake_etag
from pylxd.testing._extensions import INCUS_6_0_4_EXTENSIONS, LXD_5_0_2_EXTENSIONS
from pylxd.testing._fake_faults import FaultsMixin
from pylxd.testing._fake_helpers import HelpersMixin
from pylxd.testing._fake_wire import (  # noqa: F401  (the families import them from here)
    FakeError,
    FakeOperation,
    FakeRequest,
    Recorded,
    Reply,
    _lxd_header_names,
    lookup,
    now,
    only,
    rename_in,
)

#: Modules that add routes, imported when the first FakeLXD is built.
_FAMILIES: tuple[str, ...] = (
    "pylxd.testing._fake_core",
    "pylxd.testing._fake_incus",
    "pylxd.testing._fake_instance_subresources",  # before _fake_instances (backup uploads)
    "pylxd.testing._fake_warnings",
    "pylxd.testing._fake_cluster",
    "pylxd.testing._fake_files",
    "pylxd.testing._fake_networks",
    "pylxd.testing._fake_network_acls_zones",
    "pylxd.testing._fake_storage",
    "pylxd.testing._fake_volume_children",
    "pylxd.testing._fake_images",
    "pylxd.testing._fake_certificates",
    "pylxd.testing._fake_instances",
    "pylxd.testing._fake_snapshots",
    "pylxd.testing._fake_exec",
    "pylxd.testing._fake_console",
)

#: What each imitated daemon advertises by default: extensions, version.
_SERVERS: dict[str, tuple[tuple[str, ...], str]] = {
    "lxd": (LXD_5_0_2_EXTENSIONS, "5.0.2"),
    "incus": (INCUS_6_0_4_EXTENSIONS, "6.0.4"),
}
#: Collections Incus does not serve (only ``/1.0/instances``).
_NOT_ON_INCUS = re.compile(r"^/1\.0/(containers|virtual-machines)(/|$)")

#: A route's handler: ``handler(fake, request, **groups)``.
Handler = Callable[..., Reply]

_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
#: Handlers that run without the fake's lock (they block, e.g. ``/wait``).
_UNLOCKED: set[Handler] = set()
_INITS: list[Callable[[FakeLXD], None]] = []
_loaded = False
_load_lock = threading.Lock()


def route(
    method: str, pattern: str, locked: bool = True, first: bool = False
) -> Callable[[Handler], Handler]:
    """Register ``handler(fake, request, **groups)`` for ``method`` and a path regex.

    Named groups of ``pattern`` (``(?P<name>[^/]+)``) arrive unquoted as
    keyword arguments. Handlers run holding ``fake.lock`` unless ``locked``
    is False (a handler that blocks takes the lock itself when it needs it).
    The first matching route answers; ``first`` puts this one before those
    registered already (a path another family's pattern also matches).
    """

    def decorate(handler: Handler) -> Handler:
        entry = (method.upper(), re.compile(f"^{pattern}$"), handler)
        if first:
            _ROUTES.insert(0, entry)
        else:
            _ROUTES.append(entry)
        if not locked:
            _UNLOCKED.add(handler)
        return handler

    return decorate


def put_and_patch(pattern: str) -> Callable[[Handler], Handler]:
    """Register ``update(fake, request, **groups, merge=...)`` as the ``PUT``
    (``merge=False``: the body replaces the object) and the ``PATCH``
    (``merge=True``: the body's keys only) of a path regex."""

    def decorate(update: Handler) -> Handler:
        route("PUT", pattern)(functools.partial(update, merge=False))
        route("PATCH", pattern)(functools.partial(update, merge=True))
        return update

    return decorate


def on_init(func: Callable[[FakeLXD], None]) -> Callable[[FakeLXD], None]:
    """Register a function that seeds the state of every new FakeLXD."""
    _INITS.append(func)
    return func


def _load_families() -> None:
    global _loaded
    with _load_lock:
        if _loaded:
            return
        import importlib

        for module in _FAMILIES:
            importlib.import_module(module)
        _loaded = True


class FakeEndpoint(str):
    """The URL of a :class:`FakeLXD` that carries the fake (see
    :attr:`FakeLXD.endpoint`): a :class:`pylxd.Client` given it mounts
    :attr:`pylxd_adapter` on its session instead of a network adapter (the
    hook is ``pylxd._transport.IN_PROCESS_ADAPTER``)."""

    #: The fake, a ``requests`` adapter that also opens websockets.
    pylxd_adapter: FakeLXD

    def __new__(cls, url: str, fake: FakeLXD) -> FakeEndpoint:
        endpoint = super().__new__(cls, url)
        endpoint.pylxd_adapter = fake
        return endpoint

    def __copy__(self) -> FakeEndpoint:
        return self  # immutable, as a str: a copy carries the same fake

    def __deepcopy__(self, memo: dict[int, Any]) -> FakeEndpoint:
        return self

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        return str, (str(self),)  # a fake cannot leave its process: a plain URL


class FakeLXD(FaultsMixin, HelpersMixin, requests.adapters.BaseAdapter):
    """An in-memory LXD answering through a ``requests`` session.

    >>> fake = FakeLXD()
    >>> client = fake.client()
    >>> client.host_info["environment"]["server_version"]
    '5.0.2'

    :param extensions: the API extensions to advertise (LXD 5.0.2's by default).
    :param trusted: whether clients are trusted (``auth: trusted``).
    :param server_version: the version ``GET /1.0`` reports (``5.0.2``, or
        ``6.0.4`` for Incus).
    :param clustered: whether the server says it is clustered.
    :param server: ``"lxd"`` (default) or ``"incus"``: an Incus 6.0 says so in
        ``environment.server``, advertises Incus's extensions, serves no
        ``/1.0/containers`` or ``/1.0/virtual-machines`` (404) and trusts by
        token only (no ``core.trust_password``).

    >>> incus = FakeLXD(server="incus").client()
    >>> incus.host_info["environment"]["server"], incus.host_info["environment"]["server_version"]
    ('incus', '6.0.4')
    """

    #: The base URL clients of :meth:`client` use (``http://<id>.lxd.fake``).
    base_url: str

    def __init__(
        self,
        extensions: Iterable[str] | None = None,
        trusted: bool = True,
        server_version: str | None = None,
        clustered: bool = False,
        *,
        server: str = "lxd",
    ) -> None:
        super().__init__()
        if server not in _SERVERS:
            raise ValueError(
                f"FakeLXD: server must be 'lxd' or 'incus', not {server!r}"
            )
        _load_families()
        self.lock = threading.RLock()
        #: ``"lxd"`` or ``"incus"``: the daemon the fake imitates.
        self.server = server
        default_extensions, default_version = _SERVERS[server]
        self.extensions = list(default_extensions if extensions is None else extensions)
        self.trusted = trusted
        self.server_version = server_version or default_version
        self.clustered = clustered
        self.config: JSONDict = {}
        self.requests: list[Recorded] = []
        self.operations: dict[str, FakeOperation] = {}
        self.faults: list[Callable[[FakeRequest], Reply | None]] = []
        self.state: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._op_faults: list[tuple[str | None, str | None, str]] = []
        #: Exec behaviours, newest first (see :meth:`on_exec`).
        self.exec_rules: list[Any] = []
        #: Secrets of the websockets operations wait for: ``(session, fd)``.
        self.websocket_secrets: dict[str, Any] = {}
        #: Connected event streams.
        self.event_listeners: list[Any] = []
        self._armed = threading.local()
        self.host = f"{uuid.uuid4().hex[:12]}.lxd.fake"
        self.base_url = f"http://{self.host}"
        for init in _INITS:
            init(self)

    # -- wiring --------------------------------------------------------------
    def session(self) -> requests.Session:
        """A ``requests.Session`` with this fake mounted on :attr:`base_url`."""
        session = requests.Session()
        session.mount(self.base_url, self)
        return session

    def client(self, **kwargs: Any) -> Any:
        """A :class:`pylxd.Client` talking to this fake.

        :param kwargs: passed to :class:`pylxd.Client` (``project=``, ...).
        """
        from pylxd.client import Client

        return Client(endpoint=self.base_url, session=self.session(), **kwargs)

    @property
    def endpoint(self) -> FakeEndpoint:
        """A URL for ``Client(endpoint=fake.endpoint)``: it reaches this fake.

        It is a :class:`FakeEndpoint`, a ``str`` that carries the fake: the
        client mounts the fake on its session, as :meth:`client` does, and
        nothing is looked up by host name. Pass it on as it is; a copy made
        with ``str()``, a format string or a configuration file is a plain
        URL that reaches nothing. It keeps the fake alive as long as it or
        a client made from it lives.

        >>> from pylxd import Client
        >>> with FakeLXD() as fake:
        ...     Client(endpoint=fake.endpoint).host_info["api_version"]
        '1.0'
        """
        return FakeEndpoint(self.base_url, self)

    def unregister(self) -> None:
        """Nothing to undo: a fake is not registered anywhere (its
        :attr:`endpoint` carries it). Kept for code written when it was."""

    def __enter__(self) -> FakeLXD:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unregister()

    # -- state helpers for the families --------------------------------------
    def store(self, kind: str, project: str = "default") -> dict[str, Any]:
        """The dict holding the objects of ``kind`` in ``project``."""
        with self.lock:
            return self.state.setdefault(kind, {}).setdefault(project, {})

    def has_project(self, name: str) -> bool:
        """Tell whether the fake has a project called ``name``."""
        return name in self.store("projects")

    def next_id(self) -> int:
        """Return a new number, unique within this fake."""
        return next(self._ids)

    # -- replies -------------------------------------------------------------
    @staticmethod
    def empty() -> Reply:
        """LXD's empty sync answer (``metadata: {}``): what a ``PUT``, ``PATCH``
        or ``DELETE`` answers; a create or rename answers ``sync()`` (``null``)."""
        return FakeLXD.sync({})

    @staticmethod
    def sync(metadata: Any = None, status: int = 200, etag: str | None = None) -> Reply:
        """LXD's sync envelope around ``metadata``."""
        body = {
            "type": "sync",
            "status": "Success",
            "status_code": 200,
            "operation": "",
            "error_code": 0,
            "error": "",
            "metadata": copy.deepcopy(metadata),
        }
        headers = {"Content-Type": "application/json"}
        if etag:
            headers["ETag"] = etag
        return Reply(status, json.dumps(body).encode(), headers)

    @staticmethod
    def error(status: int, message: str) -> Reply:
        """LXD's error envelope."""
        body = {
            "type": "error",
            "status": "",
            "status_code": 0,
            "operation": "",
            "error_code": status,
            "error": message,
            "metadata": None,
        }
        return Reply(
            status, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )

    @staticmethod
    def raw(
        data: bytes, content_type: str = "application/octet-stream", **headers: str
    ) -> Reply:
        """A non-JSON body (file contents, exports)."""
        return Reply(200, data, {"Content-Type": content_type, **headers})

    def operation(
        self,
        description: str,
        resources: dict[str, list[str]] | None = None,
        *,
        metadata: Any = None,
        err: str = "",
        status: str | None = None,
        project: str = "default",
        op_class: str = "task",
        on_wait: Callable[[], None] | None = None,
    ) -> FakeOperation:
        """Record an operation (finished unless ``status`` says otherwise).

        An armed :meth:`fail_operation_next` turns it into a failed one.
        """
        injected = self._take_operation_fault()
        if injected is not None:
            metadata, err, status = None, injected, "Failure"
        op = FakeOperation(
            id=str(uuid.uuid4()),
            description=description,
            resources=resources or {},
            metadata=metadata,
            status=status or ("Failure" if err else "Success"),
            err=err,
            project=project,
            op_class=op_class,
            on_wait=on_wait,
        )
        with self.lock:
            self.operations[op.id] = op
        self.operation_changed(op, new=True)
        return op

    def operation_changed(self, op: FakeOperation, new: bool = False) -> None:
        """Tell event listeners about ``op`` (LXD sends an ``operation`` event).

        :param new: ``op`` was just created: LXD announces it ``Pending``,
            then ``Running``, before its final state.
        """
        if not self.event_listeners:
            return
        if new:
            steps = ("Pending", "Running")
            for status in (
                steps[: steps.index(op.status)] if op.status in steps else steps
            ):
                view = {**op.render(), "status": status, "err": "", "metadata": None}
                view["status_code"] = {"Pending": 105, "Running": 103}[status]
                self.emit("operation", view, op.project)
        self.emit("operation", op.render(), op.project)

    def async_reply(self, op: FakeOperation) -> Reply:
        """LXD's async envelope (HTTP 202) for ``op``."""
        body = {
            "type": "async",
            "status": "Operation created",
            "status_code": 100,
            "operation": f"/1.0/operations/{op.id}",
            "error_code": 0,
            "error": "",
            "metadata": op.render(),
        }
        return Reply(
            202, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )

    def run_async(
        self,
        description: str,
        request: FakeRequest,
        work: Callable[[], Any] | None = None,
        resources: dict[str, list[str]] | None = None,
        op_class: str = "task",
    ) -> Reply:
        """Do ``work`` now and answer with a finished operation.

        A :class:`FakeError` raised by ``work`` becomes a failed operation,
        as LXD reports errors found after it answered.
        """
        metadata, err = None, ""
        injected = self._take_operation_fault()
        try:
            if injected is not None:
                raise FakeError(400, injected)  # nothing is changed
            metadata = work() if work is not None else None
        except FakeError as failure:
            err = failure.message
        op = self.operation(
            description,
            resources,
            metadata=metadata,
            err=err,
            project=request.project,
            op_class=op_class,
        )
        return self.async_reply(op)

    # -- inspection ----------------------------------------------------------
    def calls(
        self, method: str | None = None, path: str | None = None
    ) -> list[Recorded]:
        """The requests received, filtered by method and path."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (path is None or r.path == path)
        ]

    def last(self, method: str, path: str) -> Recorded:
        """The last request for ``method`` and ``path``."""
        found = self.calls(method, path)
        if not found:
            seen = ", ".join(f"{r.method} {r.path}" for r in self.requests[-10:])
            raise AssertionError(f"no {method} {path} request (last ones: {seen})")
        return found[-1]

    def last_body(self, method: str, path: str) -> Any:
        """The JSON body of the last ``method`` request to ``path``."""
        return self.last(method, path).json

    # -- the adapter ---------------------------------------------------------
    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        *_: Any,
        **__: Any,
    ) -> requests.Response:
        """Answer ``request`` (``timeout``, ``verify``, ``cert`` and ``proxies``
        mean nothing in-process)."""
        parts = parse.urlsplit(request.url or "")
        query = {
            k: v[-1]
            for k, v in parse.parse_qs(parts.query, keep_blank_values=True).items()
        }
        fake_request = FakeRequest(
            method=(request.method or "GET").upper(),
            path=parts.path,
            query=query,
            body=request.body,
            headers=_lxd_header_names(request.headers),
            prepared=request,
        )
        self._arm_operation_fault(fake_request)
        try:
            reply = self._dispatch(fake_request)
        finally:
            self._armed.fault = None
        self._after(fake_request, reply)
        _fake_etag.add_etag(fake_request, reply)
        self.requests.append(
            Recorded(fake_request.method, parts.path, query, fake_request.body)
        )
        return self._build_response(request, reply, stream)

    def _dispatch(self, request: FakeRequest) -> Reply:
        for fault in list(self.faults):
            reply = fault(request)
            if reply is not None:
                return reply
        if not self.trusted:
            from pylxd.testing._fake_trust import untrusted_reply

            with self.lock:
                refused = untrusted_reply(self, request)
            if refused is not None:
                return refused
        if self.server == "incus" and _NOT_ON_INCUS.match(request.path):
            return self.error(404, "not found")
        stale = _fake_etag.refuse_stale(self, request)
        if stale is not None:
            return stale
        allowed = False
        for method, pattern, handler in _ROUTES:
            match = pattern.match(request.path)
            if match is None:
                continue
            allowed = True
            if method != request.method:
                continue
            groups = {k: parse.unquote(v) for k, v in match.groupdict().items()}
            try:
                if handler in _UNLOCKED:
                    return handler(self, request, **groups)
                with self.lock:
                    return handler(self, request, **groups)
            except FakeError as failure:
                return self.error(failure.status, failure.message)
        if allowed:  # LXD answers a method an endpoint lacks with a 501
            return self.error(501, "not implemented")
        return self.error(404, "not found")

    @staticmethod
    def _build_response(
        request: requests.PreparedRequest, reply: Reply, stream: bool
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = reply.status
        response.headers = CaseInsensitiveDict(reply.headers)
        response.url = request.url or ""
        response.request = request
        response.reason = "OK" if reply.status < 400 else "Error"
        response.encoding = "utf-8"
        response.raw = io.BytesIO(reply.body)
        if not stream:
            response._content = reply.body
        return response

    def close(self) -> None:
        """Nothing to release: the fake holds no connections."""

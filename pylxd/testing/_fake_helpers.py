"""Fake LXD: seeding, exec and events wiring, mixed into :class:`~pylxd.testing.FakeLXD`."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any, Callable, cast

from pylxd._types import JSONDict
from pylxd.testing._fake_wire import lookup

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.testing._fake import FakeLXD, FakeRequest, Reply


class HelpersMixin:
    """What tests call to set a fake up: images, root disk, exec rules, events."""

    if TYPE_CHECKING:  # provided by FakeLXD
        lock: threading.RLock
        event_listeners: list[Any]

        def store(self, kind: str, project: str = "default") -> dict[str, Any]: ...

        def next_id(self) -> int: ...

    def _fake(self) -> FakeLXD:
        return cast("FakeLXD", self)

    # -- seeding -------------------------------------------------------------
    def add_root_disk(
        self, pool: str = "default", profile: str = "default", project: str = "default"
    ) -> None:
        """Give ``profile`` a root disk on ``pool``, as ``lxd init`` does
        (instances cannot be created without one)."""
        with self.lock:
            devices = self.store("profiles", project)[profile]["devices"]
            devices["root"] = {"path": "/", "pool": pool, "type": "disk"}

    def add_console_output(
        self, instance: str, data: bytes | str, project: str = "default"
    ) -> None:
        """Append ``data`` to the console log of ``instance`` (what
        ``console_log()`` and ``interactive_console()`` show)."""
        from pylxd.testing._fake_console import add_output

        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        with self.lock:
            add_output(self._fake(), project, instance, payload)

    def add_image(
        self,
        alias: str | None = None,
        fingerprint: str | None = None,
        *,
        properties: dict[str, str] | None = None,
        data: bytes = b"",
        project: str = "default",
        **fields: Any,
    ) -> str:
        """Store a container image (and an alias to it); return its fingerprint.

        >>> from pylxd.testing import FakeLXD
        >>> fake = FakeLXD()
        >>> fake.add_root_disk()
        >>> fp = fake.add_image("busybox", properties={"os": "busybox"})
        >>> fake.client().images.get_by_alias("busybox").fingerprint == fp
        True

        :param fingerprint: 64 hex digits; by default the SHA-256 of ``data``
            and ``alias``.
        :param fields: other image fields (``filename``, ``public``, ...).
        """
        import hashlib

        from pylxd.testing._fake_images import add_image

        if fingerprint is None:
            seed = data + (alias or "").encode() + str(self.next_id()).encode()
            fingerprint = hashlib.sha256(seed).hexdigest()
        with self.lock:
            add_image(
                self._fake(),
                project,
                fingerprint,
                data=data,
                properties=properties,
                **fields,
            )
            if alias is not None:
                self.store("image_aliases", project)[alias] = {
                    "name": alias,
                    "description": "",
                    "target": fingerprint,
                    "type": "container",
                }
        return fingerprint

    # -- exec, events and websockets -----------------------------------------
    def on_exec(
        self,
        command: Any = None,
        handler: Callable[[Any], Any] | None = None,
        *,
        stdout: bytes | str = b"",
        stderr: bytes | str = b"",
        exit_code: int = 0,
        instance: str | None = None,
    ) -> Any:
        """Say what a command run with ``Instance.execute`` prints and returns.

        >>> from pylxd.testing import FakeLXD
        >>> fake = FakeLXD()
        >>> rule = fake.on_exec(["apt-get", "update"], stdout="Done\\n", exit_code=0)
        >>> rule = fake.on_exec(["false-positive"], lambda call: (3, "", "bad\\n"))

        :param command: the command, or its first words: ``["apt-get"]``
            matches every apt-get command. None (or a callable given here)
            matches every command.
        :param handler: called with an ``ExecCall`` (``command``,
            ``environment``, ``stdin`` bytes, ``instance``, ``project``,
            ``user``, ``group``, ``cwd``, ``filesystem``); returns None
            (exit 0), an exit code, ``(exit_code, stdout, stderr)`` or an
            ``ExecResult``. Raise ``CommandNotFound`` to fail like a missing
            binary. Without a handler, ``stdout``, ``stderr`` and
            ``exit_code`` are the answer.
        :param instance: only for commands run in this instance.
        :returns: the rule; its ``calls`` list records every matching call.
        :raises TypeError: for a command that is not a list of str.
        """
        from pylxd.testing import _fake_exec

        result = _fake_exec.ExecResult(exit_code, stdout, stderr)
        return _fake_exec.add_rule(self._fake(), command, handler, result, instance)

    def emit(
        self, event_type: str, metadata: Any, project: str | None = "default"
    ) -> JSONDict:
        """Send an event (``lifecycle``, ``operation``, ``logging``) to the
        connected event streams; return it as sent."""
        from pylxd.testing import _fake_events

        return _fake_events.emit(self._fake(), event_type, metadata, project)

    def open_websocket(self, resource: str) -> Any:
        """A connected socket to this fake for a websocket to ``resource``
        (the websocket connector ``pylxd._websocket.connector_for`` finds)."""
        from pylxd.testing import _fake_ws

        return _fake_ws.open_websocket(self._fake(), resource)

    def _websocket_handler(self, path: str, query: dict[str, str]) -> Any:
        from pylxd.testing import _fake_events, _fake_exec

        if path == "/1.0/events":
            return _fake_events.events_websocket(self._fake(), query)
        if re.fullmatch(r"/1\.0/operations/[^/]+/websocket", path):
            return _fake_exec.exec_websocket(self._fake(), query.get("secret", ""))
        return None

    def _after(self, request: FakeRequest, reply: Reply) -> None:
        if self.event_listeners:
            from pylxd.testing import _fake_events

            _fake_events.after_request(self._fake(), request, reply)


def wording(fake: FakeLXD, lxd: str, incus: str) -> str:
    """What the imitated daemon says where LXD 5.0.2 and Incus 6.0.4 differ only in words."""
    return incus if fake.server == "incus" else lxd


def instance_owned(
    fake: FakeLXD, kind: str, project: str, name: str, seed: Callable[[], JSONDict]
) -> JSONDict:
    """The ``kind`` state (files, backups and logs, ...) of instance ``name``;
    FakeError 404 if there is no such instance.

    The state belongs to the instance object it was made (by ``seed``) for: an
    instance deleted and created again under the same name starts afresh, a
    renamed one keeps its state.
    """
    instance = lookup(fake.store("instances", project), name, "Instance not found")
    store = fake.store(kind, project)
    owners = fake.store(f"{kind}-owners", project)
    if owners.get(name) is not instance:
        renamed = [old for old, owner in owners.items() if owner is instance]
        store[name] = store.pop(renamed[0]) if renamed else seed()
        for old in renamed:
            owners.pop(old, None)
        owners[name] = instance
    return lookup(store, name, "Instance not found")


#: With this API extension (newer LXD), storage and network changes answer
#: with an operation; LXD 5.0 answers them at once.
ASYNC_CHANGES = "storage_and_network_operations"


def change(
    fake: FakeLXD,
    request: FakeRequest,
    what: str,
    work: Callable[[], Any],
    metadata: Any = None,
) -> Reply:
    """Do ``work``: a sync answer (with ``metadata``) in LXD 5.0, an
    operation described as ``what`` with :data:`ASYNC_CHANGES`."""
    if ASYNC_CHANGES in fake.extensions:
        return fake.run_async(what, request, work)
    work()
    return fake.sync(metadata)

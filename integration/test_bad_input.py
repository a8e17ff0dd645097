"""The bad-input matrix, against the real LXD (and the fake for odd servers).

One table: each row is a call with something wrong, the exception class it
must raise, and the words its message must hold (the object named, and the
problem). Rows marked client-side must be refused before any request that
could change the server (recorded through ``_APINode._send``, the one send
path), so nothing is created; server-side rows must leave nothing behind.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from integration.conftest import (
    ON_INCUS,
    busybox_container,
    force_delete_instance,
    unique_name,
)
from pylxd import Client, exceptions
from pylxd._transport import _APINode
from pylxd.models.files import FileNotFound
from pylxd.testing import FakeLXD

WRITES = ("post", "put", "patch", "delete")
EMPTY = {"source": {"type": "none"}}


@dataclasses.dataclass
class Ctx:
    """What a row may use: clients, a stopped container, a scratch folder."""

    client: Client
    box: Any
    tmp: Path
    lxd_env: dict[str, Any]
    name: str  # a fresh name nothing has

    def create(self, **config: Any) -> Any:
        return self.client.instances.create({"name": self.name, **config}, wait=True)


@dataclasses.dataclass
class Row:
    id: str
    call: Callable[[Ctx], Any]
    exc: type[BaseException]
    words: tuple[str, ...]
    client_side: bool = True
    #: (exception, words) where Incus answers otherwise than LXD 5.0.2
    incus: tuple[type[BaseException], tuple[str, ...]] | None = None

    def expected(self) -> tuple[type[BaseException], tuple[str, ...]]:
        """The exception and words for the daemon under test."""
        if ON_INCUS and self.incus is not None:
            return self.incus
        return self.exc, self.words


def _pem_junk(ctx: Ctx) -> tuple[str, str]:
    path = ctx.tmp / "junk.crt"
    path.write_text("this is not a certificate\n")
    return str(path), str(path)


def _fake_answering(body: bytes, content_type: str) -> Client:
    fake = FakeLXD()
    client = fake.client()
    fake.reply_next(
        FakeLXD.raw(body, content_type), method="GET", path="/1.0/profiles/default"
    )
    return client


ROWS = [
    # -- instances: checked before anything is sent ------------------------------
    Row(
        "instance name with underscore",
        lambda c: c.client.instances.create({"name": "bad_name", **EMPTY}),
        ValueError,
        ("'bad_name'", "invalid instance name", "alphanumeric"),
    ),
    Row(
        "instance name starting with a digit",
        lambda c: c.client.instances.create({"name": "9lives", **EMPTY}),
        ValueError,
        ("'9lives'", "must not start with a number"),
    ),
    Row(
        "instance name too long",
        lambda c: c.client.instances.create({"name": "a" * 64, **EMPTY}),
        ValueError,
        ("aaaa", "1-63 characters"),
    ),
    Row(
        "instance name not a string",
        lambda c: c.client.instances.create({"name": 42, **EMPTY}),
        exceptions.InvalidArgumentType,
        ("42", "must be a string"),
    ),
    Row(
        "instance config not a dict",
        lambda c: c.client.instances.create("web-1"),
        TypeError,
        ("Instance.create", "config must be a dict", "str"),
    ),
    Row(
        "instance without the required source",
        lambda c: c.client.instances.create({"name": c.name}),
        ValueError,
        ("Instance.create", "config['source']", "must be a dict"),
    ),
    Row(
        "instance source of an unknown type",
        lambda c: c.create(source={"type": "tarball"}),
        ValueError,
        ("Instance.create", "unknown source type", "'tarball'"),
    ),
    Row(
        "image source without alias or fingerprint",
        lambda c: c.create(source={"type": "image"}),
        ValueError,
        ("Instance.create", "'image' source needs alias"),
    ),
    Row(
        "rename to an invalid name",
        lambda c: c.box.rename("bad name"),
        ValueError,
        ("rename", "'bad name'", "invalid instance name"),
    ),
    Row(
        "snapshot name with a slash",
        lambda c: c.box.snapshots.create("a/b"),
        exceptions.InvalidArgument,
        ("Snapshot name", "'a/b'", "must not contain '/'"),
    ),
    # -- instances: refused by LXD, nothing left ----------------------------------
    Row(
        "instance with a profile that does not exist",
        lambda c: c.create(profiles=["pylxd-it-no-profile"], **EMPTY),
        exceptions.LXDAPIException,
        ("Instance 'pylxd-it-bad", '"pylxd-it-no-profile"', "doesn't exist"),
        client_side=False,
    ),
    Row(
        "instance from an image that does not exist",
        lambda c: c.create(source={"type": "image", "alias": "pylxd-it-no-image"}),
        exceptions.NotFound,
        ("Instance 'pylxd-it-bad", "Image alias not found"),
        client_side=False,
        # Incus accepts the request and fails the operation instead
        incus=(
            exceptions.LXDAPIException,
            ("Instance 'pylxd-it-bad", "Image not provided"),
        ),
    ),
    Row(
        "instance with an unknown device type",
        lambda c: c.create(devices={"d0": {"type": "bogus"}}, **EMPTY),
        exceptions.LXDAPIException,
        ("Instance 'pylxd-it-bad", "Invalid device type", "bogus"),
        client_side=False,
    ),
    Row(
        "instance config value of the wrong type",
        lambda c: c.create(config={"limits.cpu": 2}, **EMPTY),
        exceptions.LXDAPIException,
        ("Instance 'pylxd-it-bad", "config of type string"),
        client_side=False,
    ),
    Row(
        "instance config key that does not exist",
        lambda c: c.create(config={"bogus.key": "1"}, **EMPTY),
        exceptions.LXDAPIException,
        ("Instance 'pylxd-it-bad", "Unknown configuration key: bogus.key"),
        client_side=False,
    ),
    Row(
        "instance on a storage pool that does not exist",
        lambda c: c.create(
            devices={"root": {"type": "disk", "path": "/", "pool": "pylxd-it-nopool"}},
            **EMPTY,
        ),
        exceptions.LXDAPIException,
        ("Instance 'pylxd-it-bad", "Storage pool not found"),
        client_side=False,
    ),
    Row(
        "instance that does not exist",
        lambda c: c.client.instances.get("pylxd-it-no-instance"),
        exceptions.NotFound,
        ("Instance 'pylxd-it-no-instance'", "not found"),
    ),
    Row(
        "project that does not exist (with_project)",
        lambda c: Client(endpoint=c.lxd_env["main"]["socket"]).with_project(
            "pylxd-it-np"
        ),
        exceptions.NotFound,
        ("Project 'pylxd-it-np'", "not found"),
    ),
    # -- exec ------------------------------------------------------------------------
    Row(
        "command given as a string",
        lambda c: c.box.execute("echo hi"),
        TypeError,
        ("commands", "list of strings", "'echo hi'"),
    ),
    Row(
        "empty command",
        lambda c: c.box.execute([]),
        ValueError,
        ("commands", "non-empty list"),
    ),
    Row(
        "environment value not a string",
        lambda c: c.box.execute(["true"], environment={"A": 1}),
        TypeError,
        ("environment['A']", "not int 1"),
    ),
    Row(
        "cwd not absolute",
        lambda c: c.box.execute(["true"], cwd="tmp"),
        ValueError,
        ("cwd", "absolute", "'tmp'"),
    ),
    Row(
        "stdin payload of an unsupported type",
        lambda c: c.box.execute(["cat"], stdin_payload=12),
        TypeError,
        ("stdin_payload", "not int"),
    ),
    Row(
        "stdin payload that is a dict",
        lambda c: c.box.execute(["cat"], stdin_payload={"a": "b"}),
        TypeError,
        ("stdin_payload", "not dict"),
    ),
    Row(
        "negative uid for exec",
        lambda c: c.box.execute(["true"], user=-1),
        ValueError,
        ("user", "non-negative", "-1"),
    ),
    # -- files -------------------------------------------------------------------------
    Row(
        "file path empty",
        lambda c: c.box.files.put("", b"x"),
        ValueError,
        ("FilesManager.put", "path is empty", "pylxd-it-bad"),
    ),
    Row(
        "mode with a non-octal digit",
        lambda c: c.box.files.put("/tmp/x", b"x", mode="0o698"),
        ValueError,
        ("mode '0o698'", "not an octal file mode"),
    ),
    Row(
        "mode given symbolically",
        lambda c: c.box.files.put("/tmp/x", b"x", mode="rw-r--r--"),
        ValueError,
        ("mode 'rw-r--r--'", "not an octal file mode"),
    ),
    Row(
        "mode out of range",
        lambda c: c.box.files.put("/tmp/x", b"x", mode=0o17777),
        ValueError,
        ("mode 8191", "out of range"),
    ),
    Row(
        "mode as a float",
        lambda c: c.box.files.put("/tmp/x", b"x", mode=6.44),
        ValueError,
        ("mode 6.44", "not an octal file mode"),
    ),
    Row(
        "file data of an unsupported type",
        lambda c: c.box.files.put("/tmp/x", 12),
        TypeError,
        ("FilesManager.put", "data must be bytes", "not int"),
    ),
    Row(
        "negative uid for a file",
        lambda c: c.box.files.put("/tmp/x", b"x", uid=-1),
        ValueError,
        ("uid -1", "out of range"),
    ),
    Row(
        "file that does not exist in the instance",
        lambda c: c.box.files.get("/pylxd-it/no/such/file"),
        FileNotFound,
        ("'/pylxd-it/no/such/file'", "instance 'pylxd-it-bad"),
    ),
    Row(
        "mk_dir path with a NUL",
        lambda c: c.box.files.mk_dir("/srv\0x"),
        ValueError,
        ("FilesManager.mk_dir", "NUL character"),
    ),
    Row(
        "local source directory that does not exist",
        lambda c: c.box.files.recursive_put(str(c.tmp / "nowhere"), "/srv"),
        NotADirectoryError,
        ("recursive_put", "nowhere", "does not exist"),
    ),
    Row(
        "local upload file that does not exist",
        lambda c: c.box.files.put("/tmp/x", open(c.tmp / "missing.bin", "rb")),
        FileNotFoundError,
        ("missing.bin", "No such file"),
    ),
    Row(
        "recursive_get remote path empty",
        lambda c: c.box.files.recursive_get("", str(c.tmp / "etc")),
        ValueError,
        ("recursive_get", "path is empty"),
    ),
    # -- other collections -------------------------------------------------------------
    Row(
        "profile that does not exist",
        lambda c: c.client.profiles.get("pylxd-it-no-profile"),
        exceptions.NotFound,
        ("Profile 'pylxd-it-no-profile'", "not found"),
    ),
    Row(
        "profile config value of the wrong type",
        lambda c: c.client.profiles.create(c.name, config={"limits.cpu": 2}),
        exceptions.LXDAPIException,
        ("Profile 'pylxd-it-bad", "config of type string"),
        client_side=False,
    ),
    Row(
        "profile with an unknown device type",
        lambda c: c.client.profiles.create(c.name, devices={"x": {"type": "bogus"}}),
        exceptions.LXDAPIException,
        ("Profile 'pylxd-it-bad", '"x"', "Unsupported device type"),
        client_side=False,
    ),
    Row(
        "profile name with a slash",
        lambda c: c.client.profiles.create("pylxd-it/bad"),
        exceptions.InvalidArgument,
        ("Profile name 'pylxd-it/bad'", "must not contain '/'"),
    ),
    Row(
        "project config value of the wrong type",
        lambda c: c.client.projects.create(c.name, config={"features.images": True}),
        TypeError,
        ("Project 'pylxd-it-bad", "config['features.images']", "must be a string"),
    ),
    Row(
        "project that does not exist (get)",
        lambda c: c.client.projects.get("pylxd-it-no-project"),
        exceptions.NotFound,
        ("Project 'pylxd-it-no-project'", "not found"),
    ),
    Row(
        "storage pool that does not exist",
        lambda c: c.client.storage_pools.get("pylxd-it-no-pool"),
        exceptions.NotFound,
        ("'pylxd-it-no-pool'", "Storage pool not found"),
    ),
    Row(
        "storage pool definition without its name",
        lambda c: c.client.storage_pools.create({"driver": "dir"}),
        ValueError,
        ("storage pool definition", "'name'"),
    ),
    Row(
        "storage volume that does not exist",
        lambda c: c.client.storage_pools.get("default").volumes.get("custom", "nov"),
        exceptions.NotFound,
        ("custom/nov", "'default'", "not found"),
    ),
    Row(
        "network that does not exist",
        lambda c: c.client.networks.get("pylxd-it-nonet"),
        exceptions.NotFound,
        ("Network 'pylxd-it-nonet'", "not found"),
    ),
    Row(
        "network config value of the wrong type",
        lambda c: c.client.networks.create(c.name, config={"ipv4.address": 1}),
        TypeError,
        ("Network 'pylxd-it-bad", "config['ipv4.address']", "must be a string"),
    ),
    Row(
        "image that does not exist",
        lambda c: c.client.images.get("0123456789abcdef"),
        exceptions.NotFound,
        ("Image '0123456789abcdef'", "not found"),
    ),
    Row(
        "operation that does not exist",
        lambda c: c.client.operations.get("pylxd-it-no-operation"),
        exceptions.NotFound,
        ("Operation 'pylxd-it-no-operation'", "not found"),
    ),
    Row(
        "certificate data that is not a certificate",
        lambda c: c.client.certificates.create("", b"garbage"),
        ValueError,
        ("Certificate data", "neither a PEM nor a DER"),
    ),
    Row(
        "unknown event type",
        lambda c: c.client.events_iter(types=["bogus"]),
        TypeError,
        ("event type 'bogus'", "is not one of"),
    ),
    # -- endpoints and certificates ---------------------------------------------------
    Row(
        "endpoint with an unsupported scheme",
        lambda c: Client(endpoint="ftp://127.0.0.1:8443"),
        exceptions.ClientConnectionFailed,
        ("'ftp://127.0.0.1:8443'", "expected an https:// URL"),
    ),
    Row(
        "endpoint URL without a host",
        lambda c: Client(endpoint="https://"),
        exceptions.ClientConnectionFailed,
        ("'https://'", "no host"),
    ),
    Row(
        "endpoint socket that does not exist",
        lambda c: Client(endpoint="/pylxd-it/no/unix.socket"),
        exceptions.ClientConnectionFailed,
        ("'/pylxd-it/no/unix.socket'", "no such socket"),
    ),
    Row(
        "endpoint of the wrong type",
        lambda c: Client(endpoint=8443),
        exceptions.ClientConnectionFailed,
        ("8443", "Invalid LXD endpoint"),
    ),
    Row(
        "client certificate file that does not exist",
        lambda c: Client(
            endpoint=c.lxd_env["main"]["https"],
            cert=("/pylxd-it/none.crt", "/pylxd-it/none.key"),
            verify=c.lxd_env["main"]["server_cert"],
        ),
        exceptions.ClientConnectionFailed,
        ("'/pylxd-it/none.crt'", "No such file"),
    ),
    Row(
        "client certificate file that is not PEM",
        lambda c: Client(
            endpoint=c.lxd_env["main"]["https"],
            cert=_pem_junk(c),
            verify=c.lxd_env["main"]["server_cert"],
        ),
        exceptions.ClientConnectionFailed,
        ("junk.crt", "not in PEM format"),
    ),
    Row(
        "server certificate (verify=) that does not exist",
        lambda c: Client(endpoint=c.lxd_env["main"]["https"], verify="/pylxd-it/s.crt"),
        exceptions.ClientConnectionFailed,
        ("'/pylxd-it/s.crt'", "verify=", "no such file"),
    ),
    # -- odd servers (the fake) ----------------------------------------------------------
    Row(
        "server answering HTML",
        lambda c: _fake_answering(
            b"<html><body>502 Bad Gateway</body></html>", "text/html"
        ).profiles.get("default"),
        exceptions.LXDAPIException,
        ("Profile 'default'", "HTTP 200", "<html>", "502 Bad Gateway"),
    ),
    Row(
        "server answering truncated JSON",
        lambda c: _fake_answering(
            b'{"type": "sync", "metadata": {"na', "application/json"
        ).profiles.get("default"),
        exceptions.LXDAPIException,
        ("Profile 'default'", "HTTP 200", '{"type": "sync"'),
    ),
]


@pytest.fixture(scope="module")
def stopped_box(client: Client, image_alias: str) -> Iterator[Any]:
    """A stopped busybox container the rows may poke at."""
    with busybox_container(client, image_alias, "pylxd-it-bad") as name:
        yield client.instances.get(name)


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every request that could change a server, as (verb, URL)."""
    seen: list[tuple[str, str]] = []
    send = _APINode._send

    def recording(self: _APINode, verb: str, *args: Any, **kwargs: Any) -> Any:
        if verb in WRITES:
            seen.append((verb, self._api_endpoint))
        return send(self, verb, *args, **kwargs)

    monkeypatch.setattr(_APINode, "_send", recording)
    return seen


def _cleanup(client: Client, name: str) -> None:
    force_delete_instance(client, name)
    for manager in (client.profiles, client.projects):
        if manager.exists(name):
            manager.get(name).delete()


def test_the_matrix_is_large_enough() -> None:
    assert len(ROWS) >= 40
    assert len({row.id for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input(
    row: Row,
    client: Client,
    stopped_box: Any,
    tmp_path: Path,
    lxd_env: dict[str, Any],
    writes: list[tuple[str, str]],
) -> None:
    name = unique_name("pylxd-it-bad")
    ctx = Ctx(client, stopped_box, tmp_path, lxd_env, name)
    try:
        exc, words = row.expected()
        with pytest.raises(exc) as info:
            row.call(ctx)
        text, shown = str(info.value), repr(info.value)
        assert shown  # printable
        missing = [word for word in words if word.lower() not in text.lower()]
        assert missing == [], f"{type(info.value).__name__}: {text}"
        if row.client_side:
            assert writes == []
        assert not client.instances.exists(name)
        assert not client.profiles.exists(name)
        assert not client.projects.exists(name)
    finally:
        _cleanup(client, name)


def test_nothing_half_created_by_a_bad_batch(client: Client) -> None:
    """A loop of bad creates leaves the server's lists exactly as they were."""
    before = {
        kind: set(client.api[kind].get().json()["metadata"])
        for kind in ("instances", "profiles", "projects")
    }
    for config in (
        {"name": "bad_name", **EMPTY},
        {"name": unique_name("pylxd-it-bad"), "source": {"type": "tarball"}},
        {"name": unique_name("pylxd-it-bad"), "profiles": ["pylxd-it-nope"], **EMPTY},
    ):
        with pytest.raises((ValueError, exceptions.LXDAPIException)):
            client.instances.create(config, wait=True)
    after = {kind: set(client.api[kind].get().json()["metadata"]) for kind in before}
    mine = {
        kind: {url for url in after[kind] - before[kind] if "pylxd-it-bad" in url}
        for kind in before
    }
    assert mine == {"instances": set(), "profiles": set(), "projects": set()}
    json.dumps(mine, default=list)

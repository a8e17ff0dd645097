"""The bad-input matrix on the fake LXD: every row names its object and problem.

Each row is a call with something wrong, the exception class it must raise
and the words its message must hold. Rows refused client-side must send no
request that could change the server (``POST``/``PUT``/``PATCH``/``DELETE``),
checked on the fake's record. The same kinds of rows run against the real
daemon in ``integration/test_bad_input.py``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import pytest

from pylxd import Client, exceptions
from pylxd.models.files import FileNotFound
from pylxd.testing import FakeLXD
from pylxd.testing._fake import Reply

EMPTY = {"source": {"type": "none"}}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclasses.dataclass
class Ctx:
    fake: FakeLXD
    client: Client
    box: Any
    tmp: Path

    def odd_answer(self, reply: Reply, path: str = "/1.0/profiles/default") -> None:
        self.fake.reply_next(reply, "GET", path)


@dataclasses.dataclass
class Row:
    id: str
    call: Callable[[Ctx], Any]
    exc: type[BaseException]
    words: tuple[str, ...]
    client_side: bool = True


def _junk_file(ctx: Ctx) -> str:
    path = ctx.tmp / "junk.pem"
    path.write_text("not a certificate")
    return str(path)


def _html(status: int) -> Reply:
    return Reply(
        status, b"<html><h1>Bad Gateway</h1></html>", {"Content-Type": "text/html"}
    )


def _json_text(body: bytes) -> Reply:
    return Reply(200, body, {"Content-Type": "application/json"})


def _answered(ctx: Ctx, reply: Reply) -> Any:
    ctx.odd_answer(reply)
    return ctx.client.profiles.get("default")


ROWS = [
    # instances
    Row(
        "name with underscore",
        lambda c: c.client.instances.create({"name": "a_b", **EMPTY}),
        ValueError,
        ("'a_b'", "invalid instance name"),
    ),
    Row(
        "name starting with a digit",
        lambda c: c.client.instances.create({"name": "1a", **EMPTY}),
        ValueError,
        ("'1a'", "start with a number"),
    ),
    Row(
        "name ending with a hyphen",
        lambda c: c.client.instances.create({"name": "a-", **EMPTY}),
        ValueError,
        ("'a-'", 'end with "-"'),
    ),
    Row(
        "name too long",
        lambda c: c.client.instances.create({"name": "x" * 64, **EMPTY}),
        ValueError,
        ("xxxx", "1-63 characters"),
    ),
    Row(
        "name of the wrong type",
        lambda c: c.client.instances.create({"name": 7, **EMPTY}),
        exceptions.InvalidArgumentType,
        ("7", "must be a string"),
    ),
    Row(
        "config not a dict",
        lambda c: c.client.instances.create(["c2"]),
        TypeError,
        ("Instance.create", "config must be a dict", "list"),
    ),
    Row(
        "missing source",
        lambda c: c.client.instances.create({"name": "c2"}),
        ValueError,
        ("config['source']", "must be a dict"),
    ),
    Row(
        "unknown source type",
        lambda c: c.client.instances.create({"name": "c2", "source": {"type": "x"}}),
        ValueError,
        ("unknown source type", "'x'"),
    ),
    Row(
        "copy source without its source",
        lambda c: c.client.instances.create({"name": "c2", "source": {"type": "copy"}}),
        ValueError,
        ("'copy' source needs source",),
    ),
    Row(
        "rename to an invalid name",
        lambda c: c.box.rename("no spaces"),
        ValueError,
        ("'no spaces'", "invalid instance name"),
    ),
    Row(
        "instance that does not exist",
        lambda c: c.client.instances.get("c404"),
        exceptions.NotFound,
        ("Instance 'c404'", "not found"),
    ),
    Row(
        "snapshot name with a slash",
        lambda c: c.box.snapshots.create("s/1"),
        exceptions.InvalidArgument,
        ("Snapshot name", "'s/1'", "must not contain '/'"),
    ),
    Row(
        "recursion out of range",
        lambda c: c.client.instances.all(recursion=3),
        ValueError,
        ("Instance.all", "recursion", "3"),
    ),
    # exec
    Row(
        "command as a string",
        lambda c: c.box.execute("ls -l"),
        TypeError,
        ("commands", "list of strings", "'ls -l'"),
    ),
    Row(
        "command with a non-string item",
        lambda c: c.box.execute(["sleep", 1]),
        ValueError,
        ("commands", "list of strings", "1"),
    ),
    Row(
        "environment not a dict",
        lambda c: c.box.execute(["true"], environment=["A=1"]),
        TypeError,
        ("environment", "dict of strings", "['A=1']"),
    ),
    Row(
        "relative cwd",
        lambda c: c.box.execute(["true"], cwd="home"),
        ValueError,
        ("cwd", "absolute", "'home'"),
    ),
    Row(
        "stdin payload int",
        lambda c: c.box.execute(["cat"], stdin_payload=3.5),
        TypeError,
        ("stdin_payload", "not float"),
    ),
    Row(
        "stdin payload set",
        lambda c: c.box.execute(["cat"], stdin_payload={"a"}),
        TypeError,
        ("stdin_payload", "not set"),
    ),
    Row(
        "group of the wrong type",
        lambda c: c.box.execute(["true"], group="wheel"),
        TypeError,
        ("group", "numeric id", "'wheel'"),
    ),
    Row(
        "record_output with stdin",
        lambda c: c.box.execute(["cat"], record_output=True, stdin_payload="x"),
        ValueError,
        ("record_output", "stdin_payload"),
    ),
    # files
    Row(
        "empty file path",
        lambda c: c.box.files.put("", b""),
        ValueError,
        ("FilesManager.put", "instance 'c1'", "path is empty"),
    ),
    Row(
        "path with a NUL",
        lambda c: c.box.files.put("/tmp/a\0b", b""),
        ValueError,
        ("NUL",),
    ),
    Row(
        "path of the wrong type",
        lambda c: c.box.files.get(42),
        TypeError,
        ("path 42", "not a string"),
    ),
    Row(
        "mode with a 9",
        lambda c: c.box.files.put("/tmp/x", b"", mode="0649"),
        ValueError,
        ("mode '0649'", "not an octal file mode"),
    ),
    Row(
        "mode symbolic",
        lambda c: c.box.files.put("/tmp/x", b"", mode="u+rwx"),
        ValueError,
        ("mode 'u+rwx'", "not an octal"),
    ),
    Row(
        "mode negative",
        lambda c: c.box.files.put("/tmp/x", b"", mode=-1),
        ValueError,
        ("mode -1", "out of range"),
    ),
    Row(
        "mode=True without a local file",
        lambda c: c.box.files.put("/nonexistent-pylxd-dir/x", b"", mode=True),
        ValueError,
        ("mode=True", "'/nonexistent-pylxd-dir/x'", "cannot be read locally"),
    ),
    Row(
        "mk_dir mode too big",
        lambda c: c.box.files.mk_dir("/tmp/d", mode=0o10000),
        ValueError,
        ("FilesManager.mk_dir", "out of range"),
    ),
    Row(
        "gid not a number",
        lambda c: c.box.files.put("/tmp/x", b"", gid="root"),
        ValueError,
        ("gid 'root'", "not a number"),
    ),
    Row(
        "data of an unsupported type",
        lambda c: c.box.files.put("/tmp/x", {"a": 1}),
        TypeError,
        ("data must be bytes", "not dict"),
    ),
    Row(
        "missing remote file",
        lambda c: c.box.files.get("/no/such"),
        FileNotFound,
        ("'/no/such'", "instance 'c1'"),
    ),
    Row(
        "local source that does not exist",
        lambda c: c.box.files.recursive_put(str(c.tmp / "gone"), "/srv"),
        NotADirectoryError,
        ("'src'", "gone", "does not exist"),
    ),
    Row(
        "local source that is a file",
        lambda c: c.box.files.recursive_put(_junk_file(c), "/srv"),
        NotADirectoryError,
        ("junk.pem", "is not a directory"),
    ),
    Row(
        "recursive_put empty destination",
        lambda c: c.box.files.recursive_put(str(c.tmp), ""),
        ValueError,
        ("recursive_put", "path is empty"),
    ),
    Row(
        "symlink with an empty target",
        lambda c: c.box.files.symlink("/tmp/l", ""),
        ValueError,
        ("symlink target ''", "not a path"),
    ),
    # other collections
    Row(
        "profile that does not exist",
        lambda c: c.client.profiles.get("p404"),
        exceptions.NotFound,
        ("Profile 'p404'", "not found"),
    ),
    Row(
        "project that does not exist",
        lambda c: c.client.projects.get("j404"),
        exceptions.NotFound,
        ("Project 'j404'", "not found"),
    ),
    Row(
        "client in a project that does not exist",
        lambda c: c.fake.client(project="j404").profiles.all(),
        exceptions.NotFound,
        ("project not found",),
    ),
    Row(
        "storage pool definition without a name",
        lambda c: c.client.storage_pools.create({"driver": "dir"}),
        ValueError,
        ("storage pool definition", "'name'"),
    ),
    Row(
        "network config value not a string",
        lambda c: c.client.networks.create("n1", config={"mtu": 1500}),
        TypeError,
        ("Network 'n1'", "config['mtu']", "must be a string"),
    ),
    Row(
        "certificate that is not one",
        lambda c: c.client.certificates.create(
            "", "-----BEGIN CERTIFICATE-----\nnope\n"
        ),
        ValueError,
        ("Certificate data", "not a valid PEM"),
    ),
    Row(
        "certificate of the wrong type",
        lambda c: c.client.certificates.create("", 12),
        TypeError,
        ("Certificate data", "not int"),
    ),
    Row(
        "event type unknown",
        lambda c: c.client.events_iter(types={"everything"}),
        TypeError,
        ("'everything'", "is not one of"),
    ),
    Row(
        "operation that does not exist",
        lambda c: c.client.operations.get("op404"),
        exceptions.NotFound,
        ("Operation 'op404'", "not found"),
    ),
    # endpoints and certificates
    Row(
        "endpoint scheme",
        lambda c: Client(endpoint="tcp://lxd:8443"),
        exceptions.ClientConnectionFailed,
        ("'tcp://lxd:8443'", "expected an https:// URL"),
    ),
    Row(
        "endpoint empty",
        lambda c: Client(endpoint=""),
        exceptions.ClientConnectionFailed,
        ("''", "Invalid LXD endpoint"),
    ),
    Row(
        "endpoint without host",
        lambda c: Client(endpoint="https://:8443"),
        exceptions.ClientConnectionFailed,
        ("'https://:8443'", "no host"),
    ),
    Row(
        "endpoint socket missing",
        lambda c: Client(endpoint=str(c.tmp / "lxd.sock")),
        exceptions.ClientConnectionFailed,
        ("lxd.sock", "no such socket"),
    ),
    Row(
        "client cert missing",
        lambda c: Client(
            endpoint="https://127.0.0.1:1",  # only HTTPS uses a client certificate
            cert=(str(c.tmp / "c.crt"), str(c.tmp / "c.key")),
            verify=False,
        ),
        exceptions.ClientConnectionFailed,
        ("c.crt", "No such file"),
    ),
    Row(
        "client cert not PEM",
        lambda c: Client(
            endpoint="https://127.0.0.1:1", cert=_junk_file(c), verify=False
        ),
        exceptions.ClientConnectionFailed,
        ("junk.pem", "not in PEM format"),
    ),
    Row(
        "verify path missing",
        lambda c: Client(
            endpoint="https://lxd.invalid:8443", verify=str(c.tmp / "ca.pem")
        ),
        exceptions.ClientConnectionFailed,
        ("ca.pem", "verify=", "no such file"),
    ),
    Row(
        "verify of the wrong type",
        lambda c: Client(
            endpoint="https://lxd.invalid:8443", verify=1.5  # type: ignore[arg-type]
        ),
        exceptions.ClientConnectionFailed,
        ("verify must be", "1.5"),
    ),
    # odd servers
    Row(
        "HTML page with 200",
        lambda c: _answered(c, _html(200)),
        exceptions.LXDAPIException,
        ("Profile 'default'", "HTTP 200", "Bad Gateway"),
    ),
    Row(
        "HTML page with 502",
        lambda c: _answered(c, _html(502)),
        exceptions.LXDAPIException,
        ("Profile 'default'", "HTTP 502", "Bad Gateway"),
    ),
    Row(
        "truncated JSON",
        lambda c: _answered(c, _json_text(b'{"type": "sync", "meta')),
        exceptions.LXDAPIException,
        ("Profile 'default'", "HTTP 200", '{"type": "sync", "meta'),
    ),
    Row(
        "JSON that is not an envelope",
        lambda c: _answered(c, _json_text(b"[1, 2]")),
        exceptions.LXDAPIException,
        ("Profile 'default'", "HTTP 200", "[1, 2]"),
    ),
    Row(
        "empty error body",
        lambda c: _answered(c, Reply(500, b"", {"Content-Type": "application/json"})),
        exceptions.LXDAPIException,
        ("Profile 'default'", "HTTP 500"),
    ),
    Row(
        "async answer to a GET",
        lambda c: _answered(
            c, _json_text(b'{"type": "async", "operation": "/1.0/operations/x"}')
        ),
        exceptions.LXDAPIException,
        ("Profile 'default'", "async"),
    ),
]


@pytest.fixture
def ctx(tmp_path: Path) -> Ctx:
    fake = FakeLXD()
    client = fake.client()
    box = client.instances.create({"name": "c1", **EMPTY}, wait=True)
    fake.requests.clear()
    return Ctx(fake, client, box, tmp_path)


def test_the_matrix_is_large_enough() -> None:
    assert len(ROWS) >= 40
    assert len({row.id for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input(row: Row, ctx: Ctx) -> None:
    before = {kind: set(ctx.fake.store(kind)) for kind in ("instances", "profiles")}
    with pytest.raises(row.exc) as info:
        row.call(ctx)
    text = str(info.value)
    assert repr(info.value)
    missing = [word for word in row.words if word.lower() not in text.lower()]
    assert missing == [], f"{type(info.value).__name__}: {text}"
    if row.client_side:
        assert [r for r in ctx.fake.requests if r.method in WRITES] == []
    after = {kind: set(ctx.fake.store(kind)) for kind in before}
    assert after == before

"""Property tests (hypothesis): odd but well-typed server answers and random
websocket bytes never crash pylxd.

* Models: a real answer for each model is mutated (fields dropped, set to
  null, replaced by other values of the same JSON type, unknown fields
  added) and served by the fake; loading the object, ``repr``, iteration,
  ``marshall`` and ``dirty`` must work.
* Errors: any status and body give an ``LXDAPIException`` whose ``str`` and
  ``repr`` never raise.
* Websockets: random bytes, and random frames, fed to the readers of
  :mod:`pylxd._websocket` end the stream or deliver messages; they never
  raise anything but the documented exceptions.

Settings stay modest (about 100 examples, no deadline) so the unit run
stays fast.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import string
import warnings
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ws4py.framing import OPCODE_BINARY, OPCODE_TEXT, Frame

from pylxd import _websocket, _websocket_exec, exceptions, models
from pylxd.models.files import UnsafePathWarning
from pylxd.testing import FakeLXD
from pylxd.testing._fake import Reply
from pylxd.testing._fake_files import add_entry, filesystem

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: The per-model tests run once per model: fewer examples each (~400 in all).
PER_MODEL = settings(FUZZ, max_examples=30)

names = st.text(string.ascii_letters + string.digits + "-._/ ", max_size=12)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(), names
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(names, inner, max_size=4)
    ),
    max_leaves=12,
)


def same_type(value: Any) -> st.SearchStrategy[Any]:
    """Another value of the JSON type of ``value`` (or null)."""
    if isinstance(value, bool):
        kind: st.SearchStrategy[Any] = st.booleans()
    elif isinstance(value, int):
        kind = st.integers(-(2**31), 2**31)
    elif isinstance(value, str):
        kind = names
    elif isinstance(value, list):
        kind = st.lists(names, max_size=4)
    elif isinstance(value, dict):
        kind = st.dictionaries(names, names, max_size=4)
    elif isinstance(value, float):
        kind = st.floats(allow_nan=False)
    else:  # null in the sample: its type is unknown, null it stays
        return st.none()
    return st.one_of(st.none(), kind)


@st.composite
def mutated(
    draw: Callable[..., Any], sample: dict[str, Any], key: str, model: type
) -> dict:
    """``sample`` with optional fields dropped, fields nulled or given other
    values of their JSON type, and unknown fields added."""
    out: dict[str, Any] = {}
    for field, value in sample.items():
        if field == key:
            out[field] = value  # the object is still the one asked for
            continue
        declared = getattr(model, "__attributes__", {}).get(field)
        optional = declared is None or declared.optional
        choices = ["keep", "null", "other"] + (["drop"] if optional else [])
        action = draw(st.sampled_from(choices))
        if action == "keep":
            out[field] = value
        elif action == "null":
            out[field] = None
        elif action == "other":
            out[field] = draw(same_type(value))
    extras = draw(st.dictionaries(names, json_values, max_size=3))
    for field, value in extras.items():
        out.setdefault(f"x-{field}", value)
    return out


_INSTANCE = {"name": "c1", **{"source": {"type": "none"}}}
SAMPLES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "profiles": ("profiles", "default", {}),
    "projects": ("projects", "default", {}),
    "instances": ("instances", "c1", {}),
    "networks": ("networks", "lxdbr0", {}),
    "storage_pools": ("storage-pools", "default", {}),
    "images": (
        "images",
        "ab" * 32,
        {
            "aliases": [{"name": "a", "description": ""}],
            "architecture": "x86_64",
            "auto_update": False,
            "cached": False,
            "created_at": "2026-11-27T06:12:04.143351911Z",
            "expires_at": "0001-01-01T00:00:00Z",
            "filename": "busybox.tar.gz",
            "fingerprint": "ab" * 32,
            "last_used_at": "0001-01-01T00:00:00Z",
            "profiles": ["default"],
            "properties": {"os": "busybox"},
            "public": False,
            "size": 1024,
            "type": "container",
            "update_source": None,
            "uploaded_at": "2026-11-27T06:12:04Z",
        },
    ),
    "certificates": (
        "certificates",
        "cd" * 32,
        {
            "certificate": "-----BEGIN CERTIFICATE-----\n...",
            "fingerprint": "cd" * 32,
            "name": "ci",
            "projects": [],
            "restricted": False,
            "type": "client",
        },
    ),
    "warnings": (
        "warnings",
        "0b2e9b6c-2e4f-4a4c-9cbb-2d2f0c1f4b11",
        {
            "count": 1,
            "entity_url": "/1.0/instances/c1",
            "first_seen_at": "2026-11-27T06:12:04Z",
            "last_message": "boom",
            "last_seen_at": "2026-11-27T06:12:04Z",
            "location": "none",
            "project": "default",
            "severity": "low",
            "status": "new",
            "type": "Couldn't find the CGroup blkio",
            "uuid": "0b2e9b6c-2e4f-4a4c-9cbb-2d2f0c1f4b11",
        },
    ),
    "operations": (
        "operations",
        "6916c8a6-9b7d-4abd-90b3-aedfec7bd5f4",
        {
            "class": "task",
            "created_at": "2026-11-27T06:12:04Z",
            "description": "Creating instance",
            "err": "",
            "id": "6916c8a6-9b7d-4abd-90b3-aedfec7bd5f4",
            "location": "none",
            "may_cancel": False,
            "metadata": None,
            "resources": {"instances": ["/1.0/instances/c1"]},
            "status": "Running",
            "status_code": 103,
            "updated_at": "2026-11-27T06:12:04Z",
        },
    ),
}
_KEYS = {"images": "fingerprint", "certificates": "fingerprint", "warnings": "uuid"}
_KEYS["operations"] = "id"
MODELS = {
    manager: getattr(models, cls)
    for manager, cls in {
        "profiles": "Profile",
        "projects": "Project",
        "instances": "Instance",
        "networks": "Network",
        "storage_pools": "StoragePool",
        "images": "Image",
        "certificates": "Certificate",
        "warnings": "Warning",
        "operations": "Operation",
    }.items()
}


@pytest.fixture(scope="module")
def served() -> dict[str, Any]:
    """A fake with one object of each kind, and each kind's real answer."""
    fake = FakeLXD()
    client = fake.client()
    client.instances.create(_INSTANCE, wait=True)
    samples = {}
    for manager, (endpoint, name, sample) in SAMPLES.items():
        if not sample:
            sample = client.api[endpoint][name].get().json()["metadata"]
        samples[manager] = (endpoint, name, sample)
    return {"fake": fake, "client": client, "samples": samples}


def _exercise(obj: Any) -> None:
    assert repr(obj)
    list(obj) if hasattr(type(obj), "__iter__") else None
    if hasattr(obj, "marshall"):
        obj.marshall()
    if hasattr(obj, "dirty"):
        assert obj.dirty in (True, False)
    dir(obj)


@pytest.mark.parametrize("manager", sorted(SAMPLES))
@PER_MODEL
@given(data=st.data())
def test_models_load_odd_but_well_typed_answers(
    served: dict[str, Any], manager: str, data: st.DataObject
) -> None:
    fake, client = served["fake"], served["client"]
    endpoint, name, sample = served["samples"][manager]
    key = _KEYS.get(manager, "name")
    metadata = data.draw(mutated(sample, key, MODELS[manager]))
    fake.reply_next(FakeLXD.sync(metadata), "GET", f"/1.0/{endpoint}/{name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.environ["PYLXD_WARNINGS"] = "none"
        try:
            obj = getattr(client, manager).get(name)
            _exercise(obj)
        finally:
            os.environ.pop("PYLXD_WARNINGS", None)


@pytest.mark.parametrize("manager", ["profiles", "projects", "instances", "networks"])
@PER_MODEL
@given(data=st.data())
def test_collections_load_odd_lists(
    served: dict[str, Any], manager: str, data: st.DataObject
) -> None:
    fake, client = served["fake"], served["client"]
    endpoint, _, sample = served["samples"][manager]
    items = data.draw(st.lists(mutated(sample, "name", MODELS[manager]), max_size=3))
    fake.reply_next(FakeLXD.sync(items), "GET", f"/1.0/{endpoint}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for obj in getattr(client, manager).all():
            _exercise(obj)


# -- error answers ---------------------------------------------------------------
content_types = st.sampled_from(
    ["application/json", "text/html", "text/plain", "application/octet-stream", ""]
)


@FUZZ
@given(
    status=st.integers(100, 599),
    body=st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["error", "sync", "async", ""]),
                "error": json_values,
                "error_code": json_values,
                "metadata": json_values,
            }
        ).map(lambda v: json.dumps(v).encode()),
    ),
    content_type=content_types,
)
def test_any_answer_is_a_documented_outcome(
    served: dict[str, Any], status: int, body: bytes, content_type: str
) -> None:
    fake, client = served["fake"], served["client"]
    headers = {"Content-Type": content_type} if content_type else {}
    fake.reply_next(Reply(status, body, headers), "GET", "/1.0/profiles/default")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client.profiles.get("default")
    except exceptions.LXDAPIException as err:
        assert str(err) and repr(err)
        assert str(err).startswith("Profile 'default'")
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        # A 2xx whose envelope carries no usable metadata: a plain Python
        # error from reading it, still printable.
        assert 200 <= status < 300 and repr(err)


@FUZZ
@given(status=st.integers(400, 599), body=st.binary(max_size=200))
def test_exceptions_are_printable_for_any_body(status: int, body: bytes) -> None:
    import requests

    response = requests.Response()
    response.status_code = status
    response._content = body
    for cls in (
        exceptions.LXDAPIException,
        exceptions.NotFound,
        exceptions.Conflict,
        exceptions.Forbidden,
    ):
        err = cls(response)
        assert str(err) and repr(err)
    timeout = exceptions.OperationTimeout(response, 3)
    assert "3" in str(timeout) and repr(timeout)


# -- websocket readers ------------------------------------------------------------
def _frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    return bytes(
        Frame(opcode=opcode, body=payload, fin=int(fin), masking_key=None).build()
    )


frames = st.one_of(
    st.binary(max_size=64).map(lambda b: _frame(OPCODE_BINARY, b)),
    names.map(lambda t: _frame(OPCODE_TEXT, t.encode())),
    json_values.map(lambda v: _frame(OPCODE_TEXT, json.dumps(v).encode())),
    st.binary(max_size=32),  # garbage
)
streams = st.lists(frames, max_size=6).map(b"".join)
chunkings = st.lists(st.integers(1, 64), min_size=1, max_size=8)


def _reader(cls: type, *args: Any, **kwargs: Any) -> Any:
    ws = cls(*args, "ws+unix:///nowhere/unix.socket", **kwargs)
    ws.close_connection()
    return ws


def _feed(ws: Any, data: bytes, sizes: list[int]) -> None:
    """Feed ``data`` in chunks of ``sizes`` (cycled) until the stream ends."""
    position, index = 0, 0
    while position < len(data):
        size = sizes[index % len(sizes)]
        chunk = data[position : position + size]
        position += size
        index += 1
        if not ws.process(chunk):
            return


@FUZZ
@given(data=streams, sizes=chunkings)
def test_output_stream_reader_survives_any_bytes(data: bytes, sizes: list[int]) -> None:
    received: list[Any] = []
    ws = _reader(
        _websocket_exec._CommandWebsocketClient,
        None,
        decode=True,
        handler=received.append,
    )
    _feed(ws, data, sizes)
    ws.closed(1000)
    # A decoding error is kept for execute() to raise; never raised here.
    assert ws.error is None or isinstance(ws.error, UnicodeDecodeError)
    raw = _reader(_websocket_exec._CommandWebsocketClient, None, decode=False)
    _feed(raw, data, sizes)
    assert isinstance(raw.data, bytes)


@FUZZ
@given(data=streams, sizes=chunkings)
def test_event_reader_survives_any_bytes(data: bytes, sizes: list[int]) -> None:
    ws = _reader(_websocket._EventReader)
    ws.messages = []
    _feed(ws, data, sizes)
    assert all(isinstance(m, dict) for m in ws.messages)


@FUZZ
@given(data=streams)
def test_event_reader_over_a_socket_ends_or_times_out(data: bytes) -> None:
    ws = _reader(_websocket._EventReader)
    ws.messages = []
    ours, theirs = socket.socketpair()
    ws.sock = ours
    theirs.sendall(data)
    theirs.close()
    seen = 0
    try:
        while seen < 20:
            try:
                event = ws.read_message(0.5)
            except TimeoutError:
                break
            if event is None:
                break
            assert isinstance(event, dict)
            seen += 1
    finally:
        ws.close_connection()


@FUZZ
@given(data=streams, sizes=chunkings)
def test_pty_reader_survives_any_bytes(data: bytes, sizes: list[int]) -> None:
    ws = _reader(_websocket_exec._PtyWebsocket)
    _feed(ws, data, sizes)
    assert all(isinstance(chunk, bytes) and chunk for chunk in ws.chunks)


# -- hostile directory listings ----------------------------------------------------
@FUZZ
@given(
    listing=st.lists(
        st.one_of(
            names,
            st.sampled_from(
                ["..", ".", "", "/", "/etc/passwd", "../x", "a/../..", "\0"]
            ),
        ),
        max_size=6,
    ),
    target=st.sampled_from(["/etc/passwd", "..", "../../x", "/srv/ok", "ok", "/"]),
)
def test_recursive_get_never_leaves_the_target(
    tmp_path_factory: pytest.TempPathFactory, listing: list[str], target: str
) -> None:
    from pylxd.models.files import FilesManager

    fake = FakeLXD()
    client = fake.client()
    client.instances.create(_INSTANCE, wait=True)
    fs = filesystem(fake, "c1")
    add_entry(fs, "/srv", "directory")
    add_entry(fs, "/srv/ok", content=b"fine")
    add_entry(fs, "/srv/link", "symlink", target.encode())
    evil = FakeLXD.sync(listing + ["ok", "link"])
    evil.headers.update({"X-LXD-type": "directory", "X-LXD-mode": "0755"})
    fake.reply_next(evil, "GET", "/1.0/instances/c1/files")
    base = tmp_path_factory.mktemp("fuzz")
    local = base / "out"
    files = FilesManager(client.instances.get("c1"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafePathWarning)
        try:
            files.recursive_get("/srv", str(local))
        except exceptions.NotFound:
            pass  # a listed name the fake does not have
    assert sorted(os.listdir(base)) == ["out"]
    real_root = os.path.realpath(local)
    for dirpath, dirnames, filenames in os.walk(local):
        for entry in dirnames + filenames:
            real = os.path.realpath(os.path.join(dirpath, entry))
            assert real == real_root or real.startswith(real_root + os.sep)


# -- regressions found on the way ---------------------------------------------------
def test_several_frames_in_one_block_are_all_delivered() -> None:
    """The bytes read with the handshake may hold several frames (LXD sends
    events right away); ws4py's parser alone kept the first only."""
    ws = _reader(_websocket._EventReader)
    ws.messages = []
    block = b"".join(
        _frame(OPCODE_TEXT, json.dumps({"n": n}).encode()) for n in range(5)
    )
    assert ws.process(block)
    assert ws.messages == [{"n": n} for n in range(5)]


def test_a_ping_from_a_server_that_hung_up_does_not_lose_what_follows() -> None:
    # LXD pings, sends the output and hangs up: the pong cannot be sent, but
    # the output is already here and must still be read (it was lost before).
    from ws4py.framing import OPCODE_PING

    ws = _reader(_websocket._EventReader)
    ws.messages = []
    ours, theirs = socket.socketpair()
    theirs.close()
    ws.sock = ours
    try:
        block = _frame(OPCODE_PING, b"hi") + _frame(OPCODE_TEXT, b'{"n": 1}')
        assert ws.process(block) is True
        assert ws.messages == [{"n": 1}]
    finally:
        ws.close_connection()


def test_closing_towards_a_dead_server_logs_no_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ws = _reader(_websocket._EventReader)
    ours, theirs = socket.socketpair()
    theirs.close()
    ws.sock = ours
    with caplog.at_level(logging.DEBUG):
        ws.close()
        ws.close()  # once only
    ws.close_connection()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "closing frame not sent" in caplog.text


def test_events_that_are_not_json_objects_are_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ws = _reader(_websocket._EventReader)
    ws.messages = []
    block = b"".join(
        [
            _frame(OPCODE_TEXT, b"not json"),
            _frame(OPCODE_TEXT, b"[1]"),
            _frame(OPCODE_BINARY, b"\xff\xfe"),
            _frame(OPCODE_TEXT, b'{"type": "ok"}'),
        ]
    )
    with caplog.at_level(logging.WARNING, logger="pylxd._websocket"):
        ws.process(block)
    assert ws.messages == [{"type": "ok"}]
    assert caplog.text.count("ignored") == 3

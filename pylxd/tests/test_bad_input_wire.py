"""Bad input on the wire side, on the fake LXD: refused before any request.

``execute()``/``execute_stream()`` arguments, ``events_iter``/``until``
timeouts and ``Client(max_response_size=)``: each row is refused with an
:class:`~pylxd.exceptions.InvalidArgument` or
:class:`~pylxd.exceptions.InvalidArgumentType` naming the argument, and the
fake saw no exec request (nor any other request) at all.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import pytest

from pylxd import Client, exceptions
from pylxd.testing import FakeLXD
from pylxd.tests.test_bad_input import Ctx, Row  # the same matrix shape

EMPTY = {"source": {"type": "none"}}


def _run(**kwargs: Any) -> Callable[[Ctx], Any]:
    commands = kwargs.pop("commands", ["true"])
    return lambda c: c.box.execute(commands, **kwargs)


def _stream(**kwargs: Any) -> Callable[[Ctx], Any]:
    commands = kwargs.pop("commands", ["true"])
    return lambda c: c.box.execute_stream(commands, **kwargs)


ARG = exceptions.InvalidArgument
TYPE = exceptions.InvalidArgumentType

ROWS = [
    Row("timeout as str", _run(timeout="5"), TYPE, ("timeout", "'5'")),
    Row("timeout nan", _run(timeout=math.nan), ARG, ("timeout", "nan")),
    Row("timeout inf", _run(timeout=math.inf), ARG, ("timeout", "inf")),
    Row("timeout negative", _run(timeout=-1), ARG, ("timeout", "-1")),
    Row("timeout zero", _run(timeout=0), ARG, ("timeout", "above 0")),
    Row("timeout bool", _run(timeout=True), TYPE, ("timeout",)),
    Row(
        "timeout with record_output",
        _run(timeout="1", record_output=True),
        TYPE,
        ("timeout",),
    ),
    Row("unknown encoding", _run(encoding="nope"), ARG, ("encoding", "nope")),
    Row("encoding not str", _run(encoding=8), TYPE, ("encoding",)),
    Row(
        "unknown stdin encoding",
        _run(stdin_encoding="nope"),
        ARG,
        ("stdin_encoding", "nope"),
    ),
    Row(
        "stream: unknown encoding",
        _stream(encoding="nope"),
        ARG,
        ("encoding", "nope"),
    ),
    Row("unknown signal name", _run(timeout=1, timeout_signal="NOPE"), ARG, ("NOPE",)),
    Row("signal 0", _run(timeout=1, timeout_signal=0), ARG, ("timeout_signal",)),
    Row("signal float", _run(timeout=1, timeout_signal=9.0), TYPE, ("timeout_signal",)),
    Row("environment list", _run(environment=["A=1"]), TYPE, ("environment",)),
    Row("environment int value", _run(environment={"A": 1}), TYPE, ("environment",)),
    Row("environment '=' in name", _run(environment={"A=B": "1"}), ARG, ("A=B",)),
    Row("environment NUL", _run(environment={"A": "x\0y"}), ARG, ("environment",)),
    Row("cwd relative", _run(cwd="tmp"), ARG, ("cwd", "tmp")),
    Row("cwd not str", _run(cwd=3), TYPE, ("cwd",)),
    Row("user str", _run(user="root"), TYPE, ("user", "root")),
    Row("user negative", _run(user=-1), ARG, ("user", "-1")),
    Row("user too big", _run(user=2**32 + 5), ARG, ("user", str(2**32 + 5))),
    Row("group too big", _run(group=2**70), ARG, ("group",)),
    Row("group bool", _run(group=True), TYPE, ("group",)),
    Row("commands str", _run(commands="ls -l"), TYPE, ("commands", "ls -l")),
    Row("commands empty", _run(commands=[]), ARG, ("commands", "non-empty")),
    Row("commands with an int", _run(commands=["ls", 1]), ARG, ("commands", "1")),
    Row("commands with bytes", _run(commands=[b"ls"]), ARG, ("commands",)),
    Row("commands with NUL", _run(commands=["ls\0"]), ARG, ("NUL",)),
    Row("stream: commands str", _stream(commands="ls"), TYPE, ("commands",)),
    Row("stream: user too big", _stream(user=2**32), ARG, ("user",)),
    Row("stdin payload int", _run(stdin_payload=5), TYPE, ("stdin_payload", "int")),
    Row(
        "events_iter timeout -1",
        lambda c: c.client.events_iter(timeout=-1),
        ARG,
        ("events_iter timeout", "-1"),
    ),
    Row(
        "events_iter timeout nan",
        lambda c: c.client.events_iter(timeout=math.nan),
        ARG,
        ("events_iter timeout", "nan"),
    ),
    Row(
        "events_iter timeout str",
        lambda c: c.client.events_iter(timeout="5"),  # type: ignore[arg-type]
        TYPE,
        ("events_iter timeout", "'5'"),
    ),
    Row(
        "events_iter bad type",
        lambda c: c.client.events_iter(["nope"]),
        TYPE,
        ("event type", "nope"),
    ),
]


@pytest.fixture
def ctx(tmp_path: Path) -> Ctx:
    fake = FakeLXD()
    client = fake.client()
    box = client.instances.create({"name": "c1", **EMPTY}, wait=True)
    box.start(wait=True)
    fake.requests.clear()
    return Ctx(fake, client, box, tmp_path)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_refused_before_any_request(row: Row, ctx: Ctx) -> None:
    with pytest.raises(row.exc) as info:
        row.call(ctx)
    assert isinstance(info.value, exceptions.LXDAPIException)
    text = str(info.value)
    missing = [word for word in row.words if word.lower() not in text.lower()]
    assert missing == [], f"{type(info.value).__name__}: {text}"
    assert ctx.fake.requests == [], [(r.method, r.path) for r in ctx.fake.requests]


def test_a_signal_name_is_accepted(ctx: Ctx) -> None:
    result = ctx.box.execute(["true"], timeout=30, timeout_signal="TERM")
    assert result.exit_code == 0


def test_until_timeout_is_checked_at_the_call(ctx: Ctx) -> None:
    with ctx.client.events_iter(timeout=5) as events:
        with pytest.raises(exceptions.InvalidArgument, match="until"):
            events.until(lambda event: True, timeout=-1)
        with pytest.raises(exceptions.InvalidArgumentType, match="until"):
            events.until(lambda event: True, timeout=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "size, exc",
    [(0, exceptions.InvalidArgument), (-5, exceptions.InvalidArgument)]
    + [("1M", exceptions.InvalidArgumentType), (1.5, exceptions.InvalidArgumentType)],
)
def test_max_response_size_is_checked_before_connecting(
    size: Any, exc: type[BaseException], tmp_path: Any
) -> None:
    from pylxd.tests.hostile import HostileLXD

    with HostileLXD(tmp_path / "lxd.sock") as server:
        with pytest.raises(exc, match="max_response_size"):
            Client(endpoint=server.path, max_response_size=size)
        assert server.requests == []

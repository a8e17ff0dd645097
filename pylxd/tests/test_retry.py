"""Retry policies: reads repeated on transient failures, writes only when asked."""

from __future__ import annotations

import time

import pytest

import pylxd
from pylxd import exceptions
from pylxd.testing import FakeLXD

FAST = pylxd.Retry(total=3, backoff=0.0, deadline=10)


def test_retry_is_validated_before_anything_is_sent():
    with pytest.raises(exceptions.InvalidArgument, match="total"):
        pylxd.Retry(total=-1)
    with pytest.raises(exceptions.InvalidArgument, match="deadline"):
        pylxd.Retry(deadline=0)
    with pytest.raises(exceptions.InvalidArgument, match="backoff"):
        pylxd.Retry(backoff="fast")  # type: ignore[arg-type]
    with pytest.raises(exceptions.InvalidArgument, match="regular expressions"):
        pylxd.Retry(messages=("(unclosed",))
    with pytest.raises(exceptions.InvalidArgumentType, match="pylxd.Retry"):
        FakeLXD().client(retry=3)


def test_errors_matching_messages_are_retried_whatever_their_status(fake):
    policy = pylxd.Retry(total=3, backoff=0.0, messages=(r"database is locked",))
    client = fake.client(retry=policy)
    fake.fail_next(500, "Failed: database is locked", method="GET")
    assert client.profiles.get("default").name == "default"
    fake.fail_next(500, "Failed: disk full", method="GET")
    before = len(fake.requests)
    with pytest.raises(exceptions.LXDAPIException, match="disk full"):
        client.profiles.get("default")
    assert len(fake.requests) == before + 1


def test_delays_grow_and_are_capped():
    assert list(pylxd.Retry(total=5, backoff=1, max_backoff=3).delays()) == [
        1,
        2,
        3,
        3,
        3,
    ]


def test_without_a_policy_a_lost_connection_reaches_the_caller(fake):
    client = fake.client()
    fake.disconnect_next(method="GET")
    with pytest.raises(exceptions.ClientConnectionFailed):
        client.profiles.get("default")


def test_reads_are_retried_on_lost_connections(fake):
    client = fake.client(retry=FAST)
    fake.disconnect_next(method="GET")
    fake.disconnect_next(method="GET")
    assert client.profiles.get("default").name == "default"


def test_reads_are_retried_on_503_and_not_on_404(fake):
    client = fake.client(retry=FAST)
    fake.fail_next(503, "LXD is starting", method="GET")
    assert client.profiles.get("default").name == "default"
    before = len(fake.requests)
    with pytest.raises(exceptions.NotFound):
        client.profiles.get("nope")
    assert len(fake.requests) == before + 1


def test_the_policy_gives_up_after_total_and_raises_the_last_error(fake):
    client = fake.client(retry=pylxd.Retry(total=2, backoff=0))
    for _ in range(3):
        fake.disconnect_next(method="GET")
    with pytest.raises(exceptions.ClientConnectionFailed):
        client.profiles.get("default")
    assert client.profiles.get("default").name == "default"


def test_writes_are_not_retried_unless_the_call_asks(fake):
    client = fake.client(retry=FAST)
    fake.disconnect_next(method="POST")
    with pytest.raises(exceptions.ClientConnectionFailed):
        client.api.profiles.post(json={"name": "p1"})
    assert not client.profiles.exists("p1")
    fake.disconnect_next(method="POST")
    client.api.profiles.post(json={"name": "p1"}, retry=FAST)
    assert client.profiles.exists("p1")


def test_a_call_can_turn_retries_off(fake):
    client = fake.client(retry=FAST)
    fake.disconnect_next(method="GET")
    with pytest.raises(exceptions.ClientConnectionFailed):
        client.api.profiles.get(retry=None)


def test_with_project_keeps_the_policy(fake):
    client = fake.client(retry=FAST)
    scoped = client.with_project("default")
    fake.disconnect_next(method="GET")
    assert scoped.profiles.get("default").name == "default"


def test_the_deadline_stops_retries_before_total(fake):
    client = fake.client(retry=pylxd.Retry(total=50, backoff=0.2, deadline=0.5))
    for _ in range(50):
        fake.disconnect_next(method="GET")
    started = time.monotonic()
    with pytest.raises(exceptions.ClientConnectionFailed):
        client.api.profiles.get()
    assert time.monotonic() - started < 5
    used = 50 - len(fake.faults)
    assert 1 < used < 10
    fake.faults.clear()

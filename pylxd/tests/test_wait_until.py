"""Waiting for conditions: instance status/address/agent, operations by filter."""

from __future__ import annotations

import threading
import time

import pytest

from pylxd import exceptions
from pylxd.testing import FakeLXD

STATE = "/1.0/instances/c1/state"


@pytest.fixture
def instance(client, fake):
    fake.add_root_disk()
    return client.instances.create(
        {"name": "c1", "source": {"type": "none"}}, wait=True
    )


def _state(status="Running", addresses=(), processes=1, nic="eth0"):
    return {
        "status": status,
        "status_code": 103,
        "processes": processes,
        "network": {
            "lo": {
                "addresses": [
                    {"family": "inet", "address": "127.0.0.1", "scope": "local"}
                ]
            },
            nic: {"addresses": list(addresses)},
        },
    }


def _later(seconds, action):
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()))
    thread.start()
    return thread


def test_status_is_waited_for_on_lifecycle_events_not_by_polling(
    client, fake, instance
):
    thread = _later(0.3, lambda: fake.client().instances.get("c1").start(wait=True))
    before = len([r for r in fake.requests if r.path == STATE])
    state = instance.wait_until("Running", timeout=10)
    thread.join()
    assert state.status == "Running"
    # one read before the event and one after it: no polling loop
    assert len([r for r in fake.requests if r.path == STATE]) - before <= 3


def test_a_met_condition_returns_at_once(client, fake, instance):
    assert instance.wait_until("Stopped", timeout=1).status == "Stopped"


def test_timeout_is_a_pylxd_waittimeout_and_a_timeouterror(client, fake, instance):
    started = time.monotonic()
    with pytest.raises(exceptions.WaitTimeout) as caught:
        instance.wait_until("Running", timeout=0.5)
    assert isinstance(caught.value, TimeoutError)
    assert "Instance 'c1' did not get status 'Running' within 0.5 s" in str(
        caught.value
    )
    assert caught.value.last["status"] == "Stopped"
    assert time.monotonic() - started < 10


def test_an_address_is_polled_until_it_appears(client, fake, instance):
    address = {"family": "inet", "address": "192.0.2.10", "scope": "global"}
    fake.reply_next(FakeLXD.sync(_state()), method="GET", path=STATE)
    fake.reply_next(FakeLXD.sync(_state()), method="GET", path=STATE)
    fake.reply_next(FakeLXD.sync(_state(addresses=[address])), method="GET", path=STATE)
    state = instance.wait_until(
        "Running", ipv4="192.0.2.10", interface="eth0", timeout=10
    )
    assert state.network["eth0"]["addresses"][0]["address"] == "192.0.2.10"


def test_any_global_ipv6_and_lo_does_not_count(client, fake, instance):
    v6 = {"family": "inet6", "address": "2001:db8::1", "scope": "global"}
    fake.reply_next(FakeLXD.sync(_state()), method="GET", path=STATE)
    fake.reply_next(FakeLXD.sync(_state(addresses=[v6])), method="GET", path=STATE)
    assert instance.wait_until(ipv6=True, timeout=10).network["eth0"]
    with pytest.raises(exceptions.WaitTimeout, match="an IPv4 address"):
        instance.wait_until(ipv4=True, timeout=0.3)  # only lo has one


def test_the_vm_agent_is_ready_when_lxd_counts_processes(client, fake, instance):
    fake.reply_next(FakeLXD.sync(_state(processes=-1)), method="GET", path=STATE)
    fake.reply_next(FakeLXD.sync(_state(processes=-1)), method="GET", path=STATE)
    fake.reply_next(FakeLXD.sync(_state(processes=12)), method="GET", path=STATE)
    assert instance.wait_until("Running", agent=True, timeout=10).processes == 12
    fake.reply_next(FakeLXD.sync(_state(processes=-1)), method="GET", path=STATE)
    with pytest.raises(exceptions.WaitTimeout, match="VM agent"):
        instance.wait_until(agent=True, timeout=0.2)


def test_bad_conditions_are_refused_before_sending(client, fake, instance):
    before = len(fake.requests)
    with pytest.raises(exceptions.InvalidArgument):
        instance.wait_until(timeout=1)
    with pytest.raises(exceptions.InvalidArgumentType):
        instance.wait_until(ipv4=4, timeout=1)
    with pytest.raises(exceptions.InvalidArgumentType):
        instance.wait_until(3, timeout=1)
    assert len(fake.requests) == before


def test_operation_by_filter_comes_from_the_event_stream(client, fake, instance):
    other = fake.client()
    thread = _later(0.3, lambda: other.instances.get("c1").start(wait=True))
    op = client.operations.wait_until(
        resource="c1", description="Starting instance", timeout=10, existing=False
    )
    thread.join()
    assert op.succeeded and op.description == "Starting instance"


def test_operation_already_listed_counts_unless_told_not_to(client, fake, instance):
    instance.start(wait=True)
    op = client.operations.wait_until(resource="/1.0/instances/c1", timeout=5)
    assert op.status in ("Success", "Running")
    with pytest.raises(exceptions.WaitTimeout, match="No operation with resource"):
        client.operations.wait_until(resource="c1", timeout=0.3, existing=False)


def test_operation_filters_are_required(client):
    with pytest.raises(exceptions.InvalidArgument):
        client.operations.wait_until(timeout=1)
    with pytest.raises(exceptions.InvalidArgumentType):
        client.operations.wait_until(predicate="x", timeout=1)

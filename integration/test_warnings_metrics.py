"""Warnings and metrics against the real LXD.

The daemon records its own warnings (missing cgroup controllers, AppArmor,
VM support...). Tests only change a warning's status and put it back; they
never delete a warning they did not cause (deleting is exercised on an
unknown uuid, which LXD answers with its 404).
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from integration.conftest import ON_INCUS
from pylxd import Client, exceptions
from pylxd.models import Warning as LXDWarning

UNKNOWN = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def warning(client: Client) -> Iterator[Any]:
    """One of the daemon's warnings, its status restored after the test."""
    warnings = client.warnings.all()
    if not warnings:
        pytest.skip("this LXD has recorded no warning")
    chosen = warnings[0]
    status = chosen.status if chosen.status in ("new", "acknowledged") else "new"
    try:
        yield chosen
    finally:
        client.api.warnings[chosen.uuid].put(json={"status": status})


def test_all_and_get(client: Client, warning: Any) -> None:
    fetched = client.warnings.get(warning.uuid)
    assert isinstance(fetched, LXDWarning)
    assert (fetched.type, fetched.last_message, fetched.count) == (
        warning.type,
        warning.last_message,
        warning.count,
    )
    assert fetched.severity in ("low", "moderate", "high")
    assert fetched.first_seen_at and fetched.last_seen_at
    assert client.warnings.exists(warning.uuid)
    assert warning.uuid in {w.uuid for w in client.warnings.all(status=warning.status)}


def test_acknowledge_and_reset(client: Client, warning: Any) -> None:
    warning.acknowledge()
    assert client.warnings.get(warning.uuid).status == "acknowledged"
    assert warning.uuid in {w.uuid for w in client.warnings.all(status="acknowledged")}
    warning.set_status("new")
    assert client.warnings.get(warning.uuid).status == "new"
    warning.patch({"status": "acknowledged"})
    assert warning.status == "acknowledged"


def test_lxd_refuses_to_resolve_a_warning(warning: Any) -> None:
    with pytest.raises(exceptions.Forbidden, match="may only be set"):
        warning.raw_put({"status": "resolved"})


def test_unknown_warnings_are_not_found(client: Client) -> None:
    with pytest.raises(exceptions.NotFound, match="Warning not found"):
        client.warnings.get(UNKNOWN)
    assert not client.warnings.exists(UNKNOWN)
    with pytest.raises(exceptions.NotFound, match="Warning not found"):
        LXDWarning(client, uuid=UNKNOWN).delete()


def test_metrics_of_a_running_container(
    client: Client, https_client: Client, running_container: Any
) -> None:
    metrics = client.metrics()
    name = running_container.name
    assert metrics.text.rstrip().endswith("# EOF")
    assert metrics.value("lxd_procs_total", name=name, project="default") >= 1
    # the families keep the daemon's own names (Incus: incus_*); samples()
    # and value() find them under LXD's names too
    prefix = "incus_" if ON_INCUS else "lxd_"
    cpu = metrics.families[prefix + "cpu_seconds_total"]
    assert cpu.type == "counter" and cpu.help
    assert any(s.labels["name"] == name for s in cpu.samples)
    memory = metrics.samples("lxd_memory_MemTotal_bytes", name=name)
    assert memory and memory[0].value > 0
    remote = https_client.metrics()
    assert remote.samples("lxd_procs_total", name=name)
    # Incus adds its Go runtime's families (incus_go_*) once it has them
    assert metrics.families.keys() <= client.server.metrics().families.keys()

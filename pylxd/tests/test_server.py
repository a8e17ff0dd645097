"""Unit tests of the server (``/``, ``/1.0``) and metrics, against the fake LXD."""

from __future__ import annotations

import math

import pytest

from pylxd import Client, exceptions
from pylxd.models import Server
from pylxd.models.metrics import MetricFamily, Metrics, Sample, parse_metrics
from pylxd.testing import FakeLXD
from pylxd.testing._extensions import LXD_5_0_2_EXTENSIONS


def test_api_versions_reads_the_root(client: Client, lxd: FakeLXD) -> None:
    assert client.server.api_versions() == ["/1.0"]
    assert lxd.last("GET", "/").query == {}


def test_get_reads_the_server_and_refreshes_host_info(
    client: Client, lxd: FakeLXD
) -> None:
    lxd.config["core.https_address"] = "127.0.0.1:8443"
    before = len(lxd.requests)
    server = client.server.get()
    assert len(lxd.requests) == before + 1
    assert isinstance(server, Server)
    assert server.config == {"core.https_address": "127.0.0.1:8443"}
    assert server.environment["server_version"] == "5.0.2"
    assert server.api_version == "1.0" and server.auth == "trusted"
    assert "warnings" in server.api_extensions and server.target is None
    assert client.host_info["config"] == {"core.https_address": "127.0.0.1:8443"}


def test_get_for_a_member_leaves_host_info_alone(client: Client, lxd: FakeLXD) -> None:
    lxd.config["x"] = "1"
    server = client.server.get(target="c2")
    assert lxd.last("GET", "/1.0").query == {"target": "c2"}
    assert server.target == "c2" and client.host_info["config"] == {}
    server.sync()
    assert lxd.last("GET", "/1.0").query == {"target": "c2"}


def test_update_config_puts_everything_and_refreshes_host_info(
    client: Client, lxd: FakeLXD
) -> None:
    client.server.update_config({"images.auto_update_interval": "12"})
    assert lxd.last_body("PUT", "/1.0") == {
        "config": {"images.auto_update_interval": "12"}
    }
    assert client.host_info["config"] == {"images.auto_update_interval": "12"}


def test_patch_config_sends_only_the_keys(client: Client, lxd: FakeLXD) -> None:
    lxd.config["core.https_address"] = "127.0.0.1:8443"
    client.server.patch_config({"images.auto_update_interval": "6"}, target="m1")
    call = lxd.last("PATCH", "/1.0")
    assert (call.json, call.query) == (
        {"config": {"images.auto_update_interval": "6"}},
        {"target": "m1"},
    )
    assert client.host_info["config"] == {
        "core.https_address": "127.0.0.1:8443",
        "images.auto_update_interval": "6",
    }


def test_save_puts_the_edited_config(client: Client, lxd: FakeLXD) -> None:
    server = client.server.get()
    server.config["images.auto_update_interval"] = "0"
    assert server.dirty
    server.save()
    assert lxd.last_body("PUT", "/1.0") == {
        "config": {"images.auto_update_interval": "0"}
    }
    assert not server.dirty
    assert client.host_info["config"] == {"images.auto_update_interval": "0"}


def test_config_must_be_a_dict(client: Client, lxd: FakeLXD) -> None:
    with pytest.raises(TypeError, match="Server config must be a dict"):
        client.server.update_config("x=1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Server config must be a dict"):
        client.server.patch_config(None)  # type: ignore[arg-type]
    assert not lxd.calls("PUT") and not lxd.calls("PATCH")


def test_refused_config_raises_lxds_error(client: Client, lxd: FakeLXD) -> None:
    lxd.fail_next(400, 'Invalid config key "nope"', method="PATCH", path="/1.0")
    with pytest.raises(exceptions.LXDAPIException, match='Invalid config key "nope"'):
        client.server.patch_config({"nope": "1"})


# -- metrics ---------------------------------------------------------------------
def test_metrics_reads_the_text_and_parses_it(client: Client, lxd: FakeLXD) -> None:
    client.api.instances.post(json={"name": "c1", "source": {"type": "none"}})
    client.instances.get("c1").start(wait=True)
    metrics = client.metrics()
    assert lxd.last("GET", "/1.0/metrics").query == {}
    assert str(metrics).endswith("# EOF\n")
    assert metrics.value("lxd_procs_total", name="c1") == 1.0
    assert metrics.families["lxd_procs_total"].type == "gauge"
    assert client.server.metrics(target="m1").text == metrics.text
    assert lxd.last("GET", "/1.0/metrics").query == {"target": "m1"}


def test_metrics_need_the_extension() -> None:
    extensions = [e for e in LXD_5_0_2_EXTENSIONS if e != "metrics"]
    client = FakeLXD(extensions=extensions).client()
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="metrics"):
        client.metrics()


TEXT = r"""# HELP lxd_cpu_seconds_total The total number of CPU time used in seconds.
# TYPE lxd_cpu_seconds_total counter
lxd_cpu_seconds_total{cpu="0",mode="user",name="c1",project="default"} 0.25
lxd_cpu_seconds_total{cpu="1",mode="user",name="c1",project="default"} 0.5
# HELP lxd_memory_MemTotal_bytes The amount of memory.\nSecond line.
# TYPE lxd_memory_MemTotal_bytes gauge
lxd_memory_MemTotal_bytes{name="c1", project="default"} 8.4844916736e+10 1700000000
# TYPE http_requests summary
http_requests_count 3
http_requests_sum +Inf
# a free comment
untyped_metric{path="a\\b",quote="say \"hi\"",nl="x\ny"} NaN

# EOF
"""


def test_parse_metrics_reads_families_labels_values_and_timestamps() -> None:
    families = parse_metrics(TEXT)
    assert list(families) == [
        "lxd_cpu_seconds_total",
        "lxd_memory_MemTotal_bytes",
        "http_requests",
        "untyped_metric",
    ]
    cpu = families["lxd_cpu_seconds_total"]
    assert (cpu.type, cpu.help) == (
        "counter",
        "The total number of CPU time used in seconds.",
    )
    assert cpu.samples[1] == Sample(
        "lxd_cpu_seconds_total",
        {"cpu": "1", "mode": "user", "name": "c1", "project": "default"},
        0.5,
    )
    memory = families["lxd_memory_MemTotal_bytes"]
    assert memory.help == "The amount of memory.\nSecond line."
    assert memory.samples[0].timestamp == 1700000000.0
    assert memory.samples[0].labels == {"name": "c1", "project": "default"}
    summary = families["http_requests"]
    assert [s.name for s in summary.samples] == [
        "http_requests_count",
        "http_requests_sum",
    ]
    assert math.isinf(summary.samples[1].value)
    untyped = families["untyped_metric"]
    assert untyped == MetricFamily("untyped_metric", samples=untyped.samples)
    assert untyped.samples[0].labels == {
        "path": "a\\b",
        "quote": 'say "hi"',
        "nl": "x\ny",
    }
    assert math.isnan(untyped.samples[0].value)


@pytest.mark.parametrize(
    "line",
    [
        "name_only",
        'broken{a="1" 3',
        "broken{a=1} 3",
        "value_not_a_number abc",
        "too many 1 2 3",
    ],
)
def test_parse_metrics_names_the_bad_line(line: str) -> None:
    with pytest.raises(ValueError, match=r"Invalid metrics line 2: "):
        parse_metrics("# TYPE x gauge\n" + line + "\n")


def test_metrics_lookups() -> None:
    metrics = Metrics(TEXT)
    assert len(list(metrics)) == 6
    assert [s.labels["cpu"] for s in metrics.samples("lxd_cpu_seconds_total")] == [
        "0",
        "1",
    ]
    assert metrics.value("lxd_cpu_seconds_total", cpu="1") == 0.5
    with pytest.raises(ValueError, match="2 metric samples"):
        metrics.value("lxd_cpu_seconds_total", name="c1")
    with pytest.raises(KeyError, match="No metric sample"):
        metrics.value("lxd_cpu_seconds_total", cpu="9")
    assert repr(metrics) == "<Metrics: 4 families>"

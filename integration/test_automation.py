"""Automation on the real daemon: If-Match against concurrent writers, waits
for conditions, remotes of the lxc tool, and retries across a restart."""

from __future__ import annotations

import contextlib
import multiprocessing
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import pylxd
from integration.conftest import ON_INCUS, WAIT, trust_secret, unique_name
from pylxd import Client, exceptions

ROUNDS = 20
BRIDGE_NIC = {"type": "nic", "nictype": "bridged", "name": "eth0"}


# -- optimistic concurrency ---------------------------------------------------
def _edit_rounds(
    socket: str, kind: str, name: str, writer: str, guarded: bool, barrier: Any
) -> int:
    """One writer process: ROUNDS read-modify-writes of its own keys.

    Both writers meet at ``barrier`` before each round, so that their reads
    and writes overlap. Returns the number of rounds done.
    """
    client = Client(endpoint=socket, if_match=guarded)
    manager = getattr(client, kind)
    for round_ in range(ROUNDS):
        barrier.wait(timeout=WAIT)
        key = f"user.{writer}.{round_}"

        def edit(obj: Any, key: str = key) -> None:
            obj.config[key] = "1"

        if guarded:
            manager.get(name).update_with(edit, retries=50)
        else:
            obj = manager.get(name)
            edit(obj)
            obj.config = dict(obj.config)  # a full PUT of what was read
            obj.save(wait=True)
    return ROUNDS


def _race(client: Client, kind: str, name: str, guarded: bool) -> set[str]:
    """Run two writer processes on ``name``; return the user keys it ends with."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(2)
    socket = _socket_of(client)
    with ctx.Pool(2) as pool:
        results = [
            pool.apply_async(_edit_rounds, (socket, kind, name, w, guarded, barrier))
            for w in ("a", "b")
        ]
        assert [r.get(timeout=WAIT * 2) for r in results] == [ROUNDS, ROUNDS]
    config = getattr(client, kind).get(name).config
    return {key for key in config if key.startswith(("user.a.", "user.b."))}


def _socket_of(client: Client) -> str:
    from urllib import parse

    return parse.unquote(client.api.netloc)


def _all_keys() -> set[str]:
    return {f"user.{w}.{r}" for w in ("a", "b") for r in range(ROUNDS)}


@pytest.fixture
def profile(client: Client) -> Iterator[Any]:
    name = unique_name()
    created = client.profiles.create(name)
    try:
        yield created
    finally:
        with contextlib.suppress(exceptions.NotFound):
            client.profiles.get(name).delete()


def test_if_match_two_processes_lose_no_profile_edit(client, profile):
    assert _race(client, "profiles", profile.name, guarded=True) == _all_keys()


def test_if_match_two_processes_lose_no_instance_edit(client, running_container):
    keys = _race(client, "instances", running_container.name, guarded=True)
    assert keys == _all_keys()


def test_without_the_switch_the_last_writer_wins(client, profile):
    # Deterministic: two readers of the same state, both write.
    first = client.profiles.get(profile.name)
    second = client.profiles.get(profile.name)
    first.config["user.first"] = "1"
    first.save()
    second.config["user.second"] = "1"
    second.save()
    assert "user.first" not in client.profiles.get(profile.name).config
    # Racing processes end with at most every edit; how many are lost varies.
    assert _race(client, "profiles", profile.name, guarded=False) <= _all_keys()


def test_without_the_switch_the_last_writer_wins_on_an_instance(
    client, running_container
):
    # An instance too: the second save drops the first one's user key (only
    # the server's volatile.* keys are carried over), and nothing is raised.
    # No race of processes here: LXD refuses one of two updates of one
    # instance at the same time (doc/source/automation.rst).
    first = client.instances.get(running_container.name)
    second = client.instances.get(running_container.name)
    first.config["user.first"] = "1"
    first.save(wait=True)
    second.config["user.second"] = "1"
    second.save(wait=True)
    config = client.instances.get(running_container.name).config
    assert "user.first" not in config
    assert config["user.second"] == "1"
    assert config["volatile.last_state.power"] == "RUNNING"


def test_a_stale_save_is_refused_and_changes_nothing(client, profile):
    mine = client.profiles.get(profile.name)
    other = client.profiles.get(profile.name)
    other.config["user.theirs"] = "1"
    other.save()
    etag_before = client.api.profiles[profile.name].get().headers["ETag"]
    mine.config["user.mine"] = "1"
    mine.description = "mine"
    with pytest.raises(exceptions.PreconditionFailed, match=profile.name):
        mine.save(if_match=True)
    stored = client.api.profiles[profile.name].get()
    assert stored.headers["ETag"] == etag_before
    assert stored.json()["metadata"]["config"] == {"user.theirs": "1"}
    assert stored.json()["metadata"]["description"] == ""


def test_instance_save_after_a_start_elsewhere_does_not_fail(client, container):
    loaded = client.instances.get(container.name)
    etag = loaded.etag
    response = client.api.instances[container.name].state.put(
        json={"action": "start", "timeout": 30}
    )
    client.operations.wait_for_operation(response.json()["operation"], timeout=WAIT)
    assert client.instances.get(container.name).etag != etag  # volatile.* changed
    loaded.config["user.after-start"] = "1"
    loaded.description = "edited"
    loaded.save(wait=True, if_match=True)
    stored = client.instances.get(container.name)
    assert stored.config["user.after-start"] == "1"
    assert stored.description == "edited"
    assert stored.config["volatile.last_state.power"] == "RUNNING"


def test_instance_save_still_refuses_a_real_concurrent_change(client, container):
    loaded = client.instances.get(container.name)
    client.api.instances[container.name].patch(json={"config": {"user.theirs": "1"}})
    loaded.config["user.mine"] = "1"
    with pytest.raises(exceptions.PreconditionFailed):
        loaded.save(wait=True, if_match=True)
    assert "user.mine" not in client.instances.get(container.name).config


# -- waiting for conditions -----------------------------------------------------
def _in_thread(delay: float, action: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), action()))
    thread.start()
    return thread


def test_wait_until_running_follows_lifecycle_events(client, container):
    other = Client(endpoint=_socket_of(client))
    thread = _in_thread(
        0.5, lambda: other.instances.get(container.name).start(wait=True)
    )
    try:
        state = container.wait_until("Running", timeout=WAIT)
    finally:
        thread.join()
    assert state.status == "Running"
    with pytest.raises(exceptions.WaitTimeout) as caught:
        container.wait_until("Frozen", timeout=1)
    assert isinstance(caught.value, TimeoutError)


def test_wait_until_an_address_on_a_nic(client, make_container, lxd_env):
    nic = {**BRIDGE_NIC, "parent": lxd_env["bridge"]}
    container = make_container(devices={"eth0": nic})
    container.start(wait=True)
    ip = ["/bin/busybox", "ip"]

    def add_address() -> None:
        container.execute(ip + ["addr", "add", "192.0.2.10/24", "dev", "eth0"])
        container.execute(ip + ["link", "set", "eth0", "up"])

    thread = _in_thread(1.0, add_address)
    try:
        state = container.wait_until(
            "Running", ipv4="192.0.2.10", interface="eth0", timeout=WAIT
        )
    finally:
        thread.join()
    addresses = [a["address"] for a in state.network["eth0"]["addresses"]]
    assert "192.0.2.10" in addresses


def test_operations_wait_until_by_resource_and_description(client, container):
    thread = _in_thread(0.5, lambda: container.start(wait=True))
    try:
        op = client.operations.wait_until(
            resource=container.name,
            description="Starting instance",
            existing=False,
            timeout=WAIT,
        )
    finally:
        thread.join()
    assert op.succeeded
    assert f"/1.0/instances/{container.name}" in op.resources["instances"]


# -- remotes ------------------------------------------------------------------
def _own_client_cert(directory: Path) -> None:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:secp384r1", "-nodes", "-days", "2", "-subj",
            "/CN=pylxd-it-remote", "-keyout", str(directory / "client.key"),
            "-out", str(directory / "client.crt"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip


def test_from_remote_reaches_the_second_daemon_over_https(tmp_path, lxd_env):
    second = lxd_env["second"]
    remote = unique_name("pylxd-it-remote")
    _own_client_cert(tmp_path)
    (tmp_path / "servercerts").mkdir()
    shutil.copy(second["server_cert"], tmp_path / "servercerts" / f"{remote}.crt")
    (tmp_path / "config.yml").write_text(
        f"default-remote: {remote}\n"
        "remotes:\n"
        "  images:\n    addr: https://images.linuxcontainers.org\n"
        "    protocol: simplestreams\n    public: true\n"
        "  local:\n    addr: unix://\n    public: false\n"
        f"  {remote}:\n    addr: {second['https']}\n    auth_type: tls\n"
        "    project: default\n    protocol: lxd\n    public: false\n"
        "aliases: {}\n"
    )
    client = Client.from_remote(config_dir=str(tmp_path))
    assert not client.trusted
    client.authenticate(trust_secret(lxd_env, "second"))  # a token on Incus
    try:
        assert client.trusted
        assert client.api.session.verify == str(
            tmp_path / "servercerts" / f"{remote}.crt"
        )
        assert client.host_info["environment"]["server_name"]
        assert client.profiles.exists("default")
        with pytest.raises(exceptions.InvalidArgument, match="simplestreams"):
            Client.from_remote("images", config_dir=str(tmp_path))
    finally:
        _untrust(Client(endpoint=second["socket"]), tmp_path / "client.crt")


def _untrust(admin: Client, cert: Path) -> None:
    out = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fingerprint = out.split("=", 1)[1].strip().replace(":", "").lower()
    with contextlib.suppress(exceptions.NotFound):
        admin.api.certificates[fingerprint].delete()


def test_from_remote_local_is_the_unix_socket(tmp_path, lxd_env, monkeypatch):
    monkeypatch.setenv("LXD_DIR", lxd_env["main"]["lxd_dir"])
    (tmp_path / "config.yml").write_text(
        "default-remote: local\nremotes:\n  local:\n    addr: unix://\n"
        "    public: false\naliases: {}\n"
    )
    client = Client.from_remote(config_dir=str(tmp_path), if_match=True)
    assert client.trusted and client.if_match
    assert client.api.scheme == "http+unix"


# -- retries across a restart ---------------------------------------------------
def _reads_during_restart(daemon: Any, client: Client) -> list[BaseException]:
    """Read in a loop while the daemon restarts; return what the caller saw."""
    failures: list[BaseException] = []
    restart = threading.Thread(target=daemon.restart)
    restart.start()
    while restart.is_alive():
        try:
            client.profiles.get("default")
        except Exception as err:  # noqa: BLE001 -- what the caller sees is the point
            failures.append(err)
            time.sleep(0.05)
    restart.join()
    for _ in range(5):  # and after it
        try:
            client.profiles.get("default")
        except Exception as err:  # noqa: BLE001
            failures.append(err)
    return failures


def test_reads_with_a_retry_policy_survive_a_restart(disposable):
    policy = pylxd.Retry(total=200, backoff=0.05, max_backoff=0.5, deadline=WAIT)
    client = Client(endpoint=disposable.socket, retry=policy)
    assert _reads_during_restart(disposable, client) == []


def test_reads_without_a_policy_fail_clearly_during_a_restart(disposable):
    client = Client(endpoint=disposable.socket)
    failures = _reads_during_restart(disposable, client)
    assert failures, "the restart window was not seen"
    for failure in failures:
        assert isinstance(failure, exceptions.ClientConnectionFailed), repr(failure)
        assert disposable.socket in str(failure)


def test_https_reads_with_a_retry_policy_survive_a_restart(disposable, lxd_env):
    policy = pylxd.Retry(total=200, backoff=0.05, max_backoff=0.5, deadline=WAIT)
    client = Client(
        endpoint=disposable.https,
        cert=(lxd_env["client_cert"], lxd_env["client_key"]),
        verify=disposable.server_cert,
        retry=policy,
    )
    if not client.trusted:
        # Incus has no trust password: a token from the daemon
        client.authenticate(disposable.token() if ON_INCUS else "disposable")
    assert _reads_during_restart(disposable, client) == []

"""Reliability against the real LXD: bounded waits, reconnection, threads.

Every network wait ends with a clear exception instead of hanging (each test
is itself bounded by a thread join), a restarted daemon is reached again by
the same ``Client``, a stopped one gives ``ClientConnectionFailed`` naming it,
one ``Client`` serves 16 threads of mixed calls without errors or orphans,
and a failed operation always carries LXD's own error text.

The daemon restarted here is the SECOND one (``lxd2``): the main daemon is
shared with every other test.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
import traceback
from typing import Any, Callable, Iterator

import pytest

from integration.conftest import (
    ON_INCUS,
    WAIT,
    busybox_container,
    force_delete_instance,
    unique_name,
)
from pylxd import Client, EventType, _websocket, exceptions

EMPTY = {"source": {"type": "none"}}


def bounded(seconds: float, call: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``call`` in a thread; fail the test if it is still running after
    ``seconds``. Return what it raised (or returned) and how long it took."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["value"] = call()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            outcome["value"] = err
        outcome["took"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still waiting after {seconds} s: the call hangs")
    return outcome["value"], outcome["took"]


def printable(err: BaseException) -> str:
    """``str`` and ``repr`` of an exception never raise and are not empty."""
    text, shown = str(err), repr(err)
    assert text and shown
    return text


# -- silent servers ---------------------------------------------------------------
@pytest.fixture
def silent_tcp() -> Iterator[int]:
    """A local TCP port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_request_to_a_server_that_never_answers_times_out(
    silent_tcp: int, scheme: str
) -> None:
    endpoint = f"{scheme}://127.0.0.1:{silent_tcp}"
    err, took = bounded(
        20, lambda: Client(endpoint=endpoint, timeout=1.5, verify=False)
    )
    assert isinstance(err, exceptions.ClientConnectionFailed), err
    text = printable(err)
    assert f"127.0.0.1:{silent_tcp}" in text
    assert "did not answer" in text and "1.5" in text
    assert took < 10


def test_tuple_timeout_is_honoured(silent_tcp: int) -> None:
    endpoint = f"http://127.0.0.1:{silent_tcp}"
    err, took = bounded(20, lambda: Client(endpoint=endpoint, timeout=(1, 1)))
    assert isinstance(err, exceptions.ClientConnectionFailed)
    assert took < 10


def test_a_single_request_timeout_overrides_the_clients(client: Client) -> None:
    """``timeout=`` per call reaches the socket (here: LXD answers in time)."""
    assert client.api.get(timeout=30).status_code == 200


@pytest.fixture
def websocket_that_never_answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """A client of a local 'LXD' that answers ``GET /1.0`` and then never
    answers a websocket upgrade."""
    import http.server
    import socketserver

    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.headers.get("Upgrade"):
                release.wait(60)
                return
            body = json.dumps(
                {
                    "type": "sync",
                    "status_code": 200,
                    "metadata": {"api_version": "1.0", "auth": "trusted"},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(_websocket._LXDWebSocket, "handshake_timeout", 1.5)
    yield Client(endpoint=f"http://127.0.0.1:{server.server_address[1]}", timeout=5)
    release.set()
    server.shutdown()
    server.server_close()


def test_websocket_upgrade_that_never_answers_times_out(
    websocket_that_never_answers: Client,
) -> None:
    err, took = bounded(20, lambda: websocket_that_never_answers.events_iter())
    assert isinstance(err, exceptions.ClientConnectionFailed), err
    assert "no answer within 1.5 s" in printable(err)
    assert "/1.0/events" in str(err)
    assert took < 10


# -- operation, exec and event waits ---------------------------------------------
@pytest.fixture(scope="module")
def busybox(client: Client, image_alias: str) -> Iterator[Any]:
    """A running busybox container for this module (deleted after)."""
    with busybox_container(client, image_alias, "pylxd-it-rel", start=True) as name:
        yield client.instances.get(name)


def test_operation_wait_times_out_clearly(client: Client, busybox: Any) -> None:
    # record-output: LXD runs the command at once (no websocket to wait for).
    operation_id, _ = busybox._start_exec(
        ["sleep", "4"], interactive=False, record_output=True
    )
    err, took = bounded(
        30, lambda: client.operations.wait_for_operation(operation_id, timeout=1)
    )
    assert isinstance(err, exceptions.OperationTimeout), err
    text = printable(err)
    assert operation_id in text and "did not finish within 1" in text
    assert took < 15
    finished = client.operations.wait_for_operation(operation_id, timeout=WAIT)
    assert finished.metadata["return"] == 0


def test_execute_times_out_and_kills_the_command(busybox: Any) -> None:
    err, took = bounded(
        60,
        lambda: busybox.execute(["sh", "-c", "echo started; sleep 120"], timeout=2),
    )
    assert isinstance(err, exceptions.ExecTimeout), err
    assert isinstance(err, exceptions.ClientConnectionFailed)
    assert isinstance(err, TimeoutError)
    assert "2" in printable(err)
    assert err.stdout == "started\n"
    assert took < 30
    ps = busybox.execute(["ps"], timeout=30).stdout
    assert "sleep 120" not in ps


def test_event_iteration_ends_after_its_timeout(client: Client) -> None:
    events = client.events_iter(timeout=1)

    def never() -> Any:
        return events.until(lambda event: False, timeout=1.5)

    err, took = bounded(20, never)
    events.close()
    assert isinstance(err, TimeoutError) and "1.5" in printable(err)
    assert took < 10


def test_event_iteration_in_a_quiet_project_times_out(client: Client) -> None:
    name = unique_name("pylxd-it-relp")
    client.projects.create(name)
    try:
        quiet = client.with_project(name)

        def drain() -> Any:
            types = [EventType.Lifecycle, EventType.Operation]
            with quiet.events_iter(types, timeout=1) as events:
                return list(events), events.timed_out

        (received, timed_out), took = bounded(20, drain)
        assert timed_out and took < 10
        assert all(e.get("project") in (None, "", name) for e in received)
    finally:
        client.projects.get(name).delete()


# -- a daemon going away and coming back -------------------------------------------
def test_daemon_gone_then_back(lxd_env: dict[str, Any], disposable: Any) -> None:
    unix = Client(endpoint=disposable.socket, timeout=30)
    cert = (lxd_env["client_cert"], lxd_env["client_key"])
    https = Client(
        endpoint=disposable.https, cert=cert, verify=disposable.server_cert, timeout=30
    )
    https.authenticate(disposable.token())
    before = unix.host_info["environment"]["server_pid"]
    assert unix.profiles.get("default").name == "default"
    assert https.profiles.get("default").name == "default"

    disposable.kill()
    for gone, where in ((unix, disposable.socket), (https, disposable.address)):
        err, took = bounded(60, lambda: gone.profiles.get("default"))
        assert isinstance(err, exceptions.ClientConnectionFailed), err
        text = printable(err)
        assert where in text and "Cannot reach LXD" in text
        assert took < 30

    disposable.start()
    assert unix.profiles.get("default").name == "default"
    assert https.profiles.get("default").name == "default"
    after = unix.refresh_host_info()["environment"]["server_pid"]
    assert after != before


# -- threads --------------------------------------------------------------------------
THREADS = 16
CALLS = 100


def _mixed_calls(
    client: Client, prefix: str, worker: int, busybox_name: str
) -> list[str]:
    """100 calls: reads, creates and deletes of empty containers, a few execs."""
    made: list[str] = []
    rng = random.Random(worker)
    box = client.instances.get(busybox_name)
    for i in range(CALLS):
        kind = i % 10
        if kind == 0:
            name = f"{prefix}-{worker}-{i}"
            client.instances.create({"name": name, **EMPTY}, wait=True)
            made.append(name)
        elif kind == 5 and made:
            client.instances.get(made.pop(rng.randrange(len(made)))).delete(wait=True)
        elif i % 25 == 7:
            result = box.execute(["echo", f"w{worker}-{i}"], timeout=60)
            assert result.stdout == f"w{worker}-{i}\n", result
        elif kind % 3 == 0:
            assert client.profiles.get("default").name == "default"
        elif kind % 3 == 1:
            assert client.api.get().status_code == 200
        else:
            assert busybox_name in [i.name for i in client.instances.all()]
    return made


def test_sixteen_threads_of_mixed_calls_on_one_client(
    client: Client, busybox: Any
) -> None:
    prefix = unique_name("pylxd-it-thr")
    errors: list[BaseException] = []
    left: list[str] = []

    def work(worker: int) -> None:
        try:
            left.extend(_mixed_calls(client, prefix, worker, busybox.name))
        except BaseException as err:  # noqa: BLE001 - asserted below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == [], "".join(traceback.format_exception(errors[0]))
        names = set(client.api.instances.get().json()["metadata"])
        ours = {n.rsplit("/", 1)[-1] for n in names if f"/{prefix}-" in n}
        assert ours == set(left)  # every create is accounted for
    finally:
        for name in left:
            with contextlib.suppress(exceptions.NotFound):
                client.instances.get(name).delete(wait=True)
    assert not any(
        f"/{prefix}-" in n for n in client.api.instances.get().json()["metadata"]
    )


# -- failures leave nothing behind and say why -----------------------------------
def _absent(client: Client, name: str) -> bool:
    return not client.instances.exists(name)


@pytest.mark.parametrize(
    "config, error, expected",
    [
        ({"name": "bad name", **EMPTY}, ValueError, "invalid instance name"),
        ({"name": "9lives", **EMPTY}, ValueError, "must not start with a number"),
        ({"source": {"type": "tarball"}}, ValueError, "unknown source type"),
        ({"source": {"type": "image"}}, ValueError, "needs alias"),
        ({"source": "busybox"}, ValueError, "must be a dict"),
    ],
)
def test_create_failing_client_side_leaves_no_orphan(
    client: Client, config: dict[str, Any], error: type, expected: str
) -> None:
    name = unique_name("pylxd-it-orph")
    body = {"name": name, **config} if "name" not in config else config
    before = set(client.api.instances.get().json()["metadata"])
    with pytest.raises(error, match=expected) as info:
        client.instances.create(body, wait=True)
    printable(info.value)
    assert _absent(client, body["name"])
    after = set(client.api.instances.get().json()["metadata"])
    assert not {u for u in after - before if body["name"] in u}


def test_create_failing_in_lxd_surfaces_its_text_and_leaves_nothing(
    client: Client,
) -> None:
    name = unique_name("pylxd-it-orph")
    cases = [
        ({"profiles": ["pylxd-it-no-such-profile"]}, "pylxd-it-no-such-profile"),
        (
            {"source": {"type": "image", "alias": "pylxd-it-no-such-image"}},
            "Image not provided" if ON_INCUS else "not found",
        ),
        ({"config": {"limits.memory": "lots"}}, "Invalid value: lots"),
    ]
    for extra, expected in cases:
        body = {"name": name, **EMPTY, **extra}
        with pytest.raises(exceptions.LXDAPIException) as info:
            client.instances.create(body, wait=True)
        text = printable(info.value)
        assert expected.lower() in text.lower(), text
        assert _absent(client, name), extra


def test_a_failed_operation_surfaces_lxds_error(client: Client) -> None:
    name = unique_name("pylxd-it-fail")
    instance = client.instances.create({"name": name, **EMPTY}, wait=True)
    try:
        with pytest.raises(exceptions.LXDAPIException) as info:
            instance.start(wait=True)  # an empty rootfs has no init to run
        text = printable(info.value)
        operation = info.value.response.json()["metadata"]
        assert operation["err"] and operation["err"] in text
    finally:
        force_delete_instance(client, name)

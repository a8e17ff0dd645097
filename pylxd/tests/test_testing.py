"""Unit tests for pylxd.testing itself: plugging in, exec, events, faults, fixtures."""

from __future__ import annotations

import copy
import gc
import pickle
import socket
import weakref
from typing import Any

import pytest

from pylxd import Client, EventType, exceptions
from pylxd._transport import ConnectionLost, RequestTimeout
from pylxd.testing import CommandNotFound, ExecCall, ExecResult, FakeLXD, _fake_events
from pylxd.testing._fake_ws import ServerWebSocket
from pylxd.testing.pytest_plugin import fake_client, fake_lxd  # noqa: F401

IMAGE = {"type": "image", "alias": "busybox"}


@pytest.fixture
def lxd() -> FakeLXD:
    fake = FakeLXD()
    fake.add_root_disk()
    fake.add_image("busybox", properties={"os": "busybox"})
    return fake


@pytest.fixture
def running(client: Client) -> Any:
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    instance.start(wait=True)
    return instance


# -- plugging in -------------------------------------------------------------
def test_endpoint_works_with_a_plain_client() -> None:
    with FakeLXD() as fake:
        client = Client(endpoint=fake.endpoint)
        client.profiles.create("web")
        assert fake.last_body("POST", "/1.0/profiles") == {"name": "web"}
        assert client.api._api_endpoint == f"http://{fake.host}/1.0"


def test_endpoint_keeps_the_fake_alive_while_it_or_a_client_lives() -> None:
    endpoint = FakeLXD().endpoint
    gc.collect()
    server = endpoint.pylxd_adapter
    assert isinstance(server, FakeLXD)
    client = Client(endpoint=endpoint)
    alive = weakref.ref(server)
    server.unregister()
    del server, endpoint
    gc.collect()
    assert client.host_info["api_version"] == "1.0"
    assert alive() is not None  # the client holds it
    del client
    gc.collect()
    assert alive() is None


def test_a_plain_copy_of_the_endpoint_reaches_no_fake() -> None:
    fake = FakeLXD()
    with pytest.raises(exceptions.ClientConnectionFailed):
        Client(endpoint=str(fake.endpoint), timeout=5)


def test_copies_of_the_endpoint_carry_the_fake_a_pickle_does_not() -> None:
    fake = FakeLXD()
    endpoint = fake.endpoint
    assert copy.copy(endpoint).pylxd_adapter is fake
    assert copy.deepcopy({"url": endpoint})["url"].pylxd_adapter is fake
    unpickled = pickle.loads(pickle.dumps(endpoint))
    assert unpickled == endpoint and not hasattr(unpickled, "pylxd_adapter")


def test_websockets_go_where_the_session_sends_requests(lxd: FakeLXD) -> None:
    from pylxd import _websocket

    assert _websocket.connector_for(lxd.client()) == lxd.open_websocket
    assert _websocket.connector_for(Client(endpoint=lxd.endpoint)) == lxd.open_websocket


def test_exec_and_events_reach_the_fake_through_its_endpoint(lxd: FakeLXD) -> None:
    client = Client(endpoint=lxd.endpoint)
    instance = client.instances.create({"name": "c2", "source": IMAGE}, wait=True)
    with client.events_iter([EventType.Lifecycle], timeout=10) as events:
        instance.start(wait=True)
        assert next(events)["metadata"]["action"] == "instance-started"
    assert instance.execute(["echo", "hi"]).stdout == "hi\n"


def test_an_event_for_a_listener_that_just_left_is_dropped_not_raised() -> None:
    ours, theirs = socket.socketpair()
    ws = ServerWebSocket(ours)
    listener = _fake_events.Listener({"type": "lifecycle"})
    listener.attach(ws)
    ws.end()  # the client closed the event stream as the event was being sent
    theirs.close()
    listener.send('{"type": "lifecycle"}')
    assert listener.gone
    with pytest.raises(BrokenPipeError):
        ws.send(b"output nobody reads", binary=True)


def test_websockets_follow_a_session_given_to_the_client(lxd: FakeLXD) -> None:
    client = Client(endpoint=lxd.base_url, session=lxd.session())
    instance = client.instances.create({"name": "c3", "source": IMAGE}, wait=True)
    instance.start(wait=True)
    assert instance.execute(["echo", "via session"]).stdout == "via session\n"


def test_clients_keep_working_after_unregister(running: Any, lxd: FakeLXD) -> None:
    lxd.endpoint
    lxd.unregister()
    assert running.execute(["echo", "still"]).stdout == "still\n"


def test_each_fake_has_its_own_host() -> None:
    first, second = FakeLXD(), FakeLXD()
    assert first.host != second.host
    first.client().profiles.create("only-on-first")
    assert not second.client().profiles.exists("only-on-first")


def test_fake_client_passes_client_arguments(lxd: FakeLXD) -> None:
    lxd.client().projects.create("p1")
    lxd.client(project="p1").profiles.all()
    assert lxd.requests[-1].query == {"recursion": "1", "project": "p1"}


def test_add_image_and_root_disk(lxd: FakeLXD, client: Client) -> None:
    image = client.images.get_by_alias("busybox")
    assert image.properties == {"os": "busybox"}
    assert len(image.fingerprint) == 64
    assert client.profiles.get("default").devices == {
        "root": {"path": "/", "pool": "default", "type": "disk"}
    }


# -- exec --------------------------------------------------------------------
def test_exec_builtins(running: Any) -> None:
    assert tuple(running.execute(["echo", "a", "b"])) == (0, "a b\n", "")
    assert running.execute(["true"]).exit_code == 0
    assert running.execute(["false"]).exit_code == 1
    assert running.execute(["cat"], stdin_payload=b"x" * 300_000).stdout == (
        "x" * 300_000
    )


def test_exec_cat_reads_the_instance_files(running: Any) -> None:
    running.files.put("/root/a.txt", b"content\n")
    assert running.execute(["cat", "/root/a.txt"]).stdout == "content\n"
    result = running.execute(["cat", "/nope"])
    assert tuple(result) == (
        1,
        "",
        "cat: can't open '/nope': No such file or directory\n",
    )


def test_unknown_command_fails_like_a_missing_binary(
    running: Any, lxd: FakeLXD
) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="Command not found"):
        running.execute(["apt-get", "update"])


def test_on_exec_fixed_answer_matches_by_prefix(running: Any, lxd: FakeLXD) -> None:
    rule = lxd.on_exec(["apt-get"], stdout="Done\n", stderr="W: x\n", exit_code=100)
    result = running.execute(["apt-get", "install", "-y", "vim"])
    assert tuple(result) == (100, "Done\n", "W: x\n")
    assert [call.command for call in rule.calls] == [
        ["apt-get", "install", "-y", "vim"]
    ]
    assert rule.calls[0].environment["PATH"].startswith("/usr/local/sbin")
    assert rule.calls[0].instance == "c1"


def test_on_exec_handler_gets_the_call(running: Any, lxd: FakeLXD) -> None:
    seen: list[ExecCall] = []

    def handler(call: ExecCall) -> tuple[int, str, bytes]:
        seen.append(call)
        return 3, call.stdin.decode().upper(), b"err"

    lxd.on_exec(["tr"], handler)
    result = running.execute(
        ["tr", "a-z", "A-Z"], environment={"K": "v"}, stdin_payload="abc", cwd="/tmp"
    )
    assert tuple(result) == (3, "ABC", "err")
    assert (seen[0].environment["K"], seen[0].cwd) == ("v", "/tmp")


@pytest.mark.parametrize(
    "answer, expected",
    [
        (None, (0, "", "")),
        (7, (7, "", "")),
        (ExecResult(2, b"o", "e"), (2, "o", "e")),
    ],
)
def test_on_exec_handler_answers(
    running: Any, lxd: FakeLXD, answer: Any, expected: tuple[Any, ...]
) -> None:
    lxd.on_exec(lambda call: answer)
    assert tuple(running.execute(["anything"])) == expected


def test_on_exec_handler_can_say_command_not_found(running: Any, lxd: FakeLXD) -> None:
    def missing(call: ExecCall) -> None:
        raise CommandNotFound(call.command[0])

    lxd.on_exec(["snap"], missing)
    with pytest.raises(exceptions.LXDAPIException, match="Command not found"):
        running.execute(["snap", "list"])


def test_on_exec_newest_rule_wins_and_instance_filter(
    running: Any, client: Client, lxd: FakeLXD
) -> None:
    lxd.on_exec(["id"], stdout="first\n")
    lxd.on_exec(["id"], stdout="second\n")
    lxd.on_exec(["id"], stdout="other\n", instance="c2")
    assert running.execute(["id"]).stdout == "second\n"


def test_on_exec_refuses_bad_commands(lxd: FakeLXD) -> None:
    with pytest.raises(TypeError, match="list of str"):
        lxd.on_exec([1, 2])


def test_exec_record_output_writes_logs(running: Any, lxd: FakeLXD) -> None:
    lxd.on_exec(["build"], stdout="out\n", stderr="err\n", exit_code=4)
    assert tuple(running.execute(["build"], record_output=True)) == (
        4,
        "out\n",
        "err\n",
    )


def test_exec_needs_a_running_instance(client: Client) -> None:
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    with pytest.raises(exceptions.LXDAPIException, match="Instance is not running"):
        instance.execute(["echo"])


def test_exec_stream_and_interactive(running: Any, lxd: FakeLXD) -> None:
    lxd.on_exec(["sh"], stdout="prompt$ ")
    with running.execute_stream(["echo", "streamed"]) as stream:
        assert list(stream) == [("stdout", b"streamed\n")]
        assert stream.exit_code == 0
    session = running.interactive_execute(["sh"])
    assert session.read_until("$ ", timeout=5) == b"prompt$ "
    assert session.wait(timeout=5) == 0


def test_a_websocket_with_a_wrong_secret_is_refused(running: Any, lxd: FakeLXD) -> None:
    from pylxd._websocket_exec import _CommandWebsocketClient

    ws = _CommandWebsocketClient(None, running.client.websocket_url)
    ws.resource = "/1.0/operations/x/websocket?secret=wrong"
    with pytest.raises(ConnectionLost, match="Cannot open websocket"):
        ws.connect()


# -- events ------------------------------------------------------------------
def test_events_iter_sees_lifecycle_and_operation_events(client: Client) -> None:
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    with client.events_iter(timeout=5) as events:
        instance.start(wait=True)
        first = events.until(lambda e: e["type"] == "operation", 5)
        started = events.until(lambda e: e["type"] == "lifecycle", 5)
    assert first["metadata"]["description"] == "Starting instance"
    assert started["metadata"]["action"] == "instance-started"
    assert started["metadata"]["source"] == "/1.0/instances/c1"


def test_events_filter_by_type_and_project(lxd: FakeLXD, client: Client) -> None:
    client.projects.create("p1")
    with client.events_iter([EventType.Lifecycle], timeout=5) as events:
        lxd.emit("operation", {"id": "x"})
        client.with_project("p1").profiles.create("in-p1")
        client.profiles.create("in-default")
        event = next(events)
    assert event["metadata"]["source"] == "/1.0/profiles/in-default"


def test_emit_sends_a_custom_event(lxd: FakeLXD, client: Client) -> None:
    with client.events_iter(timeout=5) as events:
        sent = lxd.emit("logging", {"message": "hello", "level": "info"}, None)
        assert next(events) == sent


def test_events_client_collects_messages(lxd: FakeLXD, client: Client) -> None:
    ws = client.events()
    ws.connect()
    lxd.emit("logging", {"message": "one"}, None)
    ws.close()
    ws.run()
    assert [m["metadata"]["message"] for m in ws.messages] == ["one"]


def test_events_iter_times_out_quietly(client: Client) -> None:
    with client.events_iter(timeout=0.05) as events:
        assert list(events) == []
        assert events.timed_out


# -- fault injection ---------------------------------------------------------
def test_fail_operation_next_fails_and_changes_nothing(
    client: Client, lxd: FakeLXD
) -> None:
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    lxd.fail_operation_next(
        "Failed to start: disk full", path="/1.0/instances/c1/state"
    )
    client.profiles.create("no-operation-here")
    with pytest.raises(exceptions.LXDAPIException, match="Failed to start: disk full"):
        instance.start(wait=True)
    assert instance.state().status == "Stopped"
    instance.start(wait=True)
    assert instance.state().status == "Running"


def test_fail_operation_next_on_exec(running: Any, lxd: FakeLXD) -> None:
    lxd.fail_operation_next("exec broke")
    with pytest.raises(exceptions.LXDAPIException, match="exec broke"):
        running.execute(["echo"], record_output=True)


def test_fail_next_answers_an_lxd_error_once(client: Client, lxd: FakeLXD) -> None:
    lxd.fail_next(409, "busy", method="GET", path="/1.0/profiles/default")
    with pytest.raises(exceptions.Conflict, match="^Profile .default.: busy$"):
        client.profiles.get("default")
    assert client.profiles.get("default").name == "default"


def test_timeout_and_disconnect_next(client: Client, lxd: FakeLXD) -> None:
    lxd.timeout_next(path="/1.0/profiles")
    with pytest.raises(RequestTimeout):
        client.profiles.all()
    lxd.disconnect_next()
    with pytest.raises(ConnectionLost):
        client.profiles.all()
    assert client.profiles.all()


def test_reply_next(client: Client, lxd: FakeLXD) -> None:
    lxd.reply_next(FakeLXD.sync(["/1.0/profiles/ghost"]), "GET", "/1.0/profiles")
    assert client.api.profiles.get().json()["metadata"] == ["/1.0/profiles/ghost"]


# -- the pytest fixtures -----------------------------------------------------
def test_fixtures(fake_lxd: FakeLXD, fake_client: Client) -> None:  # noqa: F811
    fake_lxd.add_image("ubuntu")
    instance = fake_client.instances.create(
        {"name": "web", "source": {"type": "image", "alias": "ubuntu"}}, wait=True
    )
    assert instance.status == "Stopped"
    assert fake_lxd.endpoint.pylxd_adapter is fake_lxd
    assert Client(endpoint=fake_lxd.endpoint).instances.get("web").status == "Stopped"


@pytest.mark.fake_lxd(extensions=["projects"])
def test_fixture_marker(fake_client: Client) -> None:  # noqa: F811
    assert fake_client.host_info["api_extensions"] == ["projects"]


# -- console -----------------------------------------------------------------
def test_console_log_and_clear(client: Client, lxd: FakeLXD) -> None:
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    with pytest.raises(exceptions.LXDAPIException) as info:
        instance.api.console.get()
    assert str(info.value) == (
        "open /var/lib/lxd/logs/c1/console.log: no such file or directory"
    )
    assert instance.console_log() == ""  # the client reads that as no log yet
    instance.start(wait=True)
    assert instance.console_log() == ""
    lxd.add_console_output("c1", "booted\n")
    assert instance.console_log() == "booted\n"
    instance.clear_console_log()
    assert instance.console_log() == ""


def test_interactive_console_echoes_and_logs(running: Any, lxd: FakeLXD) -> None:
    lxd.add_console_output("c1", "login: ")
    with running.interactive_console() as console:
        assert console.read_until("login: ", timeout=5) == b"login: "
        console.write("root\n")
        assert console.read_until("root\n", timeout=5) == b"root\n"
        assert console.wait(timeout=5) is None
    assert running.console_log() == "login: root\n"
    with pytest.raises(exceptions.LXDAPIException, match="Instance is not running"):
        running.stop(wait=True)
        running.interactive_console()


def test_a_failing_exec_handler_fails_the_command(running: Any, lxd: FakeLXD) -> None:
    def broken(call: ExecCall) -> None:
        raise ValueError("boom")

    lxd.on_exec(["deploy"], broken)
    with pytest.raises(exceptions.LXDAPIException, match="ValueError.*boom"):
        running.execute(["deploy"])
    with pytest.raises(exceptions.LXDAPIException, match="ValueError.*boom"):
        running.execute(["deploy"], record_output=True)


# -- trust -------------------------------------------------------------------
def test_an_untrusted_client_sees_public_images_only(lxd: FakeLXD) -> None:
    public = lxd.add_image("pub", public=True)
    lxd.trusted = False
    client = lxd.client()
    assert client.trusted is False
    assert client.api.images.get().json()["metadata"] == [f"/1.0/images/{public}"]
    assert client.images.get(public).fingerprint == public
    assert client.images.get_by_alias("pub").fingerprint == public
    with pytest.raises(exceptions.NotFound, match="Image alias not found"):
        client.images.get_by_alias("busybox")
    with pytest.raises(exceptions.Forbidden, match="not authorized"):
        client.instances.all()

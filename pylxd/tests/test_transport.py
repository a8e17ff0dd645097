"""Unit tests of the _APINode URL tree, its single send path and error table."""

from __future__ import annotations

import logging
from typing import Any
from unittest import mock

import pytest
import requests

from pylxd import exceptions
from pylxd._transport import _APINode, get_session_for_url, unix_socket_url
from pylxd.testing import FakeLXD
from pylxd.testing._fake import Reply


def _node(**kwargs: Any) -> tuple[_APINode, mock.Mock]:
    session = mock.Mock()
    response = mock.Mock(status_code=200, headers={"Content-Type": "application/json"})
    response.json.return_value = {"type": "sync", "metadata": {}}
    for verb in ("get", "post", "put", "patch", "delete"):
        getattr(session, verb).return_value = response
    return _APINode("http+unix://%2Fs/1.0", session=session, **kwargs), session


def test_attribute_and_item_access_build_urls() -> None:
    node, _ = _node()
    assert (
        node.instances["c1"].state._api_endpoint
        == "http+unix://%2Fs/1.0/instances/c1/state"
    )
    assert node.storage_pools._api_endpoint.endswith("/storage-pools")
    assert node.virtual_machines._api_endpoint.endswith("/virtual-machines")
    assert node.network_acls._api_endpoint.endswith("/network_acls")
    assert node["storage_pools"]._api_endpoint.endswith("/storage_pools")


def test_private_names_are_not_url_parts() -> None:
    node, _ = _node()
    with pytest.raises(AttributeError):
        node._secret
    assert node.scheme == "http+unix"
    assert node.netloc == "%2Fs"


def test_verbs_pass_timeout_and_params_only_when_needed() -> None:
    node, session = _node(timeout=5)
    node.instances.get()
    session.get.assert_called_once_with("http+unix://%2Fs/1.0/instances", timeout=5)


def test_project_and_target_are_added_without_touching_callers_params() -> None:
    node, session = _node(project="p1")
    params = {"recursion": 1}
    node.instances.post(json={}, params=params, target="m2")
    session.post.assert_called_once_with(
        "http+unix://%2Fs/1.0/instances",
        json={},
        params={"project": "p1", "target": "m2", "recursion": 1},
        timeout=None,
    )
    assert params == {"recursion": 1}


def test_callers_project_wins() -> None:
    node, session = _node(project="p1")
    node.profiles.get(params={"project": "other"})
    assert session.get.call_args.kwargs["params"] == {"project": "other"}


def _reply(
    status: int, body: bytes, ctype: str = "application/json"
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers["Content-Type"] = ctype
    return response


@pytest.mark.parametrize(
    "status, exc",
    [
        (404, exceptions.NotFound),
        (409, exceptions.Conflict),
        (403, exceptions.Forbidden),
        (500, exceptions.LXDAPIException),
        (400, exceptions.LXDAPIException),
    ],
)
def test_error_table(status: int, exc: type[exceptions.LXDAPIException]) -> None:
    body = b'{"type": "error", "error": "it broke", "error_code": %d}' % status
    with pytest.raises(exc) as info:
        exceptions._check_response(_reply(status, body))
    assert str(info.value) == "it broke"
    assert info.value.response.status_code == status


def test_async_answer_to_get_is_an_error() -> None:
    with pytest.raises(exceptions.LXDAPIException):
        exceptions._check_response(
            _reply(200, b'{"type": "async", "operation": "/1.0/operations/x"}')
        )


def test_truncated_json_is_an_error_with_readable_message() -> None:
    with pytest.raises(exceptions.MalformedResponse) as info:
        exceptions._check_response(_reply(200, b'{"type": "sy'))
    assert "a body that is not JSON" in str(info.value)
    assert str(info.value).endswith('(HTTP 200: {"type": "sy)')


def test_non_json_bodies_pass_unchecked() -> None:
    exceptions._check_response(_reply(200, b"\x00binary", "application/octet-stream"))


def test_html_error_body_is_printable() -> None:
    with pytest.raises(exceptions.LXDAPIException) as info:
        exceptions._check_response(
            _reply(502, b"<html>Bad gateway</html>", "text/html")
        )
    assert str(info.value) == "HTTP 502: <html>Bad gateway</html>"
    assert "Bad gateway" in repr(info.value)


def test_empty_error_body_is_printable() -> None:
    with pytest.raises(exceptions.LXDAPIException) as info:
        exceptions._check_response(_reply(500, b""))
    assert str(info.value).startswith("HTTP 500")


def test_operation_error_text_wins() -> None:
    err = exceptions.LXDAPIException(
        _reply(
            200,
            b'{"type": "sync", "metadata": {"status": "Failure", "err": "no space"}}',
        )
    )
    assert str(err) == "no space"


def test_one_debug_record_per_request_with_secrets_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeLXD()
    client = fake.client()
    with caplog.at_level(logging.DEBUG, logger="pylxd"):
        client.api.profiles.get(params={"secret": "hunter2"})
    records = [r for r in caplog.records if r.name == "pylxd"]
    assert len(records) == 1
    message = records[0].getMessage()
    assert "GET /1.0/profiles" in message and "-> 200" in message
    assert "hunter2" not in message


def test_async_operation_id_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeLXD()
    client = fake.client()
    op = fake.operation("Doing things")
    fake.reply_next(fake.async_reply(op))
    with caplog.at_level(logging.DEBUG, logger="pylxd"):
        client.api.instances.post(json={})
    assert f"operation=/1.0/operations/{op.id}" in caplog.records[-1].getMessage()


def test_fake_answers_501_and_404_like_lxd() -> None:
    client = FakeLXD().client()
    with pytest.raises(exceptions.NotFound):
        client.api.nothing_here.get()
    with pytest.raises(exceptions.LXDAPIException, match="not implemented") as info:
        client.api.operations.post(json={})
    assert info.value.response.status_code == 501


def test_unix_adapter_reuses_idle_connections_per_socket(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket
    import threading

    path = str(tmp_path / "s.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()
    accepted: list[socket.socket] = []

    def serve() -> None:
        conn, _ = server.accept()
        accepted.append(conn)
        for _ in range(2):
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b'Content-Length: 16\r\n\r\n{"type": "sync"}'
            )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    session = get_session_for_url("http+unix://" + path.replace("/", "%2F"))
    base = "http+unix://" + path.replace("/", "%2F")
    assert session.get(base + "/1.0/instances?recursion=1", timeout=5).json() == {
        "type": "sync"
    }
    assert session.get(base + "/1.0/profiles/default", timeout=5).json() == {
        "type": "sync"
    }
    thread.join(timeout=5)
    assert len(accepted) == 1  # the second request reused the first connection
    server.close()
    session.close()


def test_reply_next_serves_one_odd_answer() -> None:
    fake = FakeLXD()
    client = fake.client()
    fake.reply_next(Reply(500, b"", {}))
    with pytest.raises(exceptions.LXDAPIException):
        client.api.profiles.get()
    assert client.api.profiles.get().status_code == 200


def test_one_pool_per_socket_path_even_when_paths_differ_only_in_case(
    tmp_path: Any,
) -> None:
    """Each socket gets its own pool of connections, keyed by its exact path (URL
    hosts are case-insensitive, socket paths are not), reused call after call."""
    from pylxd.tests.hostile import HostileLXD, sync

    (tmp_path / "A").mkdir()
    (tmp_path / "a").mkdir()
    with HostileLXD(tmp_path / "A" / "lxd.sock") as upper, HostileLXD(
        tmp_path / "a" / "lxd.sock"
    ) as lower:
        upper.on("GET", "/1.0/profiles", sync(["/1.0/profiles/upper"]))
        lower.on("GET", "/1.0/profiles", sync(["/1.0/profiles/lower"]))
        session = get_session_for_url(unix_socket_url(upper.path))
        for server, name in ((upper, "upper"), (lower, "lower")):
            base = _APINode(unix_socket_url(server.path), session=session, timeout=5)
            for _ in range(3):
                body = base["1.0"].profiles.get().json()
                assert body["metadata"] == [f"/1.0/profiles/{name}"]
        assert len(upper.requests_to("GET", "/1.0/profiles")) == 3
        assert len(lower.requests_to("GET", "/1.0/profiles")) == 3
        # One connection each: the pool kept and reused it.
        assert (len(upper._socks), len(lower._socks)) == (1, 1)
        session.close()

"""The lean request path of our own sessions builds what requests would build."""

from __future__ import annotations

import json
import pickle
import socket
import threading
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests

from pylxd import _transport
from pylxd.client import Client
from pylxd.testing import FakeLXD

BASE = "http+unix://%2Fvar%2Flib%2Flxd%2Funix.socket/1.0/instances"


def _reference(url: str, params: Any, json: Any = None) -> requests.PreparedRequest:
    prepared = requests.PreparedRequest()
    prepared.prepare(
        method="post", url=url, headers={"A": "b"}, params=params, json=json
    )
    return prepared


@pytest.mark.parametrize(
    "url, params",
    [
        (BASE, None),
        (BASE, {}),
        (BASE, {"recursion": 1, "project": "p 1"}),
        (BASE, {"filter": ["a", "b"], "skipped": None}),
        (BASE + "?recursion=1", {"project": "p"}),
        (BASE + "/a%2Fb", {"path": "/root/x y"}),
        (BASE + "/with space", None),
        (BASE + "#frag", {"x": 1}),
        (BASE, "raw=1"),
    ],
)
def test_prepare_matches_requests(url: str, params: Any) -> None:
    lean = _transport._prepare("post", url, {"A": "b"}, params, None, {"k": [1]})
    reference = _reference(url, params, json={"k": [1]})
    assert (lean.method, lean.url, lean.body) == (
        reference.method,
        reference.url,
        reference.body,
    )
    assert dict(lean.headers) == dict(reference.headers)


def test_session_get_takes_the_lean_path() -> None:
    """``Session.get`` passes ``allow_redirects``: it must not force the slow path."""
    with FakeLXD() as fake:
        client = Client(endpoint=fake.endpoint)  # a session of our own making
        with mock.patch.object(
            requests.Session, "request", side_effect=AssertionError("slow path")
        ):
            assert client.profiles.get("default").name == "default"
            assert client.instances.exists("missing") is False


def test_unusual_arguments_take_requests_full_path() -> None:
    full = requests.Session.request
    calls = []

    def spy(session: requests.Session, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return full(session, *args, **kwargs)

    with FakeLXD() as fake:
        client = Client(endpoint=fake.endpoint)
        with mock.patch.object(requests.Session, "request", spy):
            client.api.profiles.default.get(cookies={"a": "b"})
    assert len(calls) == 1


def _serve_once(
    path: str, body: bytes, head: bytes = b"Content-Type: application/json\r\n"
) -> tuple[threading.Thread, list[bytes]]:
    """A one-connection Unix server answering each request with ``body``
    (after the header lines ``head``)."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn, server:
            while True:
                request = conn.recv(65536)
                if not request:
                    return
                received.append(request)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s"
                    % (head, len(body), body)
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread, received


def test_socket_json_is_parsed_once_and_callers_get_fresh_objects(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "s.sock")
    thread, received = _serve_once(path, b'{"type": "sync", "metadata": {"a": 1}}')
    node = _transport._APINode(_transport.unix_socket_url(path), timeout=5)
    with mock.patch("json.loads", wraps=json.loads) as loads:
        response = node.instances.get()
        first = response.json()
    assert loads.call_count == 1  # the envelope check's parse went to the caller
    first["metadata"]["a"] = 2
    assert response.json() == {"type": "sync", "metadata": {"a": 1}}
    node.session.close()
    thread.join(timeout=5)
    head = received[0].split(b"\r\n\r\n")[0].lower()
    assert b"accept-encoding: identity" in head  # bodies are handed over as sent


def test_socket_answer_is_the_response_requests_would_build(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    head = (
        b"Content-Type: application/json\r\nX-Incus-Name: a\r\n"
        b'x-incus-mode: 0644\r\nX-LXD-mode: 0600\r\nETag: "e1"\r\n'
    )
    thread, _ = _serve_once(path, b'{"type": "sync", "metadata": {}}', head)
    node = _transport._APINode(_transport.unix_socket_url(path), timeout=5)
    response = node.instances.get()
    assert type(response) is _transport._Response
    assert isinstance(response, requests.Response)
    assert (response.status_code, response.reason, response.encoding) == (
        200,
        "OK",
        "utf-8",
    )
    assert response.url == node.instances._api_endpoint
    assert response.request.method == "GET"
    assert (response.history, response.elapsed.total_seconds()) == ([], 0)
    # Incus's names also under LXD's; an LXD name already sent is kept.
    assert dict(response.headers) == {
        "Content-Type": "application/json",
        "X-Incus-Name": "a",
        "x-incus-mode": "0644",
        "X-LXD-mode": "0600",
        "ETag": '"e1"',
        "Content-Length": "32",
        "X-LXD-Name": "a",
    }
    assert response.headers["etag"] == '"e1"'
    # The cookie jar is made on first use, and can be replaced, as requests'.
    assert isinstance(response.cookies, requests.cookies.RequestsCookieJar)
    assert response.cookies is response.cookies and not response.cookies
    response.cookies = requests.cookies.cookiejar_from_dict({"a": "b"})
    assert response.cookies["a"] == "b"
    copy = pickle.loads(pickle.dumps(response))
    assert (copy.json(), copy.cookies["a"]) == (response.json(), "b")
    node.session.close()
    thread.join(timeout=5)


def test_request_headers_are_the_requests_own(tmp_path: Path) -> None:
    """Each request has its own copy of the session's headers."""
    path = str(tmp_path / "s.sock")
    thread, received = _serve_once(path, b'{"type": "sync", "metadata": {}}')
    node = _transport._APINode(_transport.unix_socket_url(path), timeout=5)
    response = node.instances.get()
    response.request.headers["X-Extra"] = "1"
    assert "X-Extra" not in node.session.headers
    node.instances.get(headers={"X-LXD-name": "n"})
    node.session.close()
    thread.join(timeout=5)
    first, second = (r.split(b"\r\n\r\n")[0] for r in received)
    assert b"X-Extra" not in first
    assert b"\r\nUser-Agent: " in first and b"\r\nX-LXD-name: n" in second

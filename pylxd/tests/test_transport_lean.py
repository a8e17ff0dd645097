"""The lean request path of our own sessions builds what requests would build."""

from __future__ import annotations

import json
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


def _serve_once(path: str, body: bytes) -> tuple[threading.Thread, list[bytes]]:
    """A one-connection Unix server answering each request with ``body``."""
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
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
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

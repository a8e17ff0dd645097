"""``Client.close()``, ``with Client()`` and sockets released when a client is dropped.

The socket tests talk to a tiny LXD look-alike in a child process (so the
file descriptors of this process are the client's only) over a Unix socket.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator

import pytest

from pylxd import Client, exceptions
from pylxd.testing import FakeLXD

_SERVER = textwrap.dedent("""
    import json, socketserver, sys
    from http.server import BaseHTTPRequestHandler

    HOST = {"api_extensions": [], "auth": "trusted", "environment": {}}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            path = self.path.split("?")[0]
            meta = HOST if path == "/1.0" else []
            body = json.dumps({"type": "sync", "status_code": 200, "metadata": meta})
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    server = Server(sys.argv[1], Handler)
    print("ready", flush=True)
    server.serve_forever()
    """)


@pytest.fixture
def socket_path(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "lxd.socket")
    child = subprocess.Popen(
        [sys.executable, "-c", _SERVER, path], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        yield path
    finally:
        child.kill()
        child.wait(timeout=30)


def _open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # the listing's own descriptor, gone already
            pass
    return count


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_dropped_clients_release_their_sockets_without_the_cyclic_gc(
    socket_path: str, no_cyclic_gc: None
) -> None:
    before = _open_sockets()
    for _ in range(100):
        client = Client(endpoint=socket_path)
        client.profiles.all()
        client.instances.all()
        del client
    assert _open_sockets() - before == 0


def test_a_client_used_in_one_expression_lives_long_enough(
    socket_path: str, no_cyclic_gc: None
) -> None:
    before = _open_sockets()
    assert Client(endpoint=socket_path).profiles.all() == []
    assert _open_sockets() - before == 0


def test_close_and_with_release_sockets(socket_path: str) -> None:
    before = _open_sockets()
    client = Client(endpoint=socket_path)
    client.profiles.all()
    assert _open_sockets() - before == 1  # one keep-alive connection
    client.close()
    assert _open_sockets() - before == 0
    with Client(endpoint=socket_path) as other:
        other.profiles.all()
        assert _open_sockets() - before == 1
    assert _open_sockets() - before == 0


def test_a_closed_client_refuses_requests_and_sends_none(socket_path: str) -> None:
    client = Client(endpoint=socket_path)
    client.close()
    client.close()  # idempotent
    before = _open_sockets()
    deadline = time.monotonic() + 30
    for call in (client.profiles.all, lambda: client.api.instances["x"].get()):
        with pytest.raises(exceptions.ClientConnectionFailed, match="is closed"):
            call()
    assert time.monotonic() < deadline
    assert _open_sockets() == before


def test_closing_a_client_of_the_fake_sends_nothing_more() -> None:
    fake = FakeLXD()
    with fake.client() as client:
        client.profiles.all()
    sent = len(fake.requests)
    with pytest.raises(exceptions.ClientConnectionFailed, match="is closed"):
        client.instances.get("c1")
    assert len(fake.requests) == sent


def test_a_project_copy_of_a_closed_client_reconnects() -> None:
    fake = FakeLXD()
    client = fake.client()
    client.projects.create("p1")
    scoped = client.with_project("p1")
    client.close()
    assert scoped.profiles.all()[0].name == "default"


def test_patched_manager_attributes_stay_for_that_client_only() -> None:
    fake = FakeLXD()
    client, other = fake.client(), fake.client()
    client.operations.wait_for_operation = "patched"  # type: ignore[assignment]
    assert client.operations.wait_for_operation == "patched"
    assert other.operations.wait_for_operation != "patched"
    assert client.with_project(None).operations.wait_for_operation != "patched"
    del client.operations.wait_for_operation
    assert client.operations.wait_for_operation != "patched"

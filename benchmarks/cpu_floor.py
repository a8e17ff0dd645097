"""Client CPU per small read, without the daemon: pylxd's layers against raw.

Both clients get their answer from a canned HTTP response queued on a
``socketpair`` before each call, so the figures are the client's own CPU (its
syscalls included) with no daemon and no scheduling noise: the tool to use
when profiling the small-read path. Layers: ``raw`` (``http.client`` and
``json.loads``), ``session.get`` (requests' API on our Unix adapter),
``node.get`` (``_APINode``: the envelope check parses the JSON),
``profiles.get`` and ``instances.get`` (manager, model, object), and both
paths of ``exists``.

``python -m benchmarks.cpu_floor`` prints min/median microseconds per call;
``--profile NAME`` prints the cProfile of one case. Needs the local LXD only
to build the client (``Client()`` reads ``/1.0`` once). Not part of the suite.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._raw import RawLXD  # noqa: E402

PROFILE = {
    "name": "default",
    "description": "Default LXD profile",
    "config": {},
    "devices": {
        "eth0": {"name": "eth0", "network": "lxdbr0", "type": "nic"},
        "root": {"path": "/", "pool": "default", "type": "disk"},
    },
    "used_by": ["/1.0/instances/c1"],
    "project": "default",
}

#: An instance as LXD 5.0 describes a stopped container.
INSTANCE = {
    "architecture": "x86_64",
    "config": {
        "image.os": "busybox",
        "volatile.base_image": "9" * 64,
        "volatile.eth0.hwaddr": "00:16:3e:00:00:01",
        "volatile.idmap.base": "0",
    },
    "devices": {},
    "ephemeral": False,
    "profiles": ["default"],
    "stateful": False,
    "description": "",
    "created_at": "2026-12-02T18:00:00.123456789Z",
    "expanded_config": {"image.os": "busybox", "volatile.idmap.base": "0"},
    "expanded_devices": PROFILE["devices"],
    "name": "c1",
    "status": "Stopped",
    "status_code": 102,
    "last_used_at": "1970-01-01T00:00:00Z",
    "location": "none",
    "type": "container",
    "project": "default",
}


def answer(status: str, body: dict[str, Any]) -> bytes:
    """An HTTP/1.1 response as LXD sends it (JSON, Content-Length)."""
    data = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Date: Fri, 27 Nov 2026 07:00:00 GMT\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


OK = answer("200 OK", {"type": "sync", "status": "Success", "metadata": PROFILE})
INSTANCE_OK = answer(
    "200 OK", {"type": "sync", "status": "Success", "metadata": INSTANCE}
)
MISSING = answer(
    "404 Not Found",
    {"type": "error", "error": "Instance not found", "error_code": 404},
)


def _served(server: socket.socket, reply: bytes, call: Callable[[], Any]) -> Any:
    def run() -> None:
        server.sendall(reply)  # queued before the request: no waiting at all
        call()
        server.recv(1 << 20)  # drop the request

    return run


def cases() -> dict[str, Callable[[], None]]:
    """The calls to measure, each on a socketpair with its answer queued."""
    from pylxd import _transport
    from pylxd.client import Client

    # Queued answers make an idle connection look dropped: trust it here.
    _transport._UnixConnection.is_dropped = lambda self: False  # type: ignore
    client = Client()
    adapter = client.api.session.get_adapter("http+unix://")
    conn = next(iter(adapter._idle.values()))[0]  # type: ignore[union-attr]
    ours, ours_server = socket.socketpair()
    conn.sock.close()
    # The transport's own socket class (reads bounded by a whole-answer deadline).
    conn.sock = type(conn.sock)(fileno=ours.detach())
    raw = RawLXD()
    theirs, raw_server = socket.socketpair()
    raw.conn.sock = theirs
    url = client.api.profiles["default"]._api_endpoint
    return {
        "raw": _served(raw_server, OK, lambda: raw.get("/1.0/profiles/default")),
        "session.get": _served(
            ours_server, OK, lambda: client.api.session.get(url, timeout=None)
        ),
        "node.get": _served(
            ours_server, OK, lambda: client.api.profiles["default"].get()
        ),
        "profiles.get": _served(
            ours_server, OK, lambda: client.profiles.get("default")
        ),
        "raw instance": _served(
            raw_server, INSTANCE_OK, lambda: raw.get("/1.0/instances/c1")
        ),
        "instances.get": _served(
            ours_server, INSTANCE_OK, lambda: client.instances.get("c1")
        ),
        "exists (true)": _served(
            ours_server, INSTANCE_OK, lambda: client.instances.exists("c1")
        ),
        "raw 404": _served(raw_server, MISSING, lambda: raw.get("/1.0/instances/x")),
        "exists (false)": _served(
            ours_server, MISSING, lambda: client.instances.exists("x")
        ),
    }


def measure(runs: dict[str, Callable[[], None]], calls: int, rounds: int) -> None:
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.process_time()
            for _ in range(calls):
                run()
            samples[name].append((time.process_time() - started) / calls * 1e6)
    for name, values in samples.items():
        print(
            f"{name:15s} min {min(values):6.1f} us   "
            f"median {statistics.median(values):6.1f} us CPU per call"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", help="print the cProfile of this case")
    args = parser.parse_args(argv)
    runs = cases()
    if args.profile:
        run = runs[args.profile]
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [run() for _ in range(args.calls)])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return 0
    measure(runs, args.calls, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

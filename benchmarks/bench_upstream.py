"""Upstream pylxd 2.4.2 against the same raw client, for the record.

Runs only when ``PYLXD_BENCH_UPSTREAM`` names a directory holding pylxd 2.4.2
(e.g. ``pip install --no-deps --target DIR pylxd==2.4.2``; its dependencies
are ours). The measurements run in a fresh interpreter that imports pylxd from
that directory: small reads against the raw client (interleaved, medians),
and the requests and Unix-socket connections of a few calls. The same counts
are taken for our pylxd in the scenario's own process.

``python -m benchmarks --only bench_upstream`` runs it in the suite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._raw import RawLXD  # noqa: E402
from benchmarks.run import interleave, reps  # noqa: E402

UPSTREAM = os.environ.get("PYLXD_BENCH_UPSTREAM")
CALLS = 20


class _Wire:
    """Count HTTP requests (``http.client`` under any adapter) and connects."""

    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0
        self._lock = threading.Lock()

    def count(self, attribute: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                setattr(self, attribute, getattr(self, attribute) + 1)
            return original(*args, **kwargs)

        return counted

    def __enter__(self) -> _Wire:
        self._saved = (http.client.HTTPConnection.putrequest, socket.socket.connect)
        http.client.HTTPConnection.putrequest = self.count(  # type: ignore
            "requests", http.client.HTTPConnection.putrequest
        )
        socket.socket.connect = self.count(  # type: ignore[method-assign]
            "connections", socket.socket.connect
        )
        return self

    def __exit__(self, *exc: object) -> None:
        http.client.HTTPConnection.putrequest, socket.socket.connect = (  # type: ignore
            self._saved
        )


def _counts(client: Any) -> dict[str, Any]:
    """Requests and connections of small reads and of listing + one field each."""
    found: dict[str, Any] = {}
    with _Wire() as wire:
        for _ in range(CALLS):
            client.profiles.get("default")
    found[f"{CALLS} x profiles.get"] = (
        f"{wire.requests} requests, {wire.connections} new connections"
    )
    with _Wire() as wire:
        count = len([i.status for i in client.instances.all()])
    found["instances.all() + .status of each"] = (
        f"{count} instances, {wire.requests} requests"
    )
    return found


def _ours() -> dict[str, Any]:
    from pylxd import Client

    return {f"ours: {k}": v for k, v in _counts(Client()).items()}


def child() -> dict[str, Any]:
    """In an interpreter importing pylxd 2.4.2: tables and counts."""
    from pylxd import Client

    client, raw = Client(), RawLXD()
    table = interleave(
        {
            "pylxd 2.4.2": lambda: client.profiles.get("default"),
            "raw": lambda: raw.get("/1.0/profiles/default"),
        },
        reps(200, 20),
    )
    missing = interleave(
        {
            "pylxd 2.4.2": lambda: client.instances.exists("bench-missing"),
            "raw": lambda: raw.get("/1.0/instances/bench-missing"),
        },
        reps(200, 20),
    )
    counts = {f"upstream: {k}": v for k, v in _counts(client).items()}
    return {
        "tables": {
            "upstream profiles.get": table,
            "upstream exists (false)": missing,
        },
        "requests": counts,
    }


def _spawn() -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=f"{UPSTREAM}{os.pathsep}{ROOT}")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_upstream", "--child"],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"upstream child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run() -> dict[str, Any]:
    """The suite's entry point (a note only, without ``PYLXD_BENCH_UPSTREAM``)."""
    if not UPSTREAM:
        return {"notes": ["skipped: set PYLXD_BENCH_UPSTREAM=<dir with pylxd 2.4.2>"]}
    result = _spawn()
    result["requests"].update(_ours())
    result["notes"] = [
        "pylxd 2.4.2 imported from PYLXD_BENCH_UPSTREAM in a fresh interpreter; "
        "ours is counted in this process with the same hooks"
    ]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child()))
        return 0
    from benchmarks.run import render

    print(render({"bench_upstream": run()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

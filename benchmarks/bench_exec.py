"""Benchmark ``Instance.execute`` against a raw, minimal websocket client.

Both run over the Unix socket of the local LXD, in the same busybox container:

* ``true``: the round trip of a command that does nothing (interleaved, medians);
* 50 MB of stdout (5 MB with ``--quick``): wall time, CPU time and peak RSS
  growth, buffered (``decode=False``) and with a handler that drops the
  chunks, each run in a fresh process.

The raw client (:class:`RawExec`) is the floor: ``benchmarks._raw.RawLXD``
(``http.client`` over AF_UNIX) for the two HTTP calls (``POST exec``,
``GET /wait``), ``RawWebsocket`` handshakes and a hand-written RFC 6455 frame
reader over plain sockets, one ``selectors`` loop, no threads.

``python -m benchmarks --only bench_exec`` runs it in the suite;
``python -m benchmarks.bench_exec`` alone (creates and deletes a container
named ``pylxd-bench-exec-<random>``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import selectors
import socket
import statistics
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._raw import DEFAULT_SOCKET, RawLXD, RawWebsocket  # noqa: E402
from benchmarks.run import interleave, reps  # noqa: E402

QUICK = os.environ.get("PYLXD_BENCH_QUICK") == "1"
IMAGE = os.environ.get("PYLXD_BENCH_IMAGE", "busybox")
#: Bytes of stdout: 50 MB (5 MB with ``--quick``).
BIG = (5 if QUICK else 50) * 1000 * 1000
BIG_COMMAND = ["head", "-c", str(BIG), "/dev/zero"]


# -- the raw client ------------------------------------------------------------
class RawExec:
    """The least a client must do to run a command through LXD's exec API."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.http = RawLXD(socket_path)

    @staticmethod
    def _send_frame(sock: socket.socket, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        sock.sendall(header + mask + masked)

    def run(
        self, container: str, command: list[str], sink: Callable[[int, bytes], None]
    ) -> int:
        """Run ``command``; give every output chunk to ``sink``; return the exit code."""
        answer = self.http.request(
            "POST",
            f"/1.0/instances/{container}/exec",
            {
                "command": command,
                "environment": {},
                "interactive": False,
                "wait-for-websocket": True,
            },
        )
        op_id = answer["operation"].rsplit("/", 1)[-1]
        fds = answer["metadata"]["metadata"]["fds"]
        base = f"/1.0/operations/{op_id}/websocket?secret="
        outputs = {
            RawWebsocket(self.socket_path, base + fds[fd]): int(fd) for fd in ("1", "2")
        }
        stdin = RawWebsocket(self.socket_path, base + fds["0"])
        self._send_frame(stdin.sock, 0x1, b"")  # end of input
        self._read_outputs(outputs, sink)
        stdin.close()
        result = self.http.wait(f"/1.0/operations/{op_id}")
        return int(result["metadata"]["metadata"]["return"])

    @staticmethod
    def _read_outputs(
        outputs: dict[RawWebsocket, int], sink: Callable[[int, bytes], None]
    ) -> None:
        selector = selectors.DefaultSelector()
        readers = {}
        for ws, fd in outputs.items():
            reader = _FrameReader(ws.sock, fd, sink, ws._buffer)
            if reader.consume():
                readers[ws.sock] = reader
                selector.register(ws.sock, selectors.EVENT_READ)
            else:
                ws.close()
        while readers:
            for key, _ in selector.select():
                reader = readers[key.fileobj]  # type: ignore[index]
                if not reader.feed():
                    selector.unregister(key.fileobj)
                    key.fileobj.close()  # type: ignore[union-attr]
                    del readers[key.fileobj]  # type: ignore[arg-type]


class _FrameReader:
    """Parse server frames (unmasked) from one socket; stop at the empty message."""

    def __init__(
        self,
        sock: socket.socket,
        fd: int,
        sink: Callable[[int, bytes], None],
        pending: bytes = b"",
    ) -> None:
        self.sock, self.fd, self.sink = sock, fd, sink
        self.buf = bytearray(pending)  # bytes read along with the handshake

    def feed(self) -> bool:
        """Read from the socket; False once the stream has ended."""
        try:
            data = self.sock.recv(262144)
        except (ConnectionResetError, BrokenPipeError):
            return False
        if not data:
            return False
        self.buf += data
        return self.consume()

    def consume(self) -> bool:
        """Hand the complete frames buffered to the sink; False at the end."""
        while True:
            frame = self._frame()
            if frame is None:
                return True
            opcode, payload = frame
            if opcode == 0x8 or not payload:
                return False
            self.sink(self.fd, payload)

    def _frame(self) -> tuple[int, bytes] | None:
        buf = self.buf
        if len(buf) < 2:
            return None
        opcode, length, start = buf[0] & 0x0F, buf[1] & 0x7F, 2
        if length == 126:
            if len(buf) < 4:
                return None
            length, start = struct.unpack_from("!H", buf, 2)[0], 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length, start = struct.unpack_from("!Q", buf, 2)[0], 10
        if len(buf) < start + length:
            return None
        payload = bytes(buf[start : start + length])
        del buf[: start + length]
        return opcode, payload


# -- measuring -------------------------------------------------------------------
def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _big_case(mode: str, container: str) -> Callable[[], Any]:
    """Connect for ``mode`` (warm: one ``true`` first); return the timed call."""
    if mode.startswith("raw"):
        raw = RawExec(DEFAULT_SOCKET)
        raw.run(container, ["true"], lambda fd, c: None)
        if mode == "raw buffered":

            def buffered() -> Any:
                chunks: list[bytes] = []
                raw.run(container, BIG_COMMAND, lambda fd, c: chunks.append(c))
                return b"".join(chunks)

            return buffered
        return lambda: raw.run(container, BIG_COMMAND, lambda fd, c: None)
    from pylxd import Client

    instance = Client(endpoint=DEFAULT_SOCKET).instances.get(container)
    instance.execute(["true"])
    if mode == "pylxd buffered":
        return lambda: instance.execute(BIG_COMMAND, decode=False)
    return lambda: instance.execute(
        BIG_COMMAND, decode=False, stdout_handler=lambda c: None
    )


def child(mode: str, container: str) -> dict[str, float]:
    """Measure one big-output case in this (fresh) process."""
    call = _big_case(mode, container)
    rss, cpu, wall = _maxrss_mib(), time.process_time(), time.perf_counter()
    result = call()
    numbers = {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "rss_growth_mib": _maxrss_mib() - rss,
    }
    del result
    return numbers


def spawn(mode: str, container: str) -> dict[str, float]:
    """Run :func:`child` in a fresh interpreter (peak RSS is per process)."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_exec", "--child", mode]
        + ["--container", container],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"benchmark child {mode!r} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def summarise(runs: list[dict[str, float]]) -> dict[str, float]:
    wall = statistics.median(r["wall_s"] for r in runs)
    return {
        "wall_ms": wall * 1000,
        "cpu_ms": statistics.median(r["cpu_s"] for r in runs) * 1000,
        "mb_per_s": BIG / wall / 1e6,
        "rss_growth_mib": max(r["rss_growth_mib"] for r in runs),
    }


def measure_big(container: str, kind: str) -> dict[str, dict[str, float]]:
    """pylxd and raw, interleaved, each run in a fresh process."""
    runs: dict[str, list[dict[str, float]]] = {"pylxd": [], "raw": []}
    for _ in range(reps(5, 1)):
        for name in runs:
            runs[name].append(spawn(f"{name} {kind}", container))
    return {name: summarise(samples) for name, samples in runs.items()}


# -- the container ---------------------------------------------------------------
def start_container(raw: RawLXD) -> str:
    name = f"pylxd-bench-exec-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "source": {"type": "image", "alias": IMAGE}}
    for method, url, payload in (
        ("POST", "/1.0/instances", body),
        ("PUT", f"/1.0/instances/{name}/state", {"action": "start"}),
    ):
        result = raw.wait(raw.request(method, url, payload)["operation"])
        if result["metadata"]["status"] != "Success":
            raise RuntimeError(f"cannot set up {name}: {result['metadata']['err']}")
    return name


def delete_container(raw: RawLXD, name: str) -> None:
    stop = {"action": "stop", "force": True}
    answer = raw.request("PUT", f"/1.0/instances/{name}/state", stop)
    if answer and answer.get("operation"):
        raw.wait(answer["operation"])
    answer = raw.request("DELETE", f"/1.0/instances/{name}")
    if answer and answer.get("operation"):
        raw.wait(answer["operation"])


# -- the scenario ------------------------------------------------------------------
def run() -> dict[str, Any]:
    """The suite's entry point: tables (``raw`` is the baseline) and notes."""
    from pylxd import Client

    raw = RawLXD(DEFAULT_SOCKET)
    container = start_container(raw)
    try:
        instance = Client(endpoint=DEFAULT_SOCKET).instances.get(container)
        floor = RawExec(DEFAULT_SOCKET)
        tables = {
            "exec `true` round trip": interleave(
                {
                    "pylxd": lambda: instance.execute(["true"]),
                    "raw": lambda: floor.run(container, ["true"], lambda fd, c: None),
                },
                reps(30, 5),
            )
        }
        label = f"{BIG / 1e6:.0f} MB"
        for kind in ("buffered", "handler"):
            tables[f"exec {label} of stdout, {kind}"] = measure_big(container, kind)
    finally:
        delete_container(raw, container)
        raw.close()
    notes = [
        "buffered: execute(decode=False) / raw joins the chunks; handler: "
        "stdout_handler drops the chunks / raw drops them"
    ] + [
        f"{title} {name}: {stats['mb_per_s']:.0f} MB/s, "
        f"peak RSS growth {stats['rss_growth_mib']:.1f} MiB"
        for title, table in tables.items()
        if "stdout" in title
        for name, stats in table.items()
    ]
    return {"tables": tables, "notes": notes}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark alone and print the report (or one child case)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--container", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.container)))
        return 0
    from benchmarks.run import render

    print(render({"bench_exec": run()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark ``Instance.execute`` against a raw, minimal websocket client.

Both run over the Unix socket of the local LXD, in the same busybox container:

* ``true``: the round trip of a command that does nothing (median of N);
* 50 MB of stdout: wall time, CPU time and peak RSS growth, buffered
  (``decode=False``) and with a handler that drops the chunks.

The raw client (:class:`RawExec`) is the floor: ``http.client`` over AF_UNIX
for the two HTTP calls (``POST exec``, ``GET /wait``) and a hand-written
RFC 6455 frame reader over plain sockets, one ``selectors`` loop, no threads.

Run: ``python benchmarks/bench_exec.py [--socket PATH] [--runs N]``
(creates and deletes a container named ``pylxd-bench-<random>``).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import resource
import selectors
import socket
import statistics
import struct
import sys
import time
import uuid
from typing import Any, Callable

BIG = 50 * 1000 * 1000
BIG_COMMAND = ["head", "-c", str(BIG), "/dev/zero"]


# -- the raw client ------------------------------------------------------------
class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


class RawExec:
    """The least a client must do to run a command through LXD's exec API."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.http = _UnixHTTPConnection(socket_path)

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        self.http.request(method, path, body=data, headers=headers)
        return json.loads(self.http.getresponse().read())

    def _websocket(self, resource_path: str) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.socket_path)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET {resource_path} HTTP/1.1\r\nHost: localhost\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)
            if not chunk:
                raise ConnectionError("websocket handshake failed")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.decode(errors="replace"))
        return sock

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
        answer = self._request(
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
        outputs = {self._websocket(base + fds[fd]): int(fd) for fd in ("1", "2")}
        stdin = self._websocket(base + fds["0"])
        self._send_frame(stdin, 0x1, b"")  # end of input
        self._read_outputs(outputs, sink)
        stdin.close()
        result = self._request("GET", f"/1.0/operations/{op_id}/wait")
        return int(result["metadata"]["metadata"]["return"])

    @staticmethod
    def _read_outputs(
        outputs: dict[socket.socket, int], sink: Callable[[int, bytes], None]
    ) -> None:
        selector = selectors.DefaultSelector()
        readers = {}
        for sock, fd in outputs.items():
            readers[sock] = _FrameReader(sock, fd, sink)
            selector.register(sock, selectors.EVENT_READ)
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
        self, sock: socket.socket, fd: int, sink: Callable[[int, bytes], None]
    ) -> None:
        self.sock, self.fd, self.sink = sock, fd, sink
        self.buf = bytearray()

    def feed(self) -> bool:
        try:
            data = self.sock.recv(262144)
        except (ConnectionResetError, BrokenPipeError):
            return False
        if not data:
            return False
        self.buf += data
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
def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _round_trips(runs: int, **clients: Callable[[], Any]) -> dict[str, float]:
    """Median seconds per call of each client, calls interleaved (fair under load)."""
    times: dict[str, list[float]] = {name: [] for name in clients}
    for run in clients.values():
        run()  # warm up (connections, imports, TLS contexts)
    for _ in range(runs):
        for name, run in clients.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def _measure_big(run: Callable[[], Any]) -> dict[str, float]:
    rss, cpu, wall = _maxrss_bytes(), _cpu(), time.perf_counter()
    result = run()
    numbers = {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": _cpu() - cpu,
        "rss_growth_x": (_maxrss_bytes() - rss) / BIG,
    }
    del result
    return numbers


def _child(mode: str, socket_path: str, container: str) -> None:
    """Measure one 50 MB case in a fresh process (peak RSS is per process)."""
    if mode.startswith("raw"):
        raw = RawExec(socket_path)
        if mode == "raw-buffered":

            def run() -> Any:
                chunks: list[bytes] = []
                raw.run(container, BIG_COMMAND, lambda fd, c: chunks.append(c))
                return b"".join(chunks)

        else:

            def run() -> Any:
                return raw.run(container, BIG_COMMAND, lambda fd, c: None)

        raw.run(container, ["true"], lambda fd, c: None)
    else:
        from pylxd import Client

        instance = Client(endpoint=socket_path).instances.get(container)
        instance.execute(["true"])
        if mode == "pylxd-buffered":

            def run() -> Any:
                return instance.execute(BIG_COMMAND, decode=False)

        else:

            def run() -> Any:
                return instance.execute(
                    BIG_COMMAND, decode=False, stdout_handler=lambda c: None
                )

    json.dump(_measure_big(run), sys.stdout)


def _in_child(mode: str, socket_path: str, container: str) -> dict[str, float]:
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--socket",
            socket_path,
            "--container",
            container,
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"benchmark child {mode} failed:\n{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _with_container(socket_path: str, body: Callable[[str], None]) -> None:
    from pylxd import Client

    client = Client(endpoint=socket_path)
    name = f"pylxd-bench-{uuid.uuid4().hex[:8]}"
    response = client.api.instances.post(
        json={"name": name, "source": {"type": "image", "alias": "busybox"}}
    )
    client.operations.wait_for_operation(response.json()["operation"], timeout=120)
    try:
        response = client.api.instances[name].state.put(json={"action": "start"})
        client.operations.wait_for_operation(response.json()["operation"], timeout=120)
        body(name)
    finally:
        response = client.api.instances[name].state.put(
            json={"action": "stop", "force": True}
        )
        client.operations.wait_for_operation(response.json()["operation"], timeout=120)
        response = client.api.instances[name].delete()
        client.operations.wait_for_operation(response.json()["operation"], timeout=120)


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark results as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", default="/var/lib/lxd/unix.socket")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--container", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.socket, args.container)
        return

    def bench(container: str) -> None:
        from pylxd import Client

        instance = Client(endpoint=args.socket).instances.get(container)
        raw = RawExec(args.socket)
        medians = _round_trips(
            args.runs,
            raw=lambda: raw.run(container, ["true"], lambda fd, c: None),
            pylxd=lambda: instance.execute(["true"]),
        )
        print(
            json.dumps(
                {
                    "case": "true",
                    "raw_ms": round(medians["raw"] * 1000, 2),
                    "pylxd_ms": round(medians["pylxd"] * 1000, 2),
                    "ratio": round(medians["pylxd"] / medians["raw"], 2),
                }
            )
        )
        for mode in ("buffered", "handler"):
            raw_big = _in_child(f"raw-{mode}", args.socket, container)
            ours_big = _in_child(f"pylxd-{mode}", args.socket, container)
            print(
                json.dumps(
                    {
                        "case": f"50MB-{mode}",
                        "raw": raw_big,
                        "pylxd": ours_big,
                        "cpu_ratio": round(ours_big["cpu_s"] / raw_big["cpu_s"], 2),
                    }
                )
            )

    _with_container(args.socket, bench)


if __name__ == "__main__":
    main()

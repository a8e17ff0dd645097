"""Instance files: pylxd's streaming transfers against a raw AF_UNIX client.

``python -m benchmarks.bench_files`` (standalone, prints a Markdown report) or
through the suite (``run()``). Needs the daemon set up by
``integration/lxd-env setup``; a throw-away busybox container is created and
deleted.

Every transfer runs in a fresh process so that its peak RSS growth (peak
``ru_maxrss`` after the operation minus the peak before it) is its own.
Candidates are interleaved; the figures are medians.

Candidates:

- ``raw``: stdlib ``http.client`` over one AF_UNIX connection, 1 MiB reads and
  writes (``benchmarks._raw.RawLXD``): the floor.
- ``put`` / ``get_to``: ``instance.files.put(path, fileobj)`` (chunked
  streaming upload) and ``instance.files.get_to(path, fileobj)``.
- ``get``: ``instance.files.get(path)`` returning ``bytes`` (one buffer).
- ``requests .content``: what pylxd 2.4.2 does (``response.content``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any, Callable
from urllib import parse

from benchmarks._raw import DEFAULT_SOCKET, RawLXD

QUICK = os.environ.get("PYLXD_BENCH_QUICK") == "1"
MiB = 1 << 20
IMAGE = os.environ.get("PYLXD_BENCH_IMAGE", "busybox")
WORKDIR = os.environ.get("PYLXD_BENCH_TMP", "/var/tmp")

GET_CASES = ("raw get", "get_to", "get", "requests .content")
PUT_CASES = ("raw put", "put")


def sizes() -> list[int]:
    """Transfer sizes in bytes: 100 MB and 1 GB (16 MiB when quick)."""
    return [16 * MiB] if QUICK else [100 * 1000 * 1000, 1000 * 1000 * 1000]


def rounds(size: int) -> int:
    return 1 if QUICK else (3 if size <= 200 * MiB else 2)


# -- the operations, each run in a child process ----------------------------------
def _files_url(instance: str, path: str) -> str:
    return f"/1.0/instances/{instance}/files?" + parse.urlencode({"path": path})


def _our_files(instance: str) -> Any:
    from pylxd import Client

    return Client(endpoint=DEFAULT_SOCKET).instances.get(instance).files


def _prepare(case: str, instance: str, remote: str, local: str) -> Callable[[], int]:
    """Connect and set up everything ``case`` needs; return the timed call."""
    if case == "raw get":
        raw = RawLXD(DEFAULT_SOCKET)
        raw.get("/1.0")
        sink = open(os.devnull, "wb")
        return lambda: raw.stream_get(_files_url(instance, remote), sink)
    if case == "raw put":
        raw = RawLXD(DEFAULT_SOCKET)
        raw.get("/1.0")
        size = os.path.getsize(local)
        headers = {"Content-Type": "application/octet-stream"}

        def raw_put() -> int:
            with open(local, "rb") as source:
                raw.put_stream(_files_url(instance, remote), source, size, headers)
            return size

        return raw_put
    files = _our_files(instance)
    if case == "get_to":
        sink = open(os.devnull, "wb")
        return lambda: files.get_to(remote, sink)  # type: ignore[no-any-return]
    if case == "get":
        return lambda: len(files.get(remote))
    if case == "requests .content":
        node = files._endpoint
        return lambda: len(node.get(params={"path": remote}).content)
    return _prepare_put(files, remote, local)


def _prepare_put(files: Any, remote: str, local: str) -> Callable[[], int]:
    def put() -> int:
        with open(local, "rb") as source:
            files.put(remote, source)
        return os.path.getsize(local)

    return put


def child(case: str, instance: str, remote: str, local: str) -> dict[str, float]:
    """Run one transfer in this process; return its time and RSS growth."""
    call = _prepare(case, instance, remote, local)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    moved = call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "bytes": moved,
        "rss_growth_mib": (peak - before) / 1024,
    }


def spawn(case: str, instance: str, remote: str, local: str) -> dict[str, float]:
    """Run :func:`child` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_files", "--child", case]
        + ["--instance", instance, "--remote", remote, "--local", local],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{case} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- setup -----------------------------------------------------------------------------
def make_source(size: int) -> str:
    """A local file of ``size`` bytes (1 MiB of random data, repeated)."""
    path = os.path.join(WORKDIR, f"pylxd-bench-{uuid.uuid4().hex[:8]}.bin")
    block = os.urandom(MiB)
    with open(path, "wb") as out:
        for start in range(0, size, MiB):
            out.write(block[: min(MiB, size - start)])
    return path


def create_instance(raw: RawLXD) -> str:
    name = f"pylxd-bench-files-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "source": {"type": "image", "alias": IMAGE}}
    answer = raw.request("POST", "/1.0/instances", body)
    result = raw.wait(answer["operation"])
    if result["metadata"]["status"] != "Success":
        raise RuntimeError(f"cannot create {name}: {result['metadata']['err']}")
    return name


def delete_instance(raw: RawLXD, name: str) -> None:
    answer = raw.request("DELETE", f"/1.0/instances/{name}")
    if answer and answer.get("operation"):
        raw.wait(answer["operation"])


# -- the scenario -----------------------------------------------------------------------
def measure(instance: str, size: int) -> dict[str, dict[str, list[dict[str, float]]]]:
    """All candidates for one size, interleaved; raw samples per candidate."""
    local = make_source(size)
    remote = "/root/bench.bin"
    samples: dict[str, dict[str, list[dict[str, float]]]] = {"put": {}, "get": {}}
    try:
        for _ in range(rounds(size)):
            for case in PUT_CASES:
                samples["put"].setdefault(case, []).append(
                    spawn(case, instance, remote, local)
                )
            for case in GET_CASES:
                samples["get"].setdefault(case, []).append(
                    spawn(case, instance, remote, local)
                )
    finally:
        os.unlink(local)
    return samples


def summarise(runs: list[dict[str, float]]) -> dict[str, float]:
    wall = statistics.median(r["wall_s"] for r in runs)
    return {
        "wall_ms": wall * 1000,
        "cpu_ms": statistics.median(r["cpu_s"] for r in runs) * 1000,
        "mb_per_s": runs[0]["bytes"] / wall / 1e6,
        "rss_growth_mib": max(r["rss_growth_mib"] for r in runs),
    }


def run() -> dict[str, Any]:
    """The suite's entry point: tables (``raw`` is the baseline) and notes."""
    raw = RawLXD(DEFAULT_SOCKET)
    instance = create_instance(raw)
    tables: dict[str, dict[str, dict[str, float]]] = {}
    notes: list[str] = []
    try:
        for size in sizes():
            label = f"{size / 1e6:.0f} MB"
            for kind, by_case in measure(instance, size).items():
                table = {
                    ("raw" if c.startswith("raw") else c): summarise(r)
                    for c, r in by_case.items()
                }
                tables[f"files {kind} {label}"] = table
                notes += [
                    f"files {kind} {label} {c}: {s['mb_per_s']:.0f} MB/s, "
                    f"peak RSS growth {s['rss_growth_mib']:.1f} MiB"
                    for c, s in table.items()
                ]
    finally:
        delete_instance(raw, instance)
        raw.close()
    return {"tables": tables, "notes": notes}


def render(result: dict[str, Any]) -> str:
    lines = ["# Instance files: pylxd vs raw AF_UNIX", ""]
    for title, table in result["tables"].items():
        base = table["raw"]
        lines += [
            f"## {title}",
            "",
            "| candidate | MB/s | vs raw | wall ms | cpu ms | peak RSS growth MiB |",
            "|---|---|---|---|---|---|",
        ]
        for cand, s in table.items():
            lines.append(
                f"| {cand} | {s['mb_per_s']:.0f} | {s['mb_per_s'] / base['mb_per_s']:.2f} "
                f"| {s['wall_ms']:.0f} | {s['cpu_ms']:.0f} | {s['rss_growth_mib']:.1f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_files", description=__doc__
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    parser.add_argument("--remote", help=argparse.SUPPRESS)
    parser.add_argument("--local", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="16 MiB, one round")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.instance, args.remote, args.local)))
        return 0
    if args.quick:
        global QUICK
        QUICK = True
        os.environ["PYLXD_BENCH_QUICK"] = "1"
    print(render(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

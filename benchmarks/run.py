"""The benchmark suite: pylxd side by side with a minimal raw client.

Run ``python -m benchmarks`` (as a user who can reach the LXD socket; the
daemon set up by ``integration/lxd-env setup``). Each scenario runs in its own
process so that its peak RSS is its own. Candidates are interleaved, results
are medians, and ratios to the raw client are what counts: the machine is noisy.

``python -m benchmarks --quick`` runs every scenario with few repetitions (the
smoke test uses it); ``--only NAME`` runs one scenario.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, Callable, Iterator

from benchmarks._raw import DEFAULT_SOCKET, RawLXD

QUICK = os.environ.get("PYLXD_BENCH_QUICK") == "1"
IMAGE = os.environ.get("PYLXD_BENCH_IMAGE", "busybox")


def reps(full: int, quick: int = 3) -> int:
    return quick if QUICK else full


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def interleave(
    candidates: dict[str, Callable[[], Any]], rounds: int
) -> dict[str, dict[str, float]]:
    """Run the candidates in turn ``rounds`` times; median wall/CPU in ms."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in candidates}
    for fn in candidates.values():
        fn()  # warm up connections and caches
    for _ in range(rounds):
        for name, fn in candidates.items():
            samples[name].append(timed(fn))
    return {
        name: {
            "wall_ms": statistics.median(w for w, _ in runs) * 1000,
            "cpu_ms": statistics.median(c for _, c in runs) * 1000,
        }
        for name, runs in samples.items()
    }


class Counter:
    """Count the requests and new connections a pylxd client makes."""

    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def attach(self) -> Iterator[Counter]:
        from pylxd import _transport

        original_send = _transport._UnixAdapter.send
        original_new = _transport._UnixAdapter._new_conn
        counter = self

        def send(adapter: Any, *args: Any, **kwargs: Any) -> Any:
            with counter._lock:
                counter.requests += 1
            return original_send(adapter, *args, **kwargs)

        def new_conn(adapter: Any, *args: Any) -> Any:
            with counter._lock:
                counter.connections += 1
            return original_new(adapter, *args)

        _transport._UnixAdapter.send = send  # type: ignore[method-assign]
        _transport._UnixAdapter._new_conn = new_conn  # type: ignore[method-assign]
        try:
            yield self
        finally:
            _transport._UnixAdapter.send = original_send  # type: ignore[method-assign]
            _transport._UnixAdapter._new_conn = original_new  # type: ignore[method-assign]


def _create_empty(raw: RawLXD, name: str) -> None:
    op = raw.request(
        "POST", "/1.0/instances", {"name": name, "source": {"type": "none"}}
    )
    raw.wait(op["operation"])


def _delete(raw: RawLXD, name: str) -> None:
    op = raw.request("DELETE", f"/1.0/instances/{name}")
    if op and op.get("operation"):
        raw.wait(op["operation"])


# -- scenarios ---------------------------------------------------------------
def scenario_small_reads() -> dict[str, Any]:
    from pylxd import Client

    raw = RawLXD()
    name = f"bench-{uuid.uuid4().hex[:6]}"
    _create_empty(raw, name)
    try:
        client = Client()
        rounds = reps(200, 20)
        results = {
            "instances.get": interleave(
                {
                    "pylxd": lambda: client.instances.get(name),
                    "raw": lambda: raw.get(f"/1.0/instances/{name}"),
                },
                rounds,
            ),
            "profiles.get": interleave(
                {
                    "pylxd": lambda: client.profiles.get("default"),
                    "raw": lambda: raw.get("/1.0/profiles/default"),
                },
                rounds,
            ),
            "exists (true)": interleave(
                {
                    "pylxd": lambda: client.instances.exists(name),
                    "raw": lambda: raw.get(f"/1.0/instances/{name}"),
                },
                rounds,
            ),
            "exists (false)": interleave(
                {
                    "pylxd": lambda: client.instances.exists("bench-missing"),
                    "raw": lambda: raw.get("/1.0/instances/bench-missing"),
                },
                rounds,
            ),
            "fresh Client().host_info": interleave(
                {
                    "pylxd": lambda: Client().host_info,
                    "raw": lambda: RawLXD().get("/1.0"),
                },
                reps(50, 10),
            ),
        }
    finally:
        _delete(raw, name)
    return {"tables": results}


def scenario_listing() -> dict[str, Any]:
    from pylxd import Client

    raw = RawLXD()
    n = reps(50, 10)
    names = [f"bench-{uuid.uuid4().hex[:6]}" for _ in range(n)]
    for name in names:
        _create_empty(raw, name)
    try:
        client = Client()
        counter = Counter()
        with counter.attach():
            statuses = [i.status for i in client.instances.all()]
        assert len(statuses) >= n
        table = interleave(
            {
                "pylxd": lambda: [i.status for i in client.instances.all()],
                "raw": lambda: [
                    i["status"]
                    for i in raw.get("/1.0/instances?recursion=1")["metadata"]
                ],
            },
            reps(30, 5),
        )
    finally:
        for name in names:
            _delete(raw, name)
    return {
        "tables": {f"all() + .status of {n} instances": table},
        "requests": {"pylxd listing requests": counter.requests},
    }


def scenario_lifecycle() -> dict[str, Any]:
    from pylxd import Client

    client = Client()
    raw = RawLXD()

    def ours() -> None:
        name = f"bench-{uuid.uuid4().hex[:6]}"
        inst = client.instances.create(
            {"name": name, "source": {"type": "image", "alias": IMAGE}}, wait=True
        )
        inst.start(wait=True)
        inst.stop(force=True, wait=True)
        inst.delete(wait=True)

    def theirs() -> None:
        name = f"bench-{uuid.uuid4().hex[:6]}"
        raw.wait(
            raw.request(
                "POST",
                "/1.0/instances",
                {"name": name, "source": {"type": "image", "alias": IMAGE}},
            )["operation"]
        )
        for action in ("start", "stop"):
            body = {"action": action, "force": True, "timeout": 30}
            raw.wait(
                raw.request("PUT", f"/1.0/instances/{name}/state", body)["operation"]
            )
        raw.wait(raw.request("DELETE", f"/1.0/instances/{name}")["operation"])

    counter = Counter()
    with counter.attach():
        ours()
    before = raw.requests
    theirs()
    table = interleave({"pylxd": ours, "raw": theirs}, reps(5, 1))
    return {
        "tables": {"create/start/stop/delete": table},
        "requests": {
            "pylxd cycle requests": counter.requests,
            "raw cycle requests": raw.requests - before,
        },
    }


def scenario_threads() -> dict[str, Any]:
    from pylxd import Client

    client = Client()
    counter = Counter()
    errors: list[str] = []
    calls = reps(50, 10)

    def work() -> None:
        for _ in range(calls):
            try:
                client.profiles.get("default")
            except Exception as err:  # noqa: BLE001 - counted and reported
                errors.append(repr(err))

    with counter.attach():
        started = time.perf_counter()
        threads = [threading.Thread(target=work) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    return {
        "requests": {
            "threads": 20,
            "calls": 20 * calls,
            "errors": len(errors),
            "connections opened": counter.connections,
            "wall_ms": round(wall * 1000, 1),
        }
    }


def scenario_import() -> dict[str, Any]:
    code_import = (
        "import time; t=time.perf_counter(); import pylxd; print(time.perf_counter()-t)"
    )
    code_client = (
        "import time; from pylxd import Client; t=time.process_time(); "
        "Client(); print(time.process_time()-t)"
    )
    code_requests = "import time; t=time.perf_counter(); import requests; print(time.perf_counter()-t)"

    def run(code: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        return float(out.stdout.strip()) * 1000

    n = reps(15, 3)
    return {
        "requests": {
            "import pylxd (ms, median)": round(
                statistics.median(run(code_import) for _ in range(n)), 2
            ),
            "import requests alone (ms, median)": round(
                statistics.median(run(code_requests) for _ in range(n)), 2
            ),
            "first Client() CPU (ms, median)": round(
                statistics.median(run(code_client) for _ in range(n)), 2
            ),
        }
    }


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    "small_reads": scenario_small_reads,
    "listing": scenario_listing,
    "lifecycle": scenario_lifecycle,
    "threads": scenario_threads,
    "import": scenario_import,
}

#: Scenario modules kept in their own files (each has ``run() -> dict``).
EXTERNAL = ("bench_exec", "bench_files", "bench_images", "bench_events")


def run_one(name: str) -> dict[str, Any]:
    """Run scenario ``name`` in this process and add its peak RSS."""
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if name in SCENARIOS:
        result = SCENARIOS[name]()
    else:
        import importlib

        result = importlib.import_module(f"benchmarks.{name}").run()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_rss_mib"] = round(peak / 1024, 1)
    result["rss_growth_mib"] = round((peak - baseline) / 1024, 1)
    return result


def available() -> list[str]:
    here = os.path.dirname(__file__)
    extra = [m for m in EXTERNAL if os.path.exists(os.path.join(here, f"{m}.py"))]
    return list(SCENARIOS) + extra


def render(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"# Benchmark run {datetime.datetime.now().isoformat(timespec='seconds')}",
        "",
        f"Machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, socket {DEFAULT_SOCKET}",
        "",
    ]
    for name, result in results.items():
        lines += [f"## {name}", ""]
        if "error" in result:
            lines += [f"FAILED: {result['error']}", ""]
            continue
        for title, table in result.get("tables", {}).items():
            raw = table.get("raw")
            lines += [
                f"### {title}",
                "",
                "| candidate | wall ms | cpu ms | wall ratio | cpu ratio |",
                "|---|---|---|---|---|",
            ]
            for cand, stats in table.items():
                ratio_w = (
                    stats["wall_ms"] / raw["wall_ms"]
                    if raw and raw["wall_ms"]
                    else float("nan")
                )
                ratio_c = (
                    stats["cpu_ms"] / raw["cpu_ms"]
                    if raw and raw["cpu_ms"]
                    else float("nan")
                )
                lines.append(
                    f"| {cand} | {stats['wall_ms']:.3f} | {stats['cpu_ms']:.3f} | "
                    f"{ratio_w:.2f} | {ratio_c:.2f} |"
                )
            lines.append("")
        for key, value in result.get("requests", {}).items():
            lines.append(f"- {key}: {value}")
        for key in ("peak_rss_mib", "rss_growth_mib"):
            lines.append(f"- {key}: {result.get(key)}")
        for note in result.get("notes", []):
            lines.append(f"- {note}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="few repetitions (smoke test)"
    )
    parser.add_argument(
        "--only", action="append", help="run only this scenario (repeatable)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--output", help="write the Markdown report here too")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.child)))
        return 0
    env = dict(
        os.environ,
        PYLXD_BENCH_QUICK=(
            "1" if args.quick else os.environ.get("PYLXD_BENCH_QUICK", "0")
        ),
    )
    results: dict[str, dict[str, Any]] = {}
    for name in args.only or available():
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks", "--child", name],
            capture_output=True,
            text=True,
            env=env,
        )
        try:
            results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            results[name] = {"error": (proc.stderr or proc.stdout).strip()[-2000:]}
    report = render(results)
    print(report)
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(report)
    return 1 if any("error" in r for r in results.values()) else 0

"""The benchmark suite: pylxd side by side with a minimal raw client.

Run ``python -m benchmarks`` (as a user who can reach the LXD socket; the
daemon set up by ``integration/lxd-env setup``). Each scenario runs in its own
process so that its peak RSS is its own. Candidates are interleaved, results
are medians, and ratios to the raw client are what counts: the machine is noisy.

``python -m benchmarks --quick`` runs every scenario with few repetitions and
small transfers (about a minute; the smoke test uses it); ``--only NAME`` runs
one scenario (small_reads, listing, lifecycle, threads, import, bench_exec,
bench_events, bench_files, bench_images, bench_upstream).
``PYLXD_BENCH_UPSTREAM=<dir>``, a directory holding pylxd 2.4.2, adds
upstream's import figures and its small reads against the same raw client. The report ends
with one met / NOT met line per target of issue 9.
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

        _transport._UnixAdapter.send = send  # type: ignore[method-assign,assignment]
        _transport._UnixAdapter._new_conn = new_conn  # type: ignore[method-assign,assignment]
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


@contextlib.contextmanager
def _removed_on_error(raw: RawLXD, name: str) -> Iterator[None]:
    """Stop and delete instance ``name`` if the block fails (nothing is left)."""
    try:
        yield
    except BaseException:
        stop = raw.request("PUT", f"/1.0/instances/{name}/state", _FORCE_STOP)
        if stop and stop.get("operation"):
            raw.wait(stop["operation"])
        _delete(raw, name)
        raise


_FORCE_STOP = {"action": "stop", "force": True}


# -- scenarios ---------------------------------------------------------------
def scenario_small_reads() -> dict[str, Any]:
    from pylxd import Client

    raw = RawLXD()
    name = f"bench-{uuid.uuid4().hex[:6]}"
    _create_empty(raw, name)
    try:
        client = Client()
        rounds = reps(400, 20)
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
    try:
        for name in names:
            _create_empty(raw, name)
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
        with _removed_on_error(raw, name):
            inst = client.instances.create(
                {"name": name, "source": {"type": "image", "alias": IMAGE}}, wait=True
            )
            inst.start(wait=True)
            inst.stop(force=True, wait=True)
            inst.delete(wait=True)

    def theirs() -> None:
        name = f"bench-{uuid.uuid4().hex[:6]}"
        source = {"type": "image", "alias": IMAGE}
        with _removed_on_error(raw, name):
            raw.wait(
                raw.request("POST", "/1.0/instances", {"name": name, "source": source})[
                    "operation"
                ]
            )
            for action in ("start", "stop"):
                body = {"action": action, "force": True, "timeout": 30}
                url = f"/1.0/instances/{name}/state"
                raw.wait(raw.request("PUT", url, body)["operation"])
            raw.wait(raw.request("DELETE", f"/1.0/instances/{name}")["operation"])

    counter = Counter()
    with counter.attach():
        ours()
    before = raw.requests
    theirs()
    raw_requests = raw.requests - before
    table = interleave({"pylxd": ours, "raw": theirs}, reps(5, 1))
    return {
        "tables": {"create/start/stop/delete": table},
        "requests": {
            "pylxd cycle requests": counter.requests,
            "raw cycle requests": raw_requests,
        },
    }


def _hammer(client: Any, threads: int, calls: int) -> dict[str, Any]:
    """``threads`` threads share ``client``: reads, 404s and listings."""
    counter = Counter()
    errors: list[str] = []
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait()
        for i in range(calls):
            try:
                if i % 3 == 0:
                    client.profiles.get("default")
                elif i % 3 == 1:
                    client.instances.exists("bench-missing")
                else:
                    client.profiles.all()
            except Exception as err:  # noqa: BLE001 - counted and reported
                errors.append(repr(err))

    with counter.attach():
        started = time.perf_counter()
        pool = [threading.Thread(target=work) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        wall = time.perf_counter() - started
    return {
        "calls": threads * calls,
        "requests": counter.requests,
        "errors": len(errors),
        "first error": errors[0] if errors else None,
        "connections opened": counter.connections,
        "wall_ms": round(wall * 1000, 1),
    }


def scenario_threads() -> dict[str, Any]:
    from pylxd import Client

    results: dict[str, Any] = {}
    for threads in (20, 30):
        client = Client()  # its own connection is idle, ready for one thread
        for key, value in _hammer(client, threads, reps(60, 9)).items():
            results[f"{threads} threads: {key}"] = value
        again = _hammer(client, threads, reps(60, 9))
        results[f"{threads} threads, second wave: errors"] = again["errors"]
        results[f"{threads} threads, second wave: connections opened"] = again[
            "connections opened"
        ]
    return {
        "requests": results,
        "notes": [
            "each thread: profiles.get, exists() of a missing instance (404) "
            "and profiles.all() in turn, all threads released at once; the "
            "second wave runs new threads on the same client (its connections "
            "are reused)"
        ],
    }


UPSTREAM = os.environ.get("PYLXD_BENCH_UPSTREAM")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: title -> (what runs before the clock starts, what is timed)
_IMPORT_CODE = {
    "import pylxd": ("", "import pylxd"),
    "from pylxd import Client": ("", "from pylxd import Client"),
    "import requests alone": ("", "import requests"),
    "from pylxd import Client, requests already loaded": (
        "import requests",
        "from pylxd import Client",
    ),
}
_HEAVY = "print(sorted(m for m in ('ws4py', 'cryptography') if m in sys.modules))"
_CLIENT_CODE = (
    "import sys, time; from pylxd import Client; t = time.process_time(); "
    f"c = Client(); print(time.process_time() - t); {_HEAVY}; "
    "t = time.perf_counter(); c.instances.all(); print(time.perf_counter() - t); "
    f"{_HEAVY}"
)


def _in_fresh_python(code: str, path: str) -> list[str]:
    """Run ``code`` in a new interpreter that finds pylxd in ``path`` only."""
    env = dict(os.environ, PYTHONPATH=path)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure imports as users have them
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd="/",
    )
    return out.stdout.strip().splitlines()


def _import_ms(prelude: str, statement: str, path: str, n: int) -> float:
    code = (
        f"import time; {prelude or 'pass'}; t = time.perf_counter(); {statement}; "
        "print(time.perf_counter() - t)"
    )
    return round(
        statistics.median(
            float(_in_fresh_python(code, path)[0]) * 1000 for _ in range(n)
        ),
        2,
    )


def _first_client(path: str, n: int) -> dict[str, Any]:
    runs = [_in_fresh_python(_CLIENT_CODE, path) for _ in range(n)]
    cpu = statistics.median(float(lines[0]) for lines in runs) * 1000
    listing = statistics.median(float(lines[2]) for lines in runs) * 1000
    return {
        "first Client() ({}, ms CPU, median)": round(cpu, 2),
        "heavy modules loaded after Client() ({})": runs[-1][1],
        "then first instances.all() ({}, ms wall, median)": round(listing, 2),
        "heavy modules loaded after instances.all() ({})": runs[-1][3],
    }


def scenario_import() -> dict[str, Any]:
    n = reps(15, 3)
    found: dict[str, Any] = {}
    candidates = {"ours": ROOT}
    if UPSTREAM:
        candidates["upstream 2.4.2"] = UPSTREAM
    for label, path in candidates.items():
        _in_fresh_python("import pylxd.client, pylxd.models.instance", path)  # .pyc
        for title, (prelude, statement) in _IMPORT_CODE.items():
            if label != "ours" and title == "import requests alone":
                continue
            found[f"{title} ({label}, ms wall, median)"] = _import_ms(
                prelude, statement, path, n
            )
        for key, value in _first_client(path, n).items():
            found[key.format(label)] = value
    notes = [
        "each figure is the median of fresh interpreters; "
        "set PYLXD_BENCH_UPSTREAM=<dir with pylxd 2.4.2> to measure upstream too"
    ]
    return {"requests": found, "notes": notes}


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    "small_reads": scenario_small_reads,
    "listing": scenario_listing,
    "lifecycle": scenario_lifecycle,
    "threads": scenario_threads,
    "import": scenario_import,
}

#: Scenario modules kept in their own files (each has ``run() -> dict``).
EXTERNAL = (
    "bench_exec",
    "bench_events",
    "bench_files",
    "bench_images",
    "bench_upstream",
)


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


# -- the targets of issue 9 ---------------------------------------------------
#: Upstream pylxd 2.4.2's ``import pylxd`` on this machine (issue 9), used
#: when it is not measured in the run (``PYLXD_BENCH_UPSTREAM``).
UPSTREAM_IMPORT_MS = 144.0


def _ratio(table: dict[str, Any], cand: str, key: str = "wall_ms") -> float:
    base = table["raw"][key]
    return float(table[cand][key] / base) if base else float("nan")


def _mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _small_reads_verdicts(result: dict[str, Any]) -> list[str]:
    tables = result["tables"]
    walls = {t: _ratio(tab, "pylxd") for t, tab in tables.items()}
    cpus = {t: _ratio(tab, "pylxd", "cpu_ms") for t, tab in tables.items()}
    worst_w, worst_c = max(walls, key=walls.__getitem__), max(
        cpus, key=cpus.__getitem__
    )
    return [
        f"small reads wall <= 1.15x: {_mark(walls[worst_w] <= 1.15)} "
        f"(worst {walls[worst_w]:.2f}x, {worst_w})",
        f"small reads client CPU <= 2x: {_mark(cpus[worst_c] <= 2)} "
        f"(worst {cpus[worst_c]:.2f}x, {worst_c})",
    ]


def _streaming_verdicts(results: dict[str, Any]) -> list[str]:
    lines = []
    streaming = {"put", "get_to", "pylxd"}
    for name in ("bench_files", "bench_images"):
        for title, table in results.get(name, {}).get("tables", {}).items():
            for cand in streaming & set(table):
                ratio = _ratio(table, cand)
                rss = table[cand].get("rss_growth_mib")
                text = f"{title}, {cand}: throughput {1 / ratio:.2f}x of raw"
                if rss is not None:
                    text += f", peak RSS growth {rss:.1f} MiB"
                ok = ratio <= 1.1 and (rss is None or rss < 32)
                lines.append(
                    f"streaming within 1.1x, < 32 MiB RSS: {_mark(ok)} ({text})"
                )
    return lines


def _import_verdicts(found: dict[str, Any]) -> list[str]:
    upstream = found.get(
        "import pylxd (upstream 2.4.2, ms wall, median)", UPSTREAM_IMPORT_MS
    )
    ours = found["import pylxd (ours, ms wall, median)"]
    client = found["from pylxd import Client (ours, ms wall, median)"]
    cpu = found["first Client() (ours, ms CPU, median)"]
    own = "from pylxd import Client, requests already loaded (ours, ms wall, median)"
    return [
        f"import pylxd <= half of upstream: {_mark(ours <= upstream / 2)} "
        f"({ours} ms vs {upstream} ms)",
        f"from pylxd import Client <= half of upstream's import: "
        f"{_mark(client <= upstream / 2)} ({client} ms vs {upstream} ms; "
        f"requests alone {found.get('import requests alone (ours, ms wall, median)')} ms, "
        f"pylxd's own modules {found.get(own)} ms)",
        f"first Client() <= 2 ms CPU: {_mark(cpu <= 2)} ({cpu} ms)",
    ]


def verdicts(results: dict[str, dict[str, Any]]) -> list[str]:
    """One line per target of issue 9 found in ``results``: met or not, and why."""
    ok = {name: r for name, r in results.items() if "error" not in r}
    lines: list[str] = []
    if "small_reads" in ok:
        lines += _small_reads_verdicts(ok["small_reads"])
    if "listing" in ok:
        count = ok["listing"]["requests"]["pylxd listing requests"]
        lines.append(f"listing is O(1) requests: {_mark(count == 1)} ({count} request)")
    if "bench_exec" in ok:
        table = ok["bench_exec"]["tables"]["exec `true` round trip"]
        ratio = _ratio(table, "pylxd")
        lines.append(f"exec round trip <= 1.3x: {_mark(ratio <= 1.3)} ({ratio:.2f}x)")
    lines += _streaming_verdicts(ok)
    if "threads" in ok:
        found = ok["threads"]["requests"]
        for threads in (20, 30):
            errors = found[f"{threads} threads: errors"]
            errors += found.get(f"{threads} threads, second wave: errors", 0)
            conns = found[f"{threads} threads: connections opened"]
            again = found.get(f"{threads} threads, second wave: connections opened", 0)
            total = 1 + conns + again  # the client's own connection, then the waves
            good = errors == 0 and total <= threads
            lines.append(
                f"{threads} threads on one client, zero errors, at most one "
                f"connection per thread, reused: {_mark(good)} ({errors} errors; "
                f"{total} connections for two waves of {threads} threads)"
            )
    if "import" in ok:
        lines += _import_verdicts(ok["import"]["requests"])
    return lines


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
    lines += ["## Targets", ""] + [f"- {line}" for line in verdicts(results)] + [""]
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
    parser.add_argument("--json", help="write the raw results here (JSON)")
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
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return 1 if any("error" in r for r in results.values()) else 0

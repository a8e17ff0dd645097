"""Event delivery latency: pylxd's event iterator against a raw websocket.

Both listen on ``/1.0/events?type=lifecycle`` of the local LXD at the same
time. Each round, for one candidate after the other, the raw client updates a
profile of that candidate (``PATCH /1.0/profiles/<name>``, the same request
for both), and the candidate reads its stream until the ``profile-updated``
event of its own profile arrives. The time from sending the PATCH to having
the parsed event is the latency; it includes the PATCH's round trip, which is
the same for both.

Candidates: ``pylxd`` is ``client.events_iter([EventType.Lifecycle])``
(a ws4py websocket, events parsed to dicts); ``raw`` is
``benchmarks._raw.RawWebsocket`` reading frames from a plain AF_UNIX socket
and ``json.loads`` on each.

``python -m benchmarks --only bench_events`` runs it in the suite;
``python -m benchmarks.bench_events`` alone (creates and deletes two profiles
named ``pylxd-bench-ev-<random>``).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._raw import DEFAULT_SOCKET, RawLXD, RawWebsocket  # noqa: E402
from benchmarks.run import interleave, reps  # noqa: E402

ACTION = "profile-updated"


def _raw_events() -> tuple[RawWebsocket, Iterator[dict[str, Any]]]:
    ws = RawWebsocket(DEFAULT_SOCKET, "/1.0/events?type=lifecycle")
    return ws, (json.loads(frame) for frame in ws.frames())


def _latency(
    raw: RawLXD, profile: str, events: Iterator[dict[str, Any]]
) -> Callable[[], None]:
    """One round: PATCH ``profile``, then read ``events`` until its update."""
    source = f"/1.0/profiles/{profile}"
    count = 0

    def round_trip() -> None:
        nonlocal count
        count += 1
        raw.request("PATCH", source, {"description": f"round {count}"})
        for event in events:
            metadata = event.get("metadata", {})
            if metadata.get("action") == ACTION and metadata.get("source") == source:
                return
        raise EOFError(f"the event stream ended before the update of {profile}")

    return round_trip


def _measure(raw: RawLXD, profiles: dict[str, str]) -> dict[str, dict[str, float]]:
    from pylxd import Client, EventType

    raw_ws, raw_events = _raw_events()
    try:
        with Client(endpoint=DEFAULT_SOCKET).events_iter(
            [EventType.Lifecycle], timeout=30
        ) as stream:
            return interleave(
                {
                    "pylxd": _latency(raw, profiles["p"], iter(stream)),
                    "raw": _latency(raw, profiles["r"], raw_events),
                },
                reps(100, 10),
            )
    finally:
        raw_ws.close()


def run() -> dict[str, Any]:
    """The suite's entry point: the latency table (``raw`` is the baseline)."""
    raw = RawLXD(DEFAULT_SOCKET)
    profiles = {name: f"pylxd-bench-ev-{uuid.uuid4().hex[:8]}" for name in ("p", "r")}
    try:
        for profile in profiles.values():
            raw.request("POST", "/1.0/profiles", {"name": profile})
        table = _measure(raw, profiles)
    finally:
        for profile in profiles.values():
            raw.request("DELETE", f"/1.0/profiles/{profile}")
        raw.close()
    return {
        "tables": {"event delivery: PATCH sent -> lifecycle event parsed": table},
        "notes": [
            "both streams are open at once; each round reads past the other "
            "candidate's event (one stale event per round, for both)"
        ],
    }


def main() -> int:
    """Run the benchmark alone and print the report."""
    from benchmarks.run import render

    started = time.perf_counter()
    result = run()
    result["notes"].append(f"took {time.perf_counter() - started:.1f} s")
    print(render({"bench_events": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

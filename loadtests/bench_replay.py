"""Replay benchmarks: the San Francisco week at 100×, and the overlay mode at ≥ 500 call events/s.

Both start their own hub (2 workers) on real PostgreSQL and Redis through `dispatch replay`, and
write `<label>.json` and `<label>.html` to loadtests/results/.

- week: every call of the SF week (3,560) at 100× (about 1 h 55 min), people in real time,
  call-taker positions sized by Erlang C for the busiest quarter-hour.
- overlay: the week sped up (and laid over itself when one copy is not enough) to offer a given
  rate of call events (ring + answer + incident + assignment + unit statuses) for 60 s, people
  scaled with the stream, at 50, 100, 200, 350 and 500 events/s. The last run is the bar: its
  report says whether the hub took ≥ 500 call events/s for 60 s with p99 hub-added latency
  ≤ 50 ms and nothing lost; the others show where the hub stops keeping up
  (replay-overlay-ramp.json).

Run: `python -m loadtests.bench_replay [--only week|overlay] [--speed 100] [--rates 100 500]
[--fault redis-flush@10m]` (faults go into the week's run, reported as replay-sf-week-100x-faults).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from typing import Any

from loadtests.common import RESULTS, ROOT, write_result

DATABASE_URL = os.environ.get(
    "DISPATCH_REPLAY_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/dispatch_replay_bench")
REDIS_URL = os.environ.get("DISPATCH_REPLAY_REDIS_URL", "redis://127.0.0.1:6379/12")
OVERLAY_SECONDS = 60.0
# Offered call events per second of the overlay runs; the last is the acceptance bar.
RAMP = [50.0, 100.0, 200.0, 350.0, 500.0]


def replay(*options: str) -> int:
    command = [sys.executable, "-m", "dispatch.cli", "replay", "sf", "--fresh", "--workers", "2",
               "--database-url", DATABASE_URL, "--redis-url", REDIS_URL, "--out", str(RESULTS),
               *options]
    print("$ dispatch replay " + " ".join(command[4:]), flush=True)
    env = {**os.environ, "DISPATCH_LOG_LEVEL": "WARNING"}
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def call_events(call: Any, crews: bool) -> int:
    """Call events one call of the stream makes in the simulation: ring and answer; an incident
    when it is medical and located; and for each unit sent, the assignment, the crew's
    acknowledgement and each status its timeline reaches (as dispatch.replay.crews sends them)."""
    from dispatch.replay.crews import Crews

    events = 2
    if not (call.medical and call.location):
        return events
    events += 1
    if crews:
        for unit in call.units:
            if unit.dispatched_s is not None:
                events += 2 + len(Crews.milestones(unit))
    return events


def overlay_plan(rate: float, crews: bool) -> tuple[float, int]:
    """Speed and number of copies of the week that offer `rate` call events per second."""
    from dispatch.replay.adapters import open_stream

    stream = open_stream("sf")
    events = sum(call_events(c, crews) for c in stream.calls)
    calls_per_s = rate * len(stream.calls) / events
    fastest = stream.span_seconds / OVERLAY_SECONDS  # the whole week in the run
    copies = max(1, math.ceil(calls_per_s * stream.span_seconds / len(stream.calls) / fastest))
    speed = calls_per_s * stream.span_seconds / (len(stream.calls) * copies)
    return speed, copies


def overlay(rate: float, crews: str, label: str) -> dict[str, Any] | None:
    speed, copies = overlay_plan(rate, crews=crews == "on")
    replay("--speed", f"{speed:.1f}", "--overlay", str(copies), "--duration", f"{OVERLAY_SECONDS:g}",
           "--people", "scaled", "--positions", "60", "--consoles", "2", "--crews", crews,
           "--target-rate", f"{rate:g}", "--label", label)
    path = RESULTS / f"{label}.json"
    if not path.exists():
        return None
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def ramp_row(rate: float, result: dict[str, Any] | None) -> dict[str, Any]:
    if result is None:
        return {"offered_events_per_s": rate, "failed": True}
    hub = result["latency"]["hub_added"]
    return {
        "offered_events_per_s": rate,
        "accepted_events_per_s_best_60s": result["throughput"]["best_60s_per_s"],
        "hub_added_p50_ms": hub["p50_ms"], "hub_added_p99_ms": hub["p99_ms"],
        "lost": result["lost"]["total"], "errors": sum(result["errors"].values()),
        "hub_cpu_cores": result["cpu"]["hub_cores_busy"],
        "holds": result["lost"]["total"] == 0 and hub["p99_ms"] <= 50
        and result["throughput"]["best_60s_per_s"] >= 0.95 * rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["week", "overlay"])
    parser.add_argument("--speed", type=float, default=100.0, help="speed of the week replay")
    parser.add_argument("--crews", choices=["auto", "on", "off"], default="on")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND@TIME",
                        help="inject a fault into the week replay (see `dispatch replay --fault`)")
    parser.add_argument("--rates", type=float, nargs="+", default=RAMP,
                        help="call events per second of the overlay runs (the last is the bar)")
    args = parser.parse_args()
    failed = []
    if args.only in (None, "overlay"):
        rows = []
        for index, rate in enumerate(args.rates):
            last = index == len(args.rates) - 1
            label = "replay-overlay" if last else f"replay-overlay-{rate:g}"
            rows.append(ramp_row(rate, overlay(rate, args.crews, label)))
        print("overlay runs: offered → accepted call events/s, hub-added p50/p99, lost")
        for row in rows:
            print(f"  {row['offered_events_per_s']:>5g}/s → {row.get('accepted_events_per_s_best_60s')}/s  "
                  f"p50 {row.get('hub_added_p50_ms')} ms  p99 {row.get('hub_added_p99_ms')} ms  "
                  f"lost {row.get('lost')}  {'holds' if row.get('holds') else 'does not hold'}")
        path = write_result("replay-overlay-ramp", {"runs": rows})
        print(f"results: {path}")
    if args.only in (None, "week"):
        faults = [option for fault in args.fault for option in ("--fault", fault)]
        code = replay("--speed", f"{args.speed:g}", "--crews", args.crews, *faults,
                      "--label", f"replay-sf-week-{args.speed:g}x" + ("-faults" if faults else ""))
        if code:
            failed.append("week")
    if failed:
        print("lost events in: " + ", ".join(failed))
        raise SystemExit(1)


if __name__ == "__main__":
    main()

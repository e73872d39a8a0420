"""Replay benchmarks: the San Francisco week at 100×, and the overlay mode at ≥ 500 call events/s.

Both start their own hub (2 workers) on real PostgreSQL and Redis through `dispatch replay`, and
write `<label>.json` and `<label>.html` to loadtests/results/.

- week: every call of the SF week (3,560) at 100× (about 1 h 55 min), people in real time,
  call-taker positions sized by Erlang C for the busiest quarter-hour.
- overlay: the whole week squeezed into 60 s and laid over itself as many times as it takes to
  offer ≥ 500 call events/s (ring + answer + incident + assignment + unit statuses), people
  scaled with the stream. The report prints whether the bar is met: that rate for 60 s, p99
  hub-added latency ≤ 50 ms, nothing lost.

Run: `python -m loadtests.bench_replay [--only week|overlay] [--speed 100]`.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys

from loadtests.common import RESULTS, ROOT

DATABASE_URL = os.environ.get(
    "DISPATCH_REPLAY_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/dispatch_replay_bench")
REDIS_URL = os.environ.get("DISPATCH_REPLAY_REDIS_URL", "redis://127.0.0.1:6379/12")
OVERLAY_SECONDS = 60.0
TARGET_RATE = 500.0


def replay(*options: str) -> int:
    command = [sys.executable, "-m", "dispatch.cli", "replay", "sf", "--fresh", "--workers", "2",
               "--database-url", DATABASE_URL, "--redis-url", REDIS_URL, "--out", str(RESULTS),
               *options]
    print("$ dispatch replay " + " ".join(command[4:]), flush=True)
    env = {**os.environ, "DISPATCH_LOG_LEVEL": "WARNING"}
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def overlay_copies(crews: bool) -> tuple[float, int]:
    """Speed that fits the week into 60 s, and how many copies reach the target rate."""
    from dispatch.replay.adapters import open_stream

    stream = open_stream("sf")
    speed = stream.span_seconds / OVERLAY_SECONDS
    medical = sum(1 for c in stream.calls if c.medical and c.location)
    events = 2 * len(stream.calls) + medical  # ring and answer for each, an incident for most
    if crews:  # an assignment, an acknowledgement and about seven statuses per ambulance
        events += 9 * sum(len(c.units) for c in stream.calls)
    per_copy = events / OVERLAY_SECONDS
    return speed, max(1, math.ceil(TARGET_RATE * 1.1 / per_copy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["week", "overlay"])
    parser.add_argument("--speed", type=float, default=100.0, help="speed of the week replay")
    parser.add_argument("--crews", choices=["auto", "on", "off"], default="auto")
    args = parser.parse_args()
    failed = []
    if args.only in (None, "overlay"):
        speed, copies = overlay_copies(crews=args.crews == "on")
        code = replay("--speed", f"{speed:.1f}", "--overlay", str(copies), "--duration",
                      f"{OVERLAY_SECONDS:g}", "--people", "scaled", "--positions", "60",
                      "--consoles", "2", "--crews", args.crews, "--label", "replay-overlay")
        if code:
            failed.append("overlay")
    if args.only in (None, "week"):
        code = replay("--speed", f"{args.speed:g}", "--crews", args.crews,
                      "--label", f"replay-sf-week-{args.speed:g}x")
        if code:
            failed.append("week")
    if failed:
        print("lost events in: " + ", ".join(failed))
        raise SystemExit(1)


if __name__ == "__main__":
    main()

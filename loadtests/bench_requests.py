"""Hub CPU per request, for each request a call's life makes (where the overlay's CPU goes).

    python -m loadtests.bench_requests [--calls 600] [--concurrency 8] [--profile FILE.svg]

Starts one hub process (one worker, background timers off, so only requests use its CPU) on
real PostgreSQL and Redis with 60 ready call-taker positions and 60 units, and walks batches of
calls through their whole life, one step at a time for the whole batch: ring, answer, incident,
recommendations, assignment, acknowledgement, the unit statuses to handover and back to
available, the end of the call and the position's return to ready. For each step it reads the
hub's CPU time (/proc) before and after and prints CPU milliseconds per request, with the
wall time per request as seen by the client at the given concurrency.

It runs the bare reference (`loadtests/bench_raw.py`: validate a body, one Lua script, one
committed insert) the same way, in the same process tree, side by side with the hub: after
each step of the life the bare app gets as many requests, so both are measured over the same
seconds (this shared host's speed drifts by tens of per cent within a minute; measured a
minute apart the ratio moved between 1.8 and 3.1). It prints the ratio of the hub's CPU for a
call's life to 15 bare requests (the budget: at most 2).

The overlay's bar (≥ 500 call events/s on 2 workers) leaves about 2 ms of hub CPU per call
event on this 2-core machine once PostgreSQL, Redis and the load generator have theirs.

`--profile` samples the hub with py-spy while the calls run and writes a flame graph (SVG):
`make profile` writes loadtests/results/profile-requests.svg.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dispatch.replay.http import HttpPool
from dispatch.replay.ownhub import cpu_seconds
from loadtests import bench_raw
from loadtests.common import (
    Client,
    HubUrl,
    Reply,
    auth_headers,
    bench_token,
    hubs,
    prepare_database,
    write_result,
)
from loadtests.scenario import load_bench_scenario

POSITIONS = 60
BATCH = 60
STATUSES = ["en_route", "on_scene", "transporting", "at_hospital", "handover_done", "available"]


class StepFailed(Exception):
    """A request of a call's life was refused: the figures would not mean what they say."""


class Walk:
    """One batch of calls, each with its position, incident, unit and assignment."""

    def __init__(self, http: Client, batch: int) -> None:
        self.http = http
        self.positions = [f"P{i:03d}" for i in range(batch)]
        self.units = [f"U{i:03d}" for i in range(batch)]
        self.calls: list[str] = []
        self.incidents: list[str] = []
        self.assignments: list[str] = []

    def check(self, step: str, reply: Reply, *ok: int) -> Reply:
        if reply.status not in (ok or (200,)):
            raise StepFailed(f"{step}: {reply.status} {reply.body[:300]!r}")
        return reply


Step = Callable[[Walk, int], Awaitable[None]]
TELEPHONY = auth_headers("telephony")
DISPATCHER = auth_headers("dispatcher")
CREWS: dict[str, dict[str, str]] = {}
TAKERS: dict[str, dict[str, str]] = {}


def call_taker(position: str) -> dict[str, str]:
    """The call-taker signed in at a position (a call-taker acts only at their own)."""
    if position not in TAKERS:
        TAKERS[position] = {"Authorization": f"Bearer {bench_token('call_taker', name=taker(position))}"}
    return TAKERS[position]


def taker(position: str) -> str:
    return f"bench-{position}"


def crew(unit: str) -> dict[str, str]:
    if unit not in CREWS:
        CREWS[unit] = auth_headers("crew", unit_id=unit)
    return CREWS[unit]


async def ring(w: Walk, i: int) -> None:
    reply = w.check("ring", await w.http.send("POST", "/api/v1/calls", {
        "telephony_call_id": f"req-{uuid.uuid4().hex[:16]}", "line": "120-1",
        "rung_at": datetime.now(UTC).isoformat(),
        "carrier_location": {"lat": 34.2, "lon": 108.9, "accuracy_m": 50}}, TELEPHONY), 201)
    w.calls[i] = reply.json()["id"]


async def answer(w: Walk, i: int) -> None:
    w.check("answer", await w.http.send("POST", f"/api/v1/calls/{w.calls[i]}/answer",
                                        {"position_id": w.positions[i]}, call_taker(w.positions[i])))


async def incident(w: Walk, i: int) -> None:
    reply = w.check("incident", await w.http.send("POST", "/api/v1/incidents", {
        "call_id": w.calls[i], "location": {"lat": 34.2 + i * 1e-4, "lon": 108.9},
        "severity": "urgent", "category": "ordinary", "complaint": "fall"}, call_taker(w.positions[i])), 201)
    w.incidents[i] = reply.json()["id"]


async def recommendations(w: Walk, i: int) -> None:
    w.check("recommendations", await w.http.send(
        "GET", f"/api/v1/incidents/{w.incidents[i]}/recommendations", headers=DISPATCHER))


async def assign(w: Walk, i: int) -> None:
    reply = w.check("assign", await w.http.send("POST", "/api/v1/assignments", {
        "incident_id": w.incidents[i], "unit_id": w.units[i]}, DISPATCHER), 201)
    w.assignments[i] = reply.json()["id"]


async def acknowledge(w: Walk, i: int) -> None:
    w.check("acknowledge", await w.http.send(
        "POST", f"/api/v1/assignments/{w.assignments[i]}/acknowledge", {}, crew(w.units[i])))


def status(to: str) -> Step:
    async def report(w: Walk, i: int) -> None:
        body: dict[str, Any] = {"status": to}
        if to == "handover_done":
            body["reason"] = "benchmark"
        w.check(f"status {to}", await w.http.send(
            "POST", f"/api/v1/units/{w.units[i]}/status", body, crew(w.units[i])))
    report.__name__ = f"status {to}"
    return report


async def end(w: Walk, i: int) -> None:
    w.check("end", await w.http.send("POST", f"/api/v1/calls/{w.calls[i]}/ended", {}, TELEPHONY))


async def ready(w: Walk, i: int) -> None:
    w.check("ready", await w.http.send("PUT", f"/api/v1/positions/{w.positions[i]}/state",
                                       {"state": "ready"}, call_taker(w.positions[i])))


async def unit(w: Walk, i: int) -> None:
    w.check("unit", await w.http.send("GET", f"/api/v1/units/{w.units[i]}", headers=crew(w.units[i])))


async def healthz(w: Walk, i: int) -> None:
    w.check("healthz", await w.http.send("GET", "/healthz", headers={}))


LIFE: list[Step] = [healthz, ring, answer, incident, recommendations, assign, acknowledge,
                    *(status(s) for s in STATUSES[:-1]), unit, status("available"), end, ready]


async def run(base: str, pid: int, calls: int, concurrency: int,
              bare: bench_raw.Bare | None = None) -> dict[str, Any]:
    """Walk `calls` calls through their life; with `bare`, send the bare app as many requests
    right after each step of the life (this shared host's speed drifts by tens of per cent
    within seconds: hub and bare measured side by side, the drift cancels in the ratio)."""
    http = Client(HttpPool(base, size=concurrency), auth_headers())
    gate = asyncio.Semaphore(concurrency)
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    done: dict[str, int] = {}
    try:
        for p in range(POSITIONS):
            position = f"P{p:03d}"
            await http.post(f"/api/v1/positions/{position}/login", {"user": taker(position), "ready": True})
        if bare is not None:
            await bare.chunk(200, counted=False)  # warm-up
        for _ in range(max(1, calls // BATCH)):
            walk = Walk(http, BATCH)
            walk.calls, walk.incidents, walk.assignments = [""] * BATCH, [""] * BATCH, [""] * BATCH
            for step in LIFE:
                async def one(i: int, step: Step = step, walk: Walk = walk) -> None:
                    async with gate:
                        await step(walk, i)
                before, started = cpu_seconds(pid) or 0.0, time.perf_counter()
                await asyncio.gather(*(one(i) for i in range(BATCH)))
                took, used = time.perf_counter() - started, (cpu_seconds(pid) or 0.0) - before
                name = step.__name__
                cpu[name] = cpu.get(name, 0.0) + used
                wall[name] = wall.get(name, 0.0) + took
                done[name] = done.get(name, 0) + BATCH
                if bare is not None and step is not healthz:
                    await bare.chunk(BATCH)
    finally:
        await http.pool.close()
    steps = [{"request": name, "count": done[name],
              "hub_cpu_ms": round(1000 * cpu[name] / done[name], 2),
              "wall_ms": round(1000 * wall[name] / done[name] * concurrency, 2)} for name in done]
    return {"steps": steps}


@contextlib.contextmanager
def profiled(pid: int, path: str | None) -> Iterator[None]:
    """Sample the process `pid` (and its workers) with py-spy while the block runs: a flame graph
    for a .svg path, else collapsed stacks (one line a stack, for reading with grep and sort)."""
    if path is None:
        yield
        return
    beside = Path(sys.executable).with_name("py-spy")  # the virtualenv's, when not on PATH
    spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy (pip install -e '.[dev]')")
    recorder = subprocess.Popen([spy, "record", "--pid", str(pid), "--subprocesses", "--rate", "250",
                                 "--format", "flamegraph" if path.endswith(".svg") else "raw",
                                 "--output", path, "--nonblocking"])
    time.sleep(1.0)  # attached before the first request
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)  # py-spy writes the graph when interrupted
        recorder.wait(60)
        print(f"flame graph: {path}")


async def side_by_side(hub: HubUrl, bare_url: str, bare_pid: int, *, calls: int,
                       concurrency: int) -> dict[str, Any]:
    bare = bench_raw.Bare(bare_url, bare_pid, concurrency)
    try:
        result = await run(hub, hub.pid, calls, concurrency, bare)
    finally:
        await bare.close()
    return {**result, "bare_cpu_ms": bare.cpu_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", metavar="FILE.svg", help="write a py-spy flame graph of the hub")
    args = parser.parse_args()
    prepare_database()
    load_bench_scenario(positions=POSITIONS, units=BATCH)
    with (hubs(1, workers=1, DISPATCH_BACKGROUND_TASKS="false") as (base,),
          bench_raw.serve() as (bare_url, bare_pid), profiled(base.pid, args.profile)):
        result = asyncio.run(side_by_side(base, bare_url, bare_pid, calls=args.calls,
                                          concurrency=args.concurrency))
    total = 0.0
    print(f"{'request':<22} {'n':>5} {'hub CPU ms':>11} {'wall ms':>9}")
    for row in result["steps"]:
        if row["request"] != "healthz":
            total += row["hub_cpu_ms"]
        print(f"{row['request']:<22} {row['count']:>5} {row['hub_cpu_ms']:>11.2f} {row['wall_ms']:>9.2f}")
    requests = len(LIFE) - 1  # healthz is not part of a call's life
    bare = requests * result["bare_cpu_ms"]
    print(f"one call's life (without healthz): {total:.1f} ms of hub CPU")
    print(f"bare reference, measured between the hub's steps: {result['bare_cpu_ms']:.3f} ms of "
          f"CPU a request; {requests} of them: {bare:.1f} ms")
    print(f"ratio: {total / bare:.2f}× the bare stack (budget: 2×)")
    path = write_result("requests", {
        "concurrency": args.concurrency, "call_life_hub_cpu_ms": round(total, 1),
        "bare_request_cpu_ms": round(result["bare_cpu_ms"], 3), "call_life_bare_cpu_ms": round(bare, 2),
        "ratio": round(total / bare, 2), "steps": result["steps"]})
    print(f"results: {path}")


if __name__ == "__main__":
    main()

"""Intake benchmark: hub-added latency from `POST /calls` to the ring and the offer on a console.

Starts a hub (2 workers) on real PostgreSQL and Redis with 60 ready call-taker positions, opens
one console socket, and posts calls at a fixed rate. For each call it measures: POST sent →
201 received, POST sent → `call.ringing` on the console, POST sent → `call.offered` on the
console. Each offered call is then reported abandoned, which frees its position for the next
call, so offers keep flowing at the posted rate.
When the hub cannot keep up, `acknowledged_per_s` (calls acknowledged over the time from the first
POST to the last 201) is the rate it sustained.
Run: `python -m loadtests.bench_intake [--rates 100 500] [--seconds 20]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from dispatch.replay.http import HttpPool
from dispatch.replay.wsclient import connect
from loadtests.common import (
    Client,
    auth_headers,
    bench_token,
    hubs,
    prepare_database,
    summary_ms,
    write_result,
)
from loadtests.scenario import load_bench_scenario

POSITIONS = 60


async def run_rate(base: str, rate: float, seconds: float) -> dict[str, Any]:
    sent: dict[str, float] = {}  # telephony id -> when the POST was sent
    call_ids: dict[str, str] = {}  # call id -> telephony id
    created: dict[str, float] = {}
    rung: dict[str, float] = {}  # telephony id -> ring event arrival
    offered: dict[str, float] = {}  # call id -> offer event arrival
    errors: dict[str, int] = {}
    http = Client(HttpPool(base, size=64), auth_headers())
    try:
        for i in range(POSITIONS):
            response = await http.post(f"/api/v1/positions/P{i:03d}/login",
                                       {"user": f"bench-{i}", "ready": True})
            if response.status == 409:  # still busy from an earlier run
                await http.put(f"/api/v1/positions/P{i:03d}/state", {"state": "ready"})
        abandons: set[asyncio.Task[Any]] = set()

        async def abandon(call_id: str) -> None:
            response = await http.post(f"/api/v1/calls/{call_id}/abandoned", {})
            if response.status != 200:
                key = f"abandon {response.status}"
                errors[key] = errors.get(key, 0) + 1

        def on_message(raw: bytes, _arrived: float) -> None:
            now = time.time()
            frame = orjson.loads(raw)
            if frame.get("kind") != "event":
                return
            data = frame["data"]
            if frame["type"] == "call.ringing":
                rung[data["telephony_call_id"]] = now
            elif frame["type"] == "call.offered":
                offered.setdefault(data["call_id"], now)
                task = asyncio.create_task(abandon(data["call_id"]))
                abandons.add(task)
                task.add_done_callback(abandons.discard)

        console = await connect(base.replace("http://", "ws://") + "/ws/console?types=call.",
                                on_message, token=bench_token("call_taker"))
        await asyncio.sleep(0.5)

        async def post(telephony_id: str) -> None:
            body = {"telephony_call_id": telephony_id, "caller_number": "13800000000",
                    "line": "120-1", "rung_at": datetime.now(UTC).isoformat()}
            sent[telephony_id] = time.time()
            try:
                response = await http.post("/api/v1/calls", body)
            except (ConnectionError, TimeoutError) as error:
                errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
                return
            if response.status != 201:
                errors[str(response.status)] = errors.get(str(response.status), 0) + 1
                return
            created[telephony_id] = time.time()
            call_ids[response.json()["id"]] = telephony_id

        total = int(rate * seconds)
        run = uuid.uuid4().hex[:8]
        tasks = []
        start = time.perf_counter()
        for n in range(total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(f"bench-{run}-{n}")))
        await asyncio.gather(*tasks)
        deadline = time.time() + 15
        while time.time() < deadline and (len(rung) < len(created) or len(offered) < len(created)):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        with contextlib.suppress(Exception):
            await asyncio.gather(*abandons)
        console.close()
    finally:
        await http.pool.close()
    by_telephony = {tid: cid for cid, tid in call_ids.items()}
    span = (max(created.values()) - min(sent.values())) if created else 0.0
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "calls_posted": total,
        "calls_acknowledged": len(created),
        # What the hub kept up with: acknowledged calls over the time from the first POST to
        # the last 201 (below the posted rate when the hub is saturated).
        "acknowledged_per_s": round(len(created) / span, 1) if span else 0.0,
        "rings_seen": sum(1 for t in created if t in rung),
        "offers_seen": sum(1 for t in created if by_telephony.get(t) in offered),
        "post_to_201": summary_ms([created[t] - sent[t] for t in created]),
        "post_to_ring_on_console": summary_ms([rung[t] - sent[t] for t in created if t in rung]),
        "post_to_offer_on_console": summary_ms(
            [offered[c] - sent[t] for t, c in by_telephony.items() if c in offered]),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=float, nargs="+", default=[100, 500])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    prepare_database()
    load_bench_scenario(positions=POSITIONS)
    rows = []
    with hubs(1, workers=args.workers, DISPATCH_WS_IDLE_TIMEOUT_SECONDS="3600",
              DISPATCH_DATABASE_POOL_SIZE="16") as (base,):
        for rate in args.rates:
            row = asyncio.run(run_rate(base, rate, args.seconds))
            rows.append(row)
            ring, offer, ack = (row["post_to_ring_on_console"], row["post_to_offer_on_console"],
                                row["post_to_201"])
            print(
                f"{rate:>5.0f} calls/s  acknowledged {row['calls_acknowledged']}/{row['calls_posted']} "
                f"({row['acknowledged_per_s']:.0f}/s)  "
                f"POST→201 p50 {ack['p50_ms']:.1f} p99 {ack['p99_ms']:.1f} ms  "
                f"POST→ring p50 {ring['p50_ms']:.1f} p99 {ring['p99_ms']:.1f} ms  "
                f"POST→offer p50 {offer['p50_ms']:.1f} p99 {offer['p99_ms']:.1f} ms  "
                f"errors {row['errors'] or 0}",
                flush=True,
            )
    path = write_result("intake", {"workers": args.workers, "positions": POSITIONS, "runs": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()

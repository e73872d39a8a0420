"""Fan-out benchmark: time from an event's creation to its arrival at every console.

Starts hub processes on real PostgreSQL and Redis, connects N consoles over WebSockets (from
separate client processes), appends events to the stream at a fixed rate and measures, for
every delivery, creation → arrival; and for every event, creation → arrival at the last
console. Run: `python -m loadtests.bench_fanout [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import time
from dataclasses import dataclass
from typing import Any

import orjson

from dispatch.replay.wsclient import connect
from loadtests.common import (
    BENCH_PREFIX,
    BENCH_REDIS_URL,
    bench_token,
    hubs,
    prepare_database,
    summary_ms,
    write_result,
)


@dataclass
class Case:
    consoles: int
    rate: float  # events per second
    seconds: float
    instances: int


async def _clients(urls: list[str], count: int, offset: int, expected: int, deadline: float,
                   ready: Any) -> dict[str, Any]:
    latencies: list[float] = []
    last_arrival: dict[int, float] = {}
    received = [0] * count
    done = asyncio.Event()
    finished = [0]

    def handler(index: int) -> Any:
        def on_message(raw: bytes, _arrived: float) -> None:
            now = time.time()
            frame = orjson.loads(raw)
            kind = frame.get("kind")
            if kind == "hello":
                ready.put(1)
                return
            if kind != "event":
                return
            data = frame["data"]
            latencies.append(now - data["t"])
            n = data["n"]
            if now > last_arrival.get(n, 0.0):
                last_arrival[n] = now
            received[index] += 1
            if received[index] == expected:
                finished[0] += 1
                if finished[0] == count:
                    done.set()
        return on_message

    sockets = []
    token = bench_token("dispatcher")
    for index in range(count):
        url = urls[(offset + index) % len(urls)].replace("http://", "ws://")
        sockets.append(await connect(url + "/ws/console?types=bench.", handler(index),
                                     token=token))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), max(1.0, deadline - time.time()))
    for sock in sockets:
        sock.close()
    return {"latencies": latencies, "last_arrival": last_arrival, "received": received}


def client_process(urls: list[str], count: int, offset: int, expected: int, deadline: float,
                   ready: Any, results: Any) -> None:
    results.put(asyncio.run(_clients(urls, count, offset, expected, deadline, ready)))


async def produce(rate: float, seconds: float) -> dict[int, float]:
    from dispatch.clock import SystemClock
    from dispatch.metrics import Metrics
    from dispatch.realtime.service import EventBus
    from dispatch.redis import Keys, create_redis

    redis = create_redis(BENCH_REDIS_URL)
    bus = EventBus(redis, Keys(BENCH_PREFIX), maxlen=100_000, metrics=Metrics(),
                   clock=SystemClock())
    created: dict[int, float] = {}
    total = int(rate * seconds)
    start = time.perf_counter()
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        t = time.time()
        created[n] = t
        await bus.publish(bus.event("bench.tick", {"n": n, "t": t}))
    await redis.aclose()
    return created


def run_case(case: Case, urls: list[str]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    expected = int(case.rate * case.seconds)
    processes = 1 if case.consoles <= 10 else 2
    share = [case.consoles // processes + (1 if i < case.consoles % processes else 0)
             for i in range(processes)]
    deadline = time.time() + 60 + case.seconds
    procs = []
    offset = 0
    for count in share:
        proc = ctx.Process(target=client_process,
                           args=(urls, count, offset, expected, deadline, ready, results))
        proc.start()
        procs.append(proc)
        offset += count
    for _ in range(case.consoles):
        ready.get(timeout=120)
    time.sleep(1.0)  # let connection set-up settle
    created = asyncio.run(produce(case.rate, case.seconds))
    parts = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(10)
    latencies = [x for part in parts for x in part["latencies"]]
    last: dict[int, float] = {}
    for part in parts:
        for n, at in part["last_arrival"].items():
            last[n] = max(last.get(n, 0.0), at)
    to_last = [last[n] - created[n] for n in created if n in last]
    delivered = sum(sum(part["received"]) for part in parts)
    return {
        "consoles": case.consoles,
        "instances": case.instances,
        "rate_per_s": case.rate,
        "seconds": case.seconds,
        "events": expected,
        "deliveries_expected": expected * case.consoles,
        "deliveries": delivered,
        "lost": expected * case.consoles - delivered,
        "messages_per_s": round(delivered / case.seconds, 1),
        "event_to_console": summary_ms(latencies),
        "event_to_last_console": summary_ms(to_last),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--consoles", type=int, help="run one case with this many consoles")
    parser.add_argument("--rate", type=float, default=200.0, help="events per second (one case)")
    parser.add_argument("--seconds", type=float, help="duration of each case")
    parser.add_argument("--instances", type=int, default=1, help="hub processes (one case)")
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 15.0)
    if args.consoles:
        cases = [Case(args.consoles, args.rate, seconds, args.instances)]
    else:
        cases = [
            Case(10, 200, seconds, 1),
            Case(100, 200, seconds, 1),
            Case(1000, 20, seconds, 1),
            Case(100, 200, seconds, 2),
            Case(1000, 20, seconds, 2),
        ]
    prepare_database()
    rows = []
    for instances in sorted({c.instances for c in cases}):
        with hubs(instances, DISPATCH_WS_IDLE_TIMEOUT_SECONDS="3600") as urls:
            for case in (c for c in cases if c.instances == instances):
                row = run_case(case, urls)
                rows.append(row)
                a, b = row["event_to_console"], row["event_to_last_console"]
                print(
                    f"{row['consoles']:>5} consoles  {row['instances']} process(es)  "
                    f"{row['rate_per_s']:>5.0f} ev/s  {row['messages_per_s']:>8.0f} msg/s  "
                    f"lost {row['lost']}  event→console p50 {a['p50_ms']:.1f} ms "
                    f"p99 {a['p99_ms']:.1f} ms max {a['max_ms']:.1f} ms  "
                    f"event→last console p99 {b['p99_ms']:.1f} ms",
                    flush=True,
                )
    path = write_result("fanout", {"cases": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()

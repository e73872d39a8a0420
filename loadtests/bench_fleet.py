"""Benchmark the fleet: unit recommendation with 500 units, and position reports per second.

    python -m loadtests.bench_fleet [--units 500] [--iterations 2000] [--seconds 15]

Targets (issue 6): recommendation (candidates + ETA ranking) p99 ≤ 5 ms with 500 units;
position updates ≥ 2,000/s sustained.

1. Recommendation, in process against the benchmark PostgreSQL and Redis: the service the
   `GET /incidents/{id}/recommendations` route calls (incident, latest decision and turned-down
   units from PostgreSQL; every unit's live state from Redis in one script; straight-line ETA
   ranking), for random incidents over a 30 km square; and the ranking alone.
2. Positions over WebSockets: one hub process (uvicorn, background timers on, so the reports
   are also written to PostgreSQL once a second) and one crew socket per unit, each tablet
   reporting at a fixed rate; counts acknowledged reports per second and the reply latency.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from typing import Any

import orjson

from dispatch.replay.wsclient import connect
from loadtests.common import (
    BENCH_DATABASE_URL,
    BENCH_PREFIX,
    BENCH_REDIS_URL,
    BENCH_SECRET,
    bench_token,
    hubs,
    prepare_database,
    summary_ms,
    write_result,
)
from loadtests.scenario import load_bench_scenario

TARGET_RECOMMEND_P99_MS = 5.0
TARGET_POSITIONS_PER_SECOND = 2000
CENTRE = (34.2, 108.9)


def spot(rng: random.Random) -> tuple[float, float]:
    return CENTRE[0] + rng.uniform(-0.135, 0.135), CENTRE[1] + rng.uniform(-0.165, 0.165)


async def recommendation(units: int, iterations: int) -> dict[str, Any]:
    from dispatch.config import Settings
    from dispatch.fleet import assignments, service
    from dispatch.fleet.recommend import recommend
    from dispatch.incidents.models import Incident
    from dispatch.main import create_app
    from dispatch.routing import service as routing

    settings = Settings(database_url=BENCH_DATABASE_URL, redis_url=BENCH_REDIS_URL,
                        redis_prefix=BENCH_PREFIX, secret_key=BENCH_SECRET, background_tasks=False,
                        log_level="WARNING")
    app = create_app(settings)
    rng = random.Random(6)
    async with app.router.lifespan_context(app):
        rt = app.state.runtime
        for n in range(units):  # spread the fleet: a few on jobs, most available
            lat, lon = spot(rng)
            await service.report_position(rt=rt, unit_id=f"U{n:03d}", lat=lat, lon=lon)
        incidents = []
        for _ in range(200):
            lat, lon = spot(rng)
            now = rt.clock.now()
            incident = Incident(
                id=uuid.uuid4(), created_at=now, updated_at=now, created_by="bench", lat=lat, lon=lon,
                severity=rng.choice(["critical", "urgent", "non_urgent"]), category="ordinary",
                infection_status=rng.choice(["none"] * 4 + ["suspected"]), flags={})
            async with rt.sessionmaker() as session:
                session.add(incident)
                await session.commit()
                await routing.decide_for_incident(session=session, rt=rt, incident_id=incident.id,
                                                  actor="bench")
            incidents.append(incident.id)
        for incident_id in incidents[:40]:  # some units busy, so exclusions are real
            async with rt.sessionmaker() as session:
                rec = await assignments.recommendations(session=session, rt=rt, incident_id=incident_id)
                if rec.candidates:
                    await assignments.dispatch_unit(session=session, rt=rt, incident_id=incident_id,
                                                    unit_id=rec.candidates[0].unit_id,
                                                    actor=assignments.AUTO)
        full: list[float] = []
        ranking: list[float] = []
        sizes = []
        for i in range(iterations):
            incident_id = incidents[40 + i % 160]
            started = time.perf_counter()
            async with rt.sessionmaker() as session:
                rec = await assignments.recommendations(session=session, rt=rt, incident_id=incident_id)
            full.append(time.perf_counter() - started)
            sizes.append(rec.considered)
            assert rec.fleet_size == units, rec.fleet_size
            lat, lon = spot(rng)
            started = time.perf_counter()
            await recommend(service.live(rt), lat=lat, lon=lon, required=["ambulance"],
                            travel=service.travel(rt), now_ms=int(time.time() * 1000),
                            stale_after_ms=120_000)
            ranking.append(time.perf_counter() - started)
    return {"units": units, "iterations": iterations, "service": summary_ms(full),
            "units_looked_at": {"mean": round(sum(sizes) / len(sizes), 1), "max": max(sizes)},
            "ranking": summary_ms(ranking)}


async def positions(url: str, units: int, rate_per_unit: float, seconds: float) -> dict[str, Any]:
    sent: dict[str, float] = {}
    latencies: list[float] = []
    errors: dict[str, int] = {}
    acked = [0]
    last_reply = [time.perf_counter()]

    def on_message(raw: bytes, _arrived: float) -> None:
        frame = orjson.loads(raw)
        kind = frame.get("kind")
        if kind == "result":
            started = sent.pop(frame["ref"], None)
            if started is not None:
                last_reply[0] = time.perf_counter()
                latencies.append(last_reply[0] - started)
                acked[0] += 1
        elif kind == "error":
            key = str(frame.get("problem", {}).get("status"))
            errors[key] = errors.get(key, 0) + 1

    base = url.replace("http://", "ws://")
    tablets = [await connect(f"{base}/ws/crew/U{n:03d}", on_message,
                             token=bench_token("crew", unit_id=f"U{n:03d}"))
               for n in range(units)]
    await asyncio.sleep(1.0)
    rng = random.Random(9)
    where = [spot(rng) for _ in range(units)]
    interval = 1.0 / rate_per_unit
    total = int(seconds * rate_per_unit)
    start = time.perf_counter()
    for tick in range(total):
        due = start + tick * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        for n, tablet in enumerate(tablets):
            lat, lon = where[n]
            where[n] = (lat + rng.uniform(-0.0005, 0.0005), lon + rng.uniform(-0.0005, 0.0005))
            ref = f"{n}-{tick}"
            sent[ref] = time.perf_counter()
            tablet.send_text(orjson.dumps({"action": "unit.position", "ref": ref,
                                           "lat": where[n][0], "lon": where[n][1]}).decode())
    sending = time.perf_counter() - start
    for _ in range(200):  # up to 10 s for the last replies
        if not sent:
            break
        await asyncio.sleep(0.05)
    elapsed = last_reply[0] - start
    for tablet in tablets:
        tablet.close()
    offered = units * total
    return {"tablets": units, "offered_per_second": round(offered / sending, 1),
            "acknowledged": acked[0], "offered": offered, "unanswered": len(sent),
            "acknowledged_per_second": round(acked[0] / elapsed, 1), "errors": errors,
            "reply": summary_ms(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2, help="hub worker processes")
    parser.add_argument("--rate-per-unit", type=float, default=4.4,
                        help="position reports per second from each tablet")
    args = parser.parse_args()
    prepare_database()
    load_bench_scenario(units=args.units, positions=4)
    rec = asyncio.run(recommendation(args.units, args.iterations))
    print(f"recommendation with {args.units} units, {args.iterations} incidents:")
    print(f"  service (PostgreSQL + Redis + ranking)  p50 {rec['service']['p50_ms']} ms"
          f"  p99 {rec['service']['p99_ms']} ms  max {rec['service']['max_ms']} ms"
          f"  (target p99 ≤ {TARGET_RECOMMEND_P99_MS} ms); units looked at: mean "
          f"{rec['units_looked_at']['mean']}, max {rec['units_looked_at']['max']}")
    print(f"  ranking alone (Redis script + ETA)      p50 {rec['ranking']['p50_ms']} ms"
          f"  p99 {rec['ranking']['p99_ms']} ms")
    with hubs(1, workers=args.workers, DISPATCH_POSITION_PUBLISH_SECONDS="2") as urls:
        pos = asyncio.run(positions(urls[0], args.units, args.rate_per_unit, args.seconds))
    print(f"positions ({args.workers} worker(s)): {pos['tablets']} tablets offered "
          f"{pos['offered_per_second']}/s for "
          f"{args.seconds:.0f} s; acknowledged {pos['acknowledged']}/{pos['offered']} "
          f"= {pos['acknowledged_per_second']}/s (target ≥ {TARGET_POSITIONS_PER_SECOND}/s); "
          f"reply p50 {pos['reply']['p50_ms']} ms p99 {pos['reply']['p99_ms']} ms; "
          f"errors {pos['errors'] or 'none'}")
    passed = (rec["service"]["p99_ms"] <= TARGET_RECOMMEND_P99_MS
              and pos["acknowledged_per_second"] >= TARGET_POSITIONS_PER_SECOND
              and not pos["unanswered"] and not pos["errors"])
    pos["workers"] = args.workers
    path = write_result("fleet", {"recommendation": rec, "positions": pos, "targets": {
        "recommend_p99_ms": TARGET_RECOMMEND_P99_MS,
        "positions_per_second": TARGET_POSITIONS_PER_SECOND}, "passed": passed})
    print(("PASS" if passed else "FAIL") + f" — written to {path}")
    raise SystemExit(0 if passed else 1)


if __name__ == "__main__":
    main()

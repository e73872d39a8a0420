"""Benchmark the quality indicators: a month of 100,000 incidents on PostgreSQL (target < 2 s).

    python -m loadtests.bench_quality [--incidents N] [--runs N] [--positions-per-job N] [--reuse]

Builds a fresh benchmark database (DISPATCH_BENCH_DATABASE_URL) holding a synthetic November
(loadtests/quality_month.py: calls, decisions, jobs, unit status changes and position reports,
handovers), then computes the month's indicators several times as the API does — reading the
records and computing every figure — and prints the timings with the machine's description.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text

from dispatch.db import create_engine, create_sessionmaker
from dispatch.fleet.models import UnitEvent
from dispatch.incidents.models import Incident
from dispatch.places.hours import zone_info
from dispatch.quality import chain as chains
from dispatch.quality import service
from loadtests import quality_month
from loadtests.common import BENCH_DATABASE_URL, prepare_database, write_result

TARGET_S = 2.0
TZ = zone_info("Asia/Shanghai")
START, END = datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ)


async def fill(incidents: int, positions: int) -> dict[str, Any]:
    engine = create_engine(BENCH_DATABASE_URL, pool_size=2)
    began = time.perf_counter()
    async with create_sessionmaker(engine)() as session:
        rows = await quality_month.fill(session, start=START, end=END, incidents=incidents,
                                        units=max(20, incidents // 400), positions_per_job=positions)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    return {"rows_written": rows, "fill_seconds": round(time.perf_counter() - began, 1)}


async def measure(runs: int) -> dict[str, Any]:
    engine = create_engine(BENCH_DATABASE_URL, pool_size=2)
    sessions = create_sessionmaker(engine)
    reads, computes, totals = [], [], []
    figures = None
    async with sessions() as session:
        held = {"incidents": await session.scalar(select(func.count()).select_from(Incident)),
                "unit_events": await session.scalar(select(func.count()).select_from(UnitEvent))}
    for _ in range(runs):
        async with sessions() as session:
            began = time.perf_counter()
            records = await chains.read(session=session, start=START, end=END)
            read = time.perf_counter()
            figures = service.figures(records, name="2026-11", start=START, end=END,
                                      answer_target_s=10.0, handover_target_minutes=15.0)
            done = time.perf_counter()
        reads.append(read - began)
        computes.append(done - read)
        totals.append(done - began)
    await engine.dispose()
    assert figures is not None
    return {
        "held": held,
        "runs": runs,
        "read_s": {"median": round(statistics.median(reads), 3), "max": round(max(reads), 3)},
        "compute_s": {"median": round(statistics.median(computes), 3), "max": round(max(computes), 3)},
        "total_s": {"median": round(statistics.median(totals), 3), "min": round(min(totals), 3),
                    "max": round(max(totals), 3)},
        "target_s": TARGET_S,
        "incidents_in_month": figures.incidents,
        "figures": {i.key: i.value for i in figures.indicators},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--positions-per-job", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="measure the database already filled")
    args = parser.parse_args()
    filled: dict[str, Any] = {}
    if not args.reuse:
        prepare_database()
        filled = asyncio.run(fill(args.incidents, args.positions_per_job))
        print(f"filled: {filled}")
    result = {"incidents": args.incidents, **filled, **asyncio.run(measure(args.runs))}
    path = write_result("quality", result)
    total = result["total_s"]
    print(f"held: {result['held']}")
    print(f"month of {result['incidents_in_month']} incidents: read {result['read_s']['median']} s + "
          f"compute {result['compute_s']['median']} s = {total['median']} s median "
          f"(min {total['min']}, max {total['max']}; target < {TARGET_S} s) over {args.runs} runs")
    print(f"figures: {result['figures']}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()

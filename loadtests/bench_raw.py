"""The bare reference: what a hub request must at least cost, on the hub's own packages.

    python -m loadtests.bench_raw [--requests 3000] [--concurrency 8]

A FastAPI app served by uvicorn (one worker, the hub's uvicorn options) whose one route
validates a pydantic body, runs one Lua script with redis.asyncio and inserts one row through
SQLAlchemy's async engine (asyncpg) in a transaction it commits. Nothing else: no
authentication, audit, events or middleware. `bench_requests` runs it in the same process tree
after the hub and prints the hub's CPU for a call's life against 15 of these requests.
CPU is read the same way as the hub's: the server process's CPU time from /proc before and
after the requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from sqlalchemy import Column, DateTime, Float, MetaData, String, Table, Uuid, insert
from sqlalchemy.ext.asyncio import create_async_engine

from dispatch.replay.http import HttpPool
from dispatch.replay.ownhub import cpu_seconds, free_port, wait_ready
from dispatch.replay.ownhub import stop as stop_server
from loadtests.common import BENCH_DATABASE_URL, BENCH_REDIS_URL, ROOT, Client, write_result

PATH = "/raw/calls"
METADATA = MetaData()
RAW_CALLS = Table(
    "bench_raw_calls", METADATA,
    Column("id", Uuid, primary_key=True),
    Column("telephony_id", String(128), nullable=False),
    Column("line", String(32), nullable=False),
    Column("rung_at", DateTime(timezone=True), nullable=False),
    Column("lat", Float), Column("lon", Float),
)
INSERT = insert(RAW_CALLS)
# Queue the call and count it: one atomic multi-key change, as the hub's scripts make.
SCRIPT = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], 'status', 'ringing', 'line', ARGV[3])
return redis.call('HINCRBY', KEYS[3], 'rung', 1)
"""


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0)


class RawCall(BaseModel):
    telephony_call_id: str = Field(min_length=1, max_length=128)
    line: str = Field(max_length=32)
    rung_at: datetime
    carrier_location: Location | None = None


def create_app(database_url: str, redis_url: str) -> FastAPI:
    """The bare app: one route, one Lua script, one committed insert."""
    engine = create_async_engine(database_url, pool_size=16)
    redis = Redis.from_url(redis_url, decode_responses=True)
    script = redis.register_script(SCRIPT)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(METADATA.create_all)
        try:
            yield
        finally:
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post(PATH, status_code=201)
    async def ring(body: RawCall) -> dict[str, Any]:
        call_id = uuid.uuid4()
        await script(keys=["raw:{acd}:ringing", f"raw:{{acd}}:call:{call_id}", "raw:{acd}:stats"],
                     args=[str(call_id), int(body.rung_at.timestamp() * 1000), body.line])
        location = body.carrier_location
        async with engine.begin() as connection:
            await connection.execute(INSERT, {
                "id": call_id, "telephony_id": body.telephony_call_id, "line": body.line,
                "rung_at": body.rung_at, "lat": location.lat if location else None,
                "lon": location.lon if location else None})
        return {"id": str(call_id), "status": "ringing"}

    return app


def uvicorn_main(port: int) -> None:
    """Serve the bare app (run in its own process, as the hub is)."""
    import uvicorn

    from dispatch.cli import uvicorn_options
    from dispatch.config import Settings

    options = uvicorn_options(Settings(log_level="WARNING"))
    uvicorn.run(create_app(BENCH_DATABASE_URL, BENCH_REDIS_URL), host="127.0.0.1", port=port,
                **options)  # type: ignore[arg-type]


@contextlib.contextmanager
def serve() -> Iterator[tuple[str, int]]:
    """Start the bare app on a free port; yield its URL and process id."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "loadtests.bench_raw", "--serve", str(port)],
                               cwd=ROOT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, deadline=time.monotonic() + 60)
        yield url, process.pid
    finally:
        stop_server(process)


def body() -> dict[str, Any]:
    return {"telephony_call_id": f"raw-{uuid.uuid4().hex[:16]}", "line": "120-1",
            "rung_at": datetime.now(UTC).isoformat(),
            "carrier_location": {"lat": 34.2, "lon": 108.9, "accuracy_m": 50}}


class Bare:
    """A client of the bare app, sending it chunks of requests and adding up the CPU the app
    spent on the chunks counted (bench_requests sends one between each of the hub's steps)."""

    def __init__(self, url: str, pid: int, concurrency: int,
                 headers: dict[str, str] | None = None) -> None:
        self.pid = pid
        self.http = Client(HttpPool(url, size=concurrency), headers or {})
        self.gate = asyncio.Semaphore(concurrency)
        self.cpu = 0.0
        self.requests = 0

    async def _one(self) -> None:
        async with self.gate:
            reply = await self.http.send("POST", PATH, body())
            if reply.status != 201:
                raise RuntimeError(f"bare request: {reply.status} {reply.body[:200]!r}")

    async def chunk(self, requests: int, *, counted: bool = True) -> None:
        before = cpu_seconds(self.pid) or 0.0
        await asyncio.gather(*(self._one() for _ in range(requests)))
        if counted:
            self.cpu += (cpu_seconds(self.pid) or 0.0) - before
            self.requests += requests

    @property
    def cpu_ms(self) -> float:
        """CPU milliseconds of the bare app a request counted."""
        return 1000 * self.cpu / self.requests

    async def close(self) -> None:
        await self.http.pool.close()


async def measure(url: str, pid: int, *, requests: int, concurrency: int,
                  headers: dict[str, str] | None = None) -> dict[str, float]:
    """CPU milliseconds of the bare app per request (after a warm-up of 200 requests)."""
    bare = Bare(url, pid, concurrency, headers)
    try:
        await bare.chunk(200, counted=False)
        started = time.perf_counter()
        await bare.chunk(requests)
        took = time.perf_counter() - started
    finally:
        await bare.close()
    return {"requests": requests, "cpu_ms": round(bare.cpu_ms, 3),
            "wall_ms": round(1000 * took / requests * concurrency, 3)}


def run(requests: int, concurrency: int, headers: dict[str, str] | None = None) -> dict[str, float]:
    """Start the bare app, measure it, stop it."""
    with serve() as (url, pid):
        return asyncio.run(measure(url, pid, requests=requests, concurrency=concurrency,
                                   headers=headers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        uvicorn_main(args.serve)
        return
    from loadtests.common import prepare_database

    prepare_database()
    result = run(args.requests, args.concurrency)
    print(f"bare request: {result['cpu_ms']:.3f} ms of CPU, {result['wall_ms']:.2f} ms wall "
          f"({result['requests']} requests at concurrency {args.concurrency})")
    print(f"results: {write_result('raw', {'concurrency': args.concurrency, **result})}")


if __name__ == "__main__":
    main()

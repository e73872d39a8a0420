"""Shared pieces of the benchmarks: hub processes, percentiles, machine description, results."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

from dispatch.replay.http import HttpPool
from dispatch.replay.ownhub import free_port, wait_ready
from dispatch.replay.ownhub import stop as stop_hub

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "loadtests" / "results"
BENCH_DATABASE_URL = os.environ.get(
    "DISPATCH_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/dispatch_bench"
)
BENCH_REDIS_URL = os.environ.get("DISPATCH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
BENCH_PREFIX = "bench"
# Signs the benchmark's own tokens; made afresh for every run, never stored. Kept in the
# environment so that the client processes a benchmark spawns sign with the same key.
BENCH_SECRET = os.environ.setdefault("DISPATCH_BENCH_SECRET_KEY", os.urandom(32).hex())


def bench_token(*roles: str, unit_id: str | None = None, name: str = "bench") -> str:
    """A token the benchmark hubs accept (they are started with BENCH_SECRET)."""
    from datetime import timedelta

    from dispatch.auth import tokens
    from dispatch.auth.schemas import Principal, Role

    chosen = frozenset(Role(r) for r in roles) if roles else frozenset(Role)
    issued, _ = tokens.issue(Principal(name=name, roles=chosen, unit_id=unit_id),
                             key=BENCH_SECRET, now=datetime.now(UTC), lifetime=timedelta(hours=6))
    return issued


def auth_headers(*roles: str, unit_id: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {bench_token(*roles, unit_id=unit_id)}"}


@dataclass
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class Client:
    """JSON over the replay's lean HTTP client (a general client costs more CPU than the hub)."""

    def __init__(self, pool: HttpPool, headers: dict[str, str]) -> None:
        self.pool, self.headers = pool, headers

    async def send(self, method: str, path: str, body: Any = None,
                   headers: dict[str, str] | None = None) -> Reply:
        status, payload = await self.pool.request(
            method, path, headers=headers or self.headers,
            body=orjson.dumps(body) if body is not None else None)
        return Reply(status, payload)

    async def post(self, path: str, body: Any) -> Reply:
        return await self.send("POST", path, body)

    async def put(self, path: str, body: Any) -> Reply:
        return await self.send("PUT", path, body)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0–100) by the nearest-rank method; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max of durations given in seconds, in milliseconds."""
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 3),
        "p90_ms": round(percentile(values, 90) * 1000, 3),
        "p99_ms": round(percentile(values, 99) * 1000, 3),
        "max_ms": round(max(values) * 1000, 3) if values else float("nan"),
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _command(*args: str) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=5, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "redis_server": _command("redis-server", "--version"),
        "postgresql": _command("psql", "--version"),
        "packages": {p: _version(p) for p in (
            "fastapi", "uvicorn", "websockets", "starlette", "sqlalchemy", "asyncpg", "redis",
            "hiredis", "orjson", "pydantic", "shapely",
        )},
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **result}, indent=2, default=str))
    return path


def hub_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DISPATCH_DATABASE_URL": BENCH_DATABASE_URL,
        "DISPATCH_REDIS_URL": BENCH_REDIS_URL,
        "DISPATCH_REDIS_PREFIX": BENCH_PREFIX,
        "DISPATCH_LOG_LEVEL": "WARNING",
        "DISPATCH_SECRET_KEY": BENCH_SECRET,
        "DISPATCH_INTAKE_RATE_PER_SECOND": "100000",
    }
    env.update(extra)
    return env


def prepare_database() -> None:
    """Create the benchmark database afresh (empty, migrated) and flush the benchmark Redis."""
    import asyncio

    from dispatch.db import recreate_database
    from dispatch.redis import create_redis

    async def create() -> None:
        await recreate_database(BENCH_DATABASE_URL)
        redis = create_redis(BENCH_REDIS_URL, pool_size=4)
        await redis.flushdb()
        await redis.aclose()

    asyncio.run(create())
    subprocess.run([sys.executable, "-m", "dispatch.cli", "migrate"], env=hub_env(),
                   check=True, capture_output=True, cwd=ROOT)


class HubUrl(str):
    """A hub's base URL, with the process id that serves it (its workers are its children)."""

    pid: int = 0


@contextlib.contextmanager
def hubs(count: int, *, workers: int = 1, **env: str) -> Iterator[list[HubUrl]]:
    """Start `count` hub processes on free ports; yield their base URLs."""
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[HubUrl] = []
    try:
        for _ in range(count):
            port = free_port()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dispatch.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(port), "--workers", str(workers)],
                env=hub_env(**env), cwd=ROOT, start_new_session=True,
            ))
            url = HubUrl(f"http://127.0.0.1:{port}")
            url.pid = procs[-1].pid
            urls.append(url)
        deadline = time.monotonic() + 60
        for url, proc in zip(urls, procs, strict=True):
            wait_ready(url, proc, deadline=deadline)
        yield urls
    finally:
        for proc in procs:  # the whole process group: an overloaded worker may outlive its master
            stop_hub(proc)

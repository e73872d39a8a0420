"""A hub the replay starts itself: a fresh or existing database, the stream's scenario, N workers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from dispatch.config import Settings
from dispatch.lifespan import redact

PREFIX = "replay"


class HubStartError(Exception):
    """The replay's own hub could not be prepared or started."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _recreate(database_url: str, redis_url: str) -> None:
    from sqlalchemy.engine import make_url

    from dispatch.db import recreate_database
    from dispatch.redis import create_redis

    url = make_url(database_url)
    if not url.database or "replay" not in url.database:
        raise HubStartError(f"--fresh drops the database: its name must contain 'replay' "
                            f"(got {url.database!r})")
    await recreate_database(database_url)
    redis = create_redis(redis_url, pool_size=4)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


async def _load(settings: Settings, scenario: dict[str, Any]) -> None:
    from dispatch import migrate
    from dispatch.lifespan import open_runtime
    from dispatch.scenarios.schemas import Scenario
    from dispatch.workflows import scenario as scenario_workflow

    await migrate.upgrade(settings.effective_database_url)
    model = Scenario.model_validate(scenario)
    async with open_runtime(settings) as rt, rt.sessionmaker() as session:
        await scenario_workflow.load_scenario(
            session=session, redis=rt.redis, keys=rt.keys, scenario=model, checksum="replay",
            now=rt.clock.now(), actor="replay")


def prepare(database_url: str, redis_url: str, scenario: dict[str, Any], *, fresh: bool) -> None:
    """Create (if `fresh`) and migrate the database, and load the scenario."""
    async def run() -> None:
        if fresh:
            await _recreate(database_url, redis_url)
        settings = Settings(database_url=database_url, redis_url=redis_url, redis_prefix=PREFIX)
        await _load(settings, scenario)

    try:
        asyncio.run(run())
    except HubStartError:
        raise
    except Exception as error:
        raise HubStartError(f"could not prepare {redact(database_url)}: "
                            f"{type(error).__name__}: {str(error)[:200]}") from None


def processes() -> dict[int, tuple[int, str, float, float]] | None:
    """Every process's parent, name, CPU seconds so far and CPU seconds of its children that
    have exited (Linux /proc), None elsewhere."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    found: dict[int, tuple[int, str, float, float]] = {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as handle:
                head, tail = handle.read().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        found[int(name)] = (int(fields[1]), head.split("(", 1)[1],
                            (int(fields[11]) + int(fields[12])) / ticks,
                            (int(fields[13]) + int(fields[14])) / ticks)
    return found


def cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by a process and its children (Linux /proc), None elsewhere."""
    found = processes()
    if found is None or pid not in found:
        return None
    # workers are children of the serving process
    return sum(used for p, (parent, _, used, _) in found.items() if p == pid or parent == pid)


SERVERS = {"postgres": "postgresql", "redis-server": "redis"}
LOCAL = {"127.0.0.1", "localhost", "::1", "", None}


def local_servers(database_url: str, redis_url: str) -> set[str]:
    """Which of the hub's servers run on this host (their CPU can be read here)."""
    from sqlalchemy.engine import make_url

    found = set()
    if make_url(database_url).get_backend_name() == "postgresql" and make_url(database_url).host in LOCAL:
        found.add("postgresql")
    if urlsplit(redis_url).hostname in LOCAL:
        found.add("redis")
    return found


def server_cpu_seconds(servers: set[str]) -> dict[str, float]:
    """CPU time used so far by the PostgreSQL and Redis servers running on this host (their
    processes by name, with the backends that have exited), to show what a run costs the
    servers beside the hub."""
    found = processes() or {}
    totals = dict.fromkeys(servers, 0.0)
    for _, name, used, reaped in found.values():
        server = SERVERS.get(name.split(":", 1)[0].strip())
        if server in totals:
            totals[server] += used + reaped
    return totals


@contextlib.contextmanager
def serve(database_url: str, redis_url: str, *, workers: int,
          extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, str, int]]:
    """Run `dispatch serve` on a free port; yield its URL, the key that signs its tokens, and
    the serving process's id."""
    key = secrets.token_urlsafe(48)
    port = free_port()
    env = {
        **os.environ,
        "DISPATCH_DATABASE_URL": database_url, "DISPATCH_REDIS_URL": redis_url,
        "DISPATCH_REDIS_PREFIX": PREFIX, "DISPATCH_SECRET_KEY": key,
        "DISPATCH_INTAKE_RATE_PER_SECOND": "1000000", "DISPATCH_LOG_LEVEL": "WARNING",
        # Workers share PostgreSQL with others (max_connections is often 100); each may open
        # twice its pool size.
        "DISPATCH_DATABASE_POOL_SIZE": "10",
        **(extra_env or {}),
    }
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "dispatch.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)], env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, deadline=time.monotonic() + 60)
        time.sleep(0.5 * workers)  # every worker up, not only the first
        yield url, key, process.pid
    finally:
        stop(process)


def wait_ready(url: str, process: subprocess.Popen[bytes], *, deadline: float) -> None:
    """Wait until the hub at `url` answers /readyz (HubStartError if it exits first or is not
    ready by `deadline`, a time.monotonic() value)."""
    while True:
        if process.poll() is not None:
            raise HubStartError(f"the hub at {url} exited with {process.returncode} while starting")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise HubStartError(f"the hub at {url} did not become ready in time")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the hub and its workers (its own process group): politely, then for good.

    An overloaded worker may not finish its shutdown in time, and would outlive a master killed
    alone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)

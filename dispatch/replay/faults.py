"""Faults a replay injects at given moments, so an operator can rehearse a failure during a
surge: Redis flushed or restarted (live state lost), one of the hub's two workers killed,
PostgreSQL restarted. Each is recorded on the run's timeline from the moment it is injected to
the moment the hub is whole again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from dataclasses import dataclass
from typing import Any

import httpx

from dispatch.livestate import LIVE
from dispatch.redis import Keys, create_redis
from dispatch.replay.ownhub import processes
from dispatch.replay.record import Recorder
from dispatch.replay.servers import PostgresServer, RedisServer

log = logging.getLogger(__name__)

KINDS = {
    "redis-flush": "FLUSHDB on the hub's Redis database (a failover to an empty replica)",
    "redis-restart": "the hub's Redis killed and started again empty",
    "hub-kill": "one of the hub's two workers killed (SIGKILL)",
    "postgres-restart": "PostgreSQL stopped (immediate, like a crash) and started again",
}
# Faults that need a server of the replay's own, started for the run: restarting a shared one
# would hit everyone else using it.
PRIVATE = frozenset({"redis-restart", "postgres-restart"})
DOWN_SECONDS = 3.0  # a restarted server stays down this long
RECOVERY_TIMEOUT = 60.0
POLL_SECONDS = 0.1
TIME = re.compile(r"(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


@dataclass(frozen=True)
class Fault:
    kind: str
    at_s: float  # wall seconds into the run

    @property
    def label(self) -> str:
        return f"{self.kind}@{self.at_s:g}s"


def parse(spec: str) -> Fault:
    """`KIND@TIME`, TIME in seconds into the run (`40s`, `40`, `1m30s`)."""
    kind, _, when = spec.partition("@")
    match = TIME.fullmatch(when)
    if kind not in KINDS or not when or match is None or not any(match.groups()):
        raise ValueError(f"--fault {spec!r}: expected KIND@TIME (e.g. redis-flush@40s), KIND one "
                         f"of {', '.join(KINDS)}")
    minutes, seconds = match.groups()
    return Fault(kind, float(minutes or 0) * 60 + float(seconds or 0))


@dataclass
class Target:
    """What a fault acts on: the hub's Redis, its serving process, the private servers."""

    hub_url: str
    redis_url: str | None
    redis_prefix: str
    hub_pid: int | None = None
    workers: int = 0
    redis: RedisServer | None = None
    postgres: PostgresServer | None = None


def private_server(fault: Fault, target: Target) -> RedisServer | PostgresServer | None:
    return target.redis if fault.kind == "redis-restart" else target.postgres


def check(faults: list[Fault], target: Target) -> None:
    """Refuse faults this run cannot inject (ValueError naming the option)."""
    for fault in faults:
        if fault.kind == "redis-flush" and not target.redis_url:
            raise ValueError(f"--fault {fault.label}: needs the hub's Redis (--redis-url)")
        if fault.kind in PRIVATE and private_server(fault, target) is None:
            raise ValueError(f"--fault {fault.label}: only on a hub the replay starts itself")
        if fault.kind == "hub-kill" and (target.hub_pid is None or target.workers < 2):
            raise ValueError(f"--fault {fault.label}: needs a hub the replay starts itself with "
                             "--workers 2 or more")


def workers_of(pid: int) -> list[int]:
    """The serving process's worker processes (Linux /proc): its children that multiprocessing
    spawned to serve, not its resource tracker."""
    found = []
    for child, (parent, _, _, _) in (processes() or {}).items():
        if parent != pid:
            continue
        try:
            with open(f"/proc/{child}/cmdline", "rb") as handle:
                if b"spawn_main" in handle.read():
                    found.append(child)
        except OSError:
            continue
    return sorted(found)


async def _redis_call(url: str, method: str, *args: Any) -> Any:
    client = create_redis(url, pool_size=4)  # one server, a cluster or Sentinel's master
    try:
        return await getattr(client, method)(*args)
    finally:
        await client.aclose()


async def inject(fault: Fault, target: Target) -> str:
    """Cause the fault; returns what was done, in a few words."""
    if fault.kind == "redis-flush":
        assert target.redis_url is not None
        await _redis_call(target.redis_url, "flushdb")
        return "FLUSHDB"
    if fault.kind == "hub-kill":
        assert target.hub_pid is not None
        victims = workers_of(target.hub_pid)
        if not victims:
            return "no worker found"
        os.kill(victims[0], signal.SIGKILL)
        return f"worker {victims[0]} killed"
    server = private_server(fault, target)
    assert server is not None
    await asyncio.to_thread(server.stop)
    await asyncio.sleep(DOWN_SECONDS)
    await asyncio.to_thread(server.start)
    return f"down {DOWN_SECONDS:g} s"


async def ready(hub_url: str) -> bool:
    async with httpx.AsyncClient(base_url=hub_url, timeout=2) as http:
        return (await http.get("/readyz")).status_code == 200


async def whole(fault: Fault, target: Target) -> bool:
    """Whether the hub is whole again after the fault: live state rebuilt in Redis, the killed
    worker replaced, the hub ready on its database."""
    if fault.kind in ("redis-flush", "redis-restart"):
        assert target.redis_url is not None
        return bool(await _redis_call(target.redis_url, "exists",
                                      Keys(target.redis_prefix).marker(LIVE)))
    if (fault.kind == "hub-kill" and target.hub_pid is not None
            and len(workers_of(target.hub_pid)) < target.workers):
        return False
    return await ready(target.hub_url)


async def run(faults: list[Fault], target: Target, recorder: Recorder) -> None:
    """Inject each fault at its time and record it on the timeline until the hub is whole."""
    for fault in sorted(faults, key=lambda f: f.at_s):
        delay = recorder.started + fault.at_s - recorder.now()
        if delay > 0:
            await asyncio.sleep(delay)
        entry: dict[str, Any] = {"kind": fault.kind, "label": fault.label,
                                 "what": KINDS[fault.kind],
                                 "at_s": round(recorder.now() - recorder.started, 2)}
        recorder.faults.append(entry)
        try:
            entry["done"] = await inject(fault, target)
        except Exception as error:  # recorded: the report says the fault did not happen
            entry["done"] = f"failed: {type(error).__name__}: {str(error)[:80]}"
            recorder.error(f"fault {fault.kind}: not injected")
            continue
        entry["injected_s"] = round(recorder.now() - recorder.started, 2)
        deadline = recorder.now() + RECOVERY_TIMEOUT
        while recorder.now() < deadline:
            with contextlib.suppress(Exception):  # the servers may be away a while yet
                if await whole(fault, target):
                    entry["whole_s"] = round(recorder.now() - recorder.started, 2)
                    break
            await asyncio.sleep(POLL_SECONDS)
        else:
            recorder.error(f"fault {fault.kind}: hub not whole after {RECOVERY_TIMEOUT:g} s")
        log.info("fault %s: %s", fault.label, entry)

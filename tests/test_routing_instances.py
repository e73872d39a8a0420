"""A change made on one instance applies to the next decision on every instance."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from dispatch import versions
from dispatch.redis import Keys
from tests import factories
from tests.conftest import client_for, running

SEALED = {"lat": 34.233, "lon": 108.856, "severity": "urgent"}
RULES_V2 = """
name: guarantee only
defaults:
  transport: {mode: ambulance, capabilities: [ambulance]}
fallback:
  - {nearest: [emergency]}
rules:
  - id: guarantee
    seed: "000 二(四)2"
    then:
      destination: [{designated: guarantee}]
"""


@contextlib.asynccontextmanager
async def client_of(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


def loads(app: Any, name: str) -> int:
    cache: versions.VersionedCache[Any] = app.state.runtime.caches["cache:" + name]
    return cache.loads


@pytest.mark.committed
async def test_changes_reach_every_instance(make_app: Callable[..., Any]) -> None:
    first, second = make_app(), make_app()
    async with running(first), running(second), client_of(first) as a, client_of(second) as b:
        await factories.load_builtin(first)
        decision = (await b.post("/api/v1/routing/evaluate", json=SEALED)).json()
        assert (decision["destination"]["hospital_id"], decision["zone"]["status"]) == (
            "xian-first", "sealed")
        assert decision["rule_set_version"] == 1
        warm = {name: loads(second, name) for name in ("zones", "hospitals", "rules")}
        await b.post("/api/v1/routing/evaluate", json=SEALED)
        assert {name: loads(second, name) for name in warm} == warm  # served from the caches

        # A hospital suspended on the first instance is never chosen on the second.
        suspended = await a.patch("/api/v1/hospitals/xian-first", json={"status": "suspended"})
        assert suspended.status_code == 200
        decision = (await b.post("/api/v1/routing/evaluate", json=SEALED)).json()
        assert decision["destination"]["hospital_id"] == "xian-medical-university-first"
        assert loads(second, "hospitals") == warm["hospitals"] + 1
        assert loads(second, "zones") == warm["zones"]

        # A zone lifted on the first instance is lifted for the second's next decision.
        lifted = await a.patch("/api/v1/zones/yuhua-sealed-1", json={"status": "precaution"})
        assert lifted.status_code == 200
        decision = (await b.post("/api/v1/routing/evaluate", json=SEALED)).json()
        assert (decision["zone"]["id"], decision["zone"]["status"]) == (
            "yuhua-controlled-1", "controlled")  # the strictest zone left at that point
        lookup = (await b.get("/api/v1/zones/lookup", params={"lat": 34.233, "lon": 108.856})).json()
        assert lookup["overlapping"] == ["yuhua-controlled-1", "yuhua-sealed-1"]

        # A rule set activated on the first instance decides on the second.
        uploaded = await a.post("/api/v1/routing/rule-sets", params={"activate": "true"},
                                content=RULES_V2, headers={"content-type": "application/yaml"})
        assert uploaded.status_code == 201
        decision = (await b.post("/api/v1/routing/evaluate", json=SEALED)).json()
        assert decision["rule_set_version"] == 2
        assert [m["id"] for m in decision["matched_rules"]] == ["guarantee"]
        rolled = await b.post("/api/v1/routing/rule-sets/rollback")
        assert rolled.json()["version"] == 1
        assert (await a.post("/api/v1/routing/evaluate", json=SEALED)).json()["rule_set_version"] == 1


@pytest.mark.committed
async def test_only_one_default_rule_set_for_many_instances(make_app: Callable[..., Any]) -> None:
    apps = [make_app() for _ in range(3)]
    async with running(apps[0]), running(apps[1]), running(apps[2]), client_of(apps[2]) as c:
        listed = (await c.get("/api/v1/routing/rule-sets")).json()
        assert [(r["version"], r["active"]) for r in listed] == [(1, True)]


async def test_counters_never_repeat_after_redis_loses_them(redis: Redis) -> None:
    keys = Keys("test")
    first = (await versions.bump(redis, keys, versions.ZONES, versions.RULES))
    assert first[versions.ZONES] > 1_600_000_000_000_000  # starts from wall-clock microseconds
    again = (await versions.bump(redis, keys, versions.ZONES))[versions.ZONES]
    assert again > first[versions.ZONES]
    await redis.flushdb()
    assert (await versions.read(redis, keys, versions.ZONES)) == {versions.ZONES: None}
    after = (await versions.bump(redis, keys, versions.ZONES))[versions.ZONES]
    assert after > again  # a copy cached at `again` is seen as stale
    assert (await versions.read(redis, keys, versions.ZONES)) == {versions.ZONES: str(after)}


async def test_cache_serves_its_copy_while_redis_is_unreachable(app: Any) -> None:
    rt = app.state.runtime
    calls: list[int] = []

    async def loader(session: Any) -> int:
        calls.append(1)
        return len(calls)

    cache = versions.VersionedCache(counter="test", loader=loader)
    assert await cache.get(rt) == 1
    assert await cache.get(rt) == 1
    await versions.bump(rt.redis, rt.keys, "test")
    assert await cache.get(rt) == 2  # the counter moved: reloaded
    unreachable = await versions.read(Redis.from_url("redis://127.0.0.1:1/0"), rt.keys, "test")
    assert unreachable == {"test": versions.UNKNOWN}
    assert await cache.get_at(rt, versions.UNKNOWN) == 2  # kept while it cannot tell
    cache.max_age = 0
    assert await cache.get_at(rt, versions.UNKNOWN) == 3  # but not forever

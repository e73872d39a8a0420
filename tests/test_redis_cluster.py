"""The hub on a real Redis Cluster: two instances share three masters (and PostgreSQL).

`.ci/services` starts the cluster on 127.0.0.1:7101-7103 (DISPATCH_TEST_REDIS_CLUSTER_URL to
use another). Each test keeps its keys under a prefix of its own, so runs can share the cluster;
the keys are removed afterwards. Without the cluster the tests skip, in CI they fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis, RedisCluster
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from websockets.asyncio.client import ClientConnection

from dispatch import livestate
from dispatch.config import Settings
from dispatch.handovers.models import Handover
from dispatch.main import create_app
from dispatch.realtime.models import Event
from dispatch.redis import Keys, create_redis
from dispatch.redis_url import parse_redis_url
from tests import factories
from tests.conftest import client_for, running, serve, unavailable
from tests.realtime_helpers import open_socket
from tests.test_acd import run_against_the_model

CLUSTER_URL = os.environ.get(
    "DISPATCH_TEST_REDIS_CLUSTER_URL",
    "redis+cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103/")


def own_prefix() -> str:
    return "t" + uuid.uuid4().hex[:12]


async def remove_keys(client: Redis, prefix: str) -> int:
    """Delete every key under `prefix` (SCAN runs on each master of a cluster)."""
    found = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
    for start in range(0, len(found), 500):
        await client.delete(*found[start:start + 500])
    return len(found)


@pytest.fixture
async def cluster(settings: Settings) -> AsyncIterator[tuple[Settings, Redis]]:
    """Settings for hub instances on the cluster (timers on), and a client of it."""
    client = create_redis(CLUSTER_URL)
    try:
        async with asyncio.timeout(5):
            states = await client.cluster_info(target_nodes=RedisCluster.PRIMARIES)  # type: ignore[attr-defined]
    except Exception as error:
        await client.aclose()
        unavailable(f"the Redis Cluster at {CLUSTER_URL}", error)
    assert [info["cluster_state"] for info in states.values()] == ["ok"] * 3, states  # by master
    prefix = own_prefix()
    conf = settings.model_copy(update={
        "redis_url": CLUSTER_URL, "redis_prefix": prefix, "background_tasks": True})
    try:
        yield conf, client
    finally:
        await remove_keys(client, prefix)
        await client.aclose()


async def until_event(ws: ClientConnection, type_: str, *, timeout: float = 5.0,
                      **data: Any) -> dict[str, Any]:
    """The next event of `type_` whose data has the given values (other frames are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if (frame["kind"] == "event" and frame["type"] == type_
                    and all(frame["data"].get(k) == v for k, v in data.items())):
                return dict(frame)


async def ok(http: httpx.AsyncClient, method: str, url: str, body: Any = None, *,
             status: int = 200, **headers: str) -> Any:
    reply = await http.request(method, url, json=body, headers=headers)
    assert reply.status_code == status, (method, url, reply.text)
    return reply.json()


@pytest.mark.committed
async def test_a_call_from_ring_to_handover_across_two_instances_on_a_cluster(
    cluster: tuple[Settings, Redis], committed: AsyncEngine
) -> None:
    conf, redis = cluster
    keys = Keys(conf.redis_prefix)
    one, two = create_app(conf), create_app(conf)
    async with running(one), running(two), serve(one) as address, \
            client_for(one, "http://one") as a, client_for(two, "http://two") as b:
        assert isinstance(one.state.runtime.redis, RedisCluster)
        await factories.load(two, factories.small_scenario())
        console, _ = await open_socket(address, "/ws/console")  # on instance one
        async with console:
            # A call-taker logs in on two; the call rings on one and is answered on two.
            await ok(b, "POST", "/api/v1/positions/P1/login", {"user": "li", "ready": True})
            call = await ok(a, "POST", "/api/v1/calls", {
                "telephony_call_id": f"cluster-{uuid.uuid4().hex[:8]}", "line": "120-1",
                "caller_number": "13800001111", "rung_at": datetime.now(UTC).isoformat()},
                status=201)
            await until_event(console, "call.ringing", call_id=call["id"])
            offered = await until_event(console, "call.offered", call_id=call["id"])
            assert offered["data"]["position_id"] == "P1"
            answered = await ok(b, "POST", f"/api/v1/calls/{call['id']}/answer",
                                {"position_id": "P1"})
            assert answered["answered_by"] == "P1"
            await until_event(console, "call.answered", call_id=call["id"])  # two's event, seen on one

            # The incident is recorded on one, its unit assigned on two, acknowledged on one.
            incident = await ok(a, "POST", "/api/v1/incidents", {
                "call_id": call["id"], "location": {"lat": 34.18, "lon": 108.85},
                "severity": "urgent", "category": "ordinary", "complaint": "fall"}, status=201)
            assert (incident["zone_status"], incident["sub_district_id"]) == ("sealed", "north")
            best = await ok(b, "GET", f"/api/v1/incidents/{incident['id']}/recommendations")
            unit = best["candidates"][0]["unit_id"]
            job = await ok(b, "POST", "/api/v1/assignments",
                           {"incident_id": incident["id"], "unit_id": unit}, status=201)
            await until_event(console, "assignment.confirmed", id=job["id"])
            await ok(a, "POST", f"/api/v1/assignments/{job['id']}/acknowledge", {})

            # Crew statuses alternate between the instances. A retried tap (the same
            # Idempotency-Key) is answered from the first response, whichever instance gets it.
            key = "tap-" + uuid.uuid4().hex
            first = await b.post(f"/api/v1/units/{unit}/status", json={"status": "en_route"},
                                 headers={"Idempotency-Key": key})
            retry = await a.post(f"/api/v1/units/{unit}/status", json={"status": "en_route"},
                                 headers={"Idempotency-Key": key})
            assert first.status_code == retry.status_code == 200, (first.text, retry.text)
            assert retry.headers.get("idempotent-replayed") == "true"
            assert retry.json() == first.json()
            for n, to in enumerate(("on_scene", "transporting", "at_hospital")):
                await ok(a if n % 2 == 0 else b, "POST", f"/api/v1/units/{unit}/status",
                         {"status": to})
            await until_event(console, "unit.status", unit_id=unit, status="at_hospital")
            await ok(b, "POST", f"/api/v1/units/{unit}/status",
                     {"status": "handover_done", "reason": "triage nurse took the patient"})
            await until_event(console, "unit.status", unit_id=unit, status="handover_done")
            assert (await ok(a, "GET", f"/api/v1/units/{unit}"))["status"] == "handover_done"

            # Redis loses the live state (here: its marker): an instance rebuilds it from
            # PostgreSQL, the consoles are told, and both instances read the same board again.
            await redis.delete(keys.marker(livestate.LIVE))
            await until_event(console, "hub.resync")
            for http in (a, b):
                assert (await ok(http, "GET", f"/api/v1/units/{unit}"))["status"] == "handover_done"
                positions = {p["id"]: p["state"] for p in await ok(http, "GET", "/api/v1/positions")}
                assert positions["P1"] == "on_call"

        # The archivers (a consumer group on the stream, one per instance) copied the events.
        async with one.state.runtime.sessionmaker() as session:
            for _ in range(100):
                types = set((await session.scalars(select(Event.type))).all())
                if {"call.answered", "assignment.confirmed", "unit.status"} <= types:
                    break
                await asyncio.sleep(0.1)
            [handover] = (await session.scalars(select(Handover))).all()
        assert {"call.ringing", "call.answered", "assignment.confirmed", "unit.status"} <= types
        assert handover.status == "handed_over"

    # The call-distribution and fleet keys each share one slot; the hub used several masters.
    ours = [k async for k in redis.scan_iter(match=f"{conf.redis_prefix}:*", count=1000)]
    slots = {tag: {redis.keyslot(k) for k in ours if "{" + tag + "}" in k}  # type: ignore[attr-defined]
             for tag in ("acd", "fleet", "events")}
    assert all(len(found) == 1 for found in slots.values()), slots
    nodes = {redis.get_node_from_key(k).name for k in ours}  # type: ignore[attr-defined]
    # {acd} and {fleet} hash to slots on two masters whatever the prefix; the keys without a tag
    # (versions, markers, the intake counter) fall where the random prefix makes them.
    assert len(nodes) >= 2, nodes


async def test_call_distribution_matches_its_model_on_a_cluster(
    cluster: tuple[Settings, Redis],
) -> None:
    conf, client = cluster
    await run_against_the_model(client, Keys(conf.redis_prefix))


@pytest.mark.committed
async def test_intake_limit_and_login_throttle_on_a_cluster(
    cluster: tuple[Settings, Redis], committed: AsyncEngine
) -> None:
    """The per-second intake counter and the login lockout (an MGET and transactions) work
    when their keys live on a cluster."""
    conf, _ = cluster
    app = create_app(conf.model_copy(update={"intake_rate_per_second": 1,
                                             "login_failures_per_user": 2}))
    async with running(app), client_for(app) as http:
        await factories.load(app, factories.small_scenario())
        codes = [(await http.post("/api/v1/calls", json={
            "telephony_call_id": f"burst-{n}-{uuid.uuid4().hex[:6]}", "line": "120-1",
            "rung_at": datetime.now(UTC).isoformat()})).status_code for n in range(3)]
        # Three calls within well under two seconds: at most two seconds' worth get through.
        assert codes.count(201) in (1, 2), codes
        assert 429 in codes, codes
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://hub") as anonymous:
            tries = [(await anonymous.post("/api/v1/auth/login", json={
                "username": "nobody", "password": f"wrong-{n}"})).status_code for n in range(3)]
    assert tries == [401, 401, 429]


def hub_connections(clients: list[dict[str, Any]], name: str) -> int:
    return sum(1 for c in clients if c.get("name") == name)


async def connections_named(url: str, name: str) -> int:
    """Connections that CLIENT LIST shows under `name`, on every server behind `url`."""
    target = parse_redis_url(url)
    servers = ([Redis(host=h, port=p) for h, p in target.nodes] if target.kind == "cluster"
               else [Redis.from_url(url)])
    count = 0
    for server in servers:
        try:
            count += hub_connections(await server.client_list(), name)
        finally:
            await server.aclose()
    return count


@pytest.mark.parametrize("where", ["one server", "cluster"])
async def test_the_hub_closes_its_redis_connections_when_it_stops(
    where: str, settings: Settings, db: AsyncConnection, redis: Redis
) -> None:
    url = settings.redis_url if where == "one server" else CLUSTER_URL
    assert url is not None
    if where == "cluster":
        try:
            await connections_named(url, "-")
        except Exception as error:
            unavailable(f"the Redis Cluster at {CLUSTER_URL}", error)
    prefix = own_prefix()
    name = f"dispatch:{prefix}"
    app = create_app(settings.model_copy(update={"redis_url": url, "redis_prefix": prefix}),
                     database_bind=db)
    try:
        async with running(app), client_for(app) as http:
            await factories.load(app, factories.small_scenario())
            assert (await http.get("/api/v1/units")).status_code == 200
            assert (await http.get("/readyz")).status_code == 200
            running_with = await connections_named(url, name)
        assert running_with >= 1
        assert await connections_named(url, name) == 0
    finally:
        if where == "cluster":
            cleaner = create_redis(url)
            await remove_keys(cleaner, prefix)
            await cleaner.aclose()

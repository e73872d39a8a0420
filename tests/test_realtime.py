"""Real-time push: ordering, resume, resync, slow consumers, client messages, several instances."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from websockets.exceptions import ConnectionClosed

from dispatch.clock import ManualClock
from dispatch.config import Settings
from dispatch.main import create_app
from dispatch.metrics import Metrics
from dispatch.realtime import archive
from dispatch.realtime.models import Event
from dispatch.realtime.schemas import Scope
from dispatch.realtime.service import EventBus
from dispatch.redis import create_redis
from dispatch.runtime import Runtime
from tests import factories
from tests.conftest import AUTH, running, serve
from tests.realtime_helpers import events, next_frame, no_event, open_socket


def runtime(app: Any) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


async def emit_many(app: Any, count: int, *, start: int = 0, type_: str = "test.seq",
                    scope: Scope | None = None, payload: str = "") -> list[str]:
    """Publish `count` events one by one; return their stream ids."""
    rt = runtime(app)
    ids = []
    for n in range(start, start + count):
        event = await rt.bus.emit(type_, {"n": n, "pad": payload}, scope=scope or Scope())
        ids.append(event.id)
    return [i for i in ids if i]


async def publish_many(app: Any, count: int, *, payload: str = "", batch: int = 100) -> None:
    """Publish without recording in PostgreSQL (for volume tests of the fan-out), paced."""
    rt = runtime(app)
    for first in range(0, count, batch):
        await rt.bus.publish(*[
            rt.bus.event("test.bulk", {"n": n, "pad": payload})
            for n in range(first, min(first + batch, count))
        ])
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def app_with(settings: Settings, db: AsyncConnection, clock: ManualClock,
                   **overrides: Any) -> AsyncIterator[tuple[Any, str]]:
    app = create_app(settings.model_copy(update=overrides), clock=clock, database_bind=db)
    async with running(app), serve(app) as address:
        yield app, address


async def test_events_arrive_in_order_and_are_recorded(app: Any, server: str, db: AsyncConnection) -> None:
    ws, _hello = await open_socket(server, "/ws/console")
    async with ws:
        ids = await emit_many(app, 50)
        received = await events(ws, 50)
    assert [e["data"]["n"] for e in received] == list(range(50))
    assert [e["id"] for e in received] == ids
    assert all(set(e) == {"kind", "id", "type", "at", "data"} for e in received)
    rt = runtime(app)
    await archive.ensure_group(rt)
    assert await archive.archive_once(rt, "test") == await rt.redis.xlen(rt.keys.events)
    assert await archive.archive_once(rt, "test") == 0  # acknowledged: archived once
    rows = (await db.execute(select(Event.stream_id, Event.data).where(Event.type == "test.seq")
                             .order_by(Event.id))).all()
    assert [r.stream_id for r in rows] == ids
    assert [r.data["n"] for r in rows] == list(range(50))


async def test_the_archiver_writes_a_steady_trickle_in_few_batches(
    app: Any, db: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One event every 10 ms for about a second: archived whole, in a few transactions (it
    lingers after a short batch), not one transaction per event."""
    rt = runtime(app)
    batches: list[int] = []
    stored: set[str] = set()
    store = archive.store

    async def counted(rt_: Runtime, entries: Any) -> int:
        if entries:
            batches.append(len(entries))
        written = await store(rt_, entries)
        stored.update(str(stream_id) for stream_id, _ in entries)
        return written

    monkeypatch.setattr(archive, "store", counted)
    archiver = asyncio.create_task(archive.run(rt))
    try:
        ids = []
        for n in range(80):
            event = await rt.bus.emit("test.trickle", {"n": n}, scope=Scope())
            ids.append(event.id)
            await asyncio.sleep(0.01)
        for _ in range(100):
            if stored.issuperset(ids):
                break
            await asyncio.sleep(0.05)
    finally:
        archiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await archiver
    rows = (await db.execute(select(Event.stream_id).where(Event.type == "test.trickle")
                             .order_by(Event.id))).scalars().all()
    assert list(rows) == ids
    assert sum(batches) >= len(ids)  # and whatever the app published before
    assert len(batches) <= 12, batches  # one per event without the linger


async def test_resume_after_disconnect_loses_nothing_and_repeats_nothing(app: Any, server: str) -> None:
    ws, _ = await open_socket(server, "/ws/console")
    async with ws:
        await emit_many(app, 10)
        first = await events(ws, 10)
    last_id = first[-1]["id"]
    await emit_many(app, 20, start=10)  # missed while away

    async def emit_during_reconnect() -> None:
        await emit_many(app, 30, start=30)

    producer = asyncio.create_task(emit_during_reconnect())
    ws, _ = await open_socket(server, "/ws/console", since=last_id)
    async with ws:
        await producer
        rest = await events(ws, 50)
        assert await no_event(ws)
    numbers = [e["data"]["n"] for e in rest]
    assert numbers == list(range(10, 60))  # in order, none lost, none twice


async def test_resync_when_last_id_is_no_longer_held(app: Any, server: str, redis: Redis) -> None:
    ids = await emit_many(app, 10)
    await redis.xtrim(runtime(app).keys.events, maxlen=5, approximate=False)
    for since in (ids[0], "1-0", "not-an-id"):
        ws, _ = await open_socket(server, "/ws/console", since=since)
        async with ws:
            frame = await next_frame(ws)
        assert frame["kind"] == "resync", since
        assert frame["last_event_id"] == ids[-1]
    ws, _ = await open_socket(server, "/ws/console", since=ids[5])  # still held: no resync
    async with ws:
        replay = await events(ws, 4)
    assert [e["id"] for e in replay] == ids[6:]


async def test_slow_consumer_is_dropped_and_others_get_everything(
    settings: Settings, db: AsyncConnection, redis: Redis, clock: ManualClock
) -> None:
    async with app_with(settings, db, clock, ws_queue_size=500) as (app, address):
        fast, _ = await open_socket(address, "/ws/console")
        slow, _ = await open_socket(address, "/ws/console", max_queue=1)
        slow_frames: list[dict[str, Any]] = []
        async with fast, slow:
            # The slow client never reads, so its socket buffers fill and its queue overflows.
            consumer = asyncio.create_task(events(fast, 4000, timeout=60))
            await publish_many(app, 4000, payload="x" * 4000)
            received = await consumer
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(20):
                    while True:
                        slow_frames.append(json.loads(await slow.recv()))
        assert [e["data"]["n"] for e in received] == list(range(4000))
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4008
        assert "too slow" in closed.value.rcvd.reason
        assert len([f for f in slow_frames if f["kind"] == "event"]) < 4000
        metrics = runtime(app).metrics.ws_dropped.labels("console")._value.get()
        assert metrics == 1


async def test_invalid_client_messages_get_errors_naming_the_field(app: Any, server: str) -> None:
    ws, _ = await open_socket(server, "/ws/console", types="test.")
    async with ws:
        await ws.send("not json")
        error = await next_frame(ws, kinds=("error",))
        assert error["problem"]["errors"][0]["field"] == "message"

        await ws.send('{"action": "warp", "ref": "r1"}')
        error = await next_frame(ws, kinds=("error",))
        assert error["ref"] == "r1"
        assert error["problem"]["errors"][0]["field"] == "action"

        await ws.send('{"action": "subscribe", "ref": "r2", "types": "call."}')
        error = await next_frame(ws, kinds=("error",))
        assert error["ref"] == "r2"
        assert error["problem"]["status"] == 422
        assert error["problem"]["errors"][0]["field"] == "types"

        await ws.send('{"action": "ping", "ref": "r3", "extra": 1}')
        error = await next_frame(ws, kinds=("error", "pong"))
        assert error["kind"] == "error"  # unknown fields are refused, not ignored

        # Nothing changed: the subscription still takes test.* events.
        await emit_many(app, 1)
        assert (await events(ws, 1))[0]["type"] == "test.seq"

        await ws.send('{"action": "ping", "ref": "r4"}')
        assert await next_frame(ws, kinds=("pong",)) == {"kind": "pong", "ref": "r4"}


async def test_type_and_area_filters(app: Any, server: str) -> None:
    ws, _ = await open_socket(server, "/ws/console", types="wanted.", areas="north")
    async with ws:
        await emit_many(app, 1, type_="unwanted.x")
        await emit_many(app, 1, type_="wanted.x", scope=Scope(area="south"))
        await emit_many(app, 1, start=7, type_="wanted.x", scope=Scope(area="north"))
        await emit_many(app, 1, start=8, type_="wanted.y")  # no area: seen everywhere
        got = await events(ws, 2)
        assert await no_event(ws)
    assert [(e["type"], e["data"]["n"]) for e in got] == [("wanted.x", 7), ("wanted.y", 8)]


async def test_crew_sees_its_own_unit_and_broadcasts_only(
    app: Any, server: str, client: httpx.AsyncClient, scenario: Any
) -> None:
    console, _ = await open_socket(server, "/ws/console")
    a1, hello = await open_socket(server, "/ws/crew/A1")
    b1, _ = await open_socket(server, "/ws/crew/B1")
    assert hello["channel"] == "crew"
    assert hello["key"] == "A1"
    async with console, a1, b1:
        sent = await client.post("/api/v1/messages", json={"text": "Go to post", "unit_id": "A1"})
        assert sent.status_code == 201
        assert (await events(a1, 1))[0]["data"]["text"] == "Go to post"
        assert await no_event(b1)
        await client.post("/api/v1/messages", json={"text": "All crews", "all_crews": True})
        assert (await events(a1, 1))[0]["data"]["text"] == "All crews"
        assert (await events(b1, 1))[0]["data"]["text"] == "All crews"
        assert [e["data"]["text"] for e in await events(console, 2)] == ["Go to post", "All crews"]

    bad = await client.post("/api/v1/messages", json={"text": "", "all_crews": True})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.text"
    neither = await client.post("/api/v1/messages", json={"text": "hello"})
    assert neither.status_code == 422
    unknown = await client.post("/api/v1/messages", json={"text": "hi", "unit_id": "ZZ9"})
    assert unknown.status_code == 404

    with pytest.raises(ConnectionClosed) as closed:
        _ws, _ = await open_socket(server, "/ws/crew/ZZ9")
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4404


async def test_heartbeats_both_ways_and_idle_clients_are_closed(
    settings: Settings, db: AsyncConnection, redis: Redis, clock: ManualClock
) -> None:
    async with app_with(settings, db, clock, ws_heartbeat_seconds=0.1,
                        ws_idle_timeout_seconds=0.5) as (_app, address):
        ws, hello = await open_socket(address, "/ws/console")
        assert hello["heartbeat_seconds"] == 0.1
        async with ws:
            for _ in range(8):  # a client that pings stays connected past the idle limit
                beat = await next_frame(ws, kinds=("heartbeat",))
                assert "last_event_id" in beat
                await ws.send('{"action": "ping"}')
            with pytest.raises(ConnectionClosed) as closed:  # then it goes quiet
                async with asyncio.timeout(3):
                    while True:
                        await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4000


async def test_event_through_instance_a_arrives_on_instance_b(make_app: Any) -> None:
    a, b = make_app(), make_app()
    async with running(a), running(b), serve(a) as address_a, serve(b) as address_b:
        await factories.load(a, factories.small_scenario())
        ws, _ = await open_socket(address_b, "/ws/crew/B1")
        async with ws, httpx.AsyncClient(base_url=f"http://{address_a}", headers=AUTH) as http:
            sent = await http.post("/api/v1/messages", json={"text": "via A", "unit_id": "B1"})
            assert sent.status_code == 201
            got = await events(ws, 1)
        assert got[0]["data"]["text"] == "via A"
        assert got[0]["id"] == sent.json()["event_id"]


async def test_events_held_while_redis_is_down_are_published_after_a_resync(
    settings: Settings, redis: Redis, clock: ManualClock
) -> None:
    keys = factories_keys(settings)
    dead = create_redis("redis://127.0.0.1:1/0")
    bus = EventBus(dead, keys, maxlen=1000, metrics=Metrics(), clock=clock)
    await bus.publish(bus.event("test.held", {"n": 1}), bus.event("test.held", {"n": 2}))
    assert bus.pending == 2
    await bus.publish(bus.event("test.held", {"n": 3}))  # queued behind, order kept
    assert bus.pending == 3
    assert not await bus.retry_pending()
    bus.redis = redis
    assert await bus.retry_pending()
    assert bus.pending == 0
    entries = await redis.xrange(keys.events)
    types = [fields["e"].split('"')[3] for _, fields in entries]
    assert types == ["hub.resync", "test.held", "test.held", "test.held"]
    await dead.aclose()


def factories_keys(settings: Settings) -> Any:
    from dispatch.redis import Keys

    return Keys(settings.redis_prefix)

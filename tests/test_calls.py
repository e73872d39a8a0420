"""Call intake, distribution, the answer clock, callbacks and the SLO."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
from datetime import timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch import erlang, livestate
from dispatch.audit.models import AuditEntry
from dispatch.calls import timers
from dispatch.calls.models import Call
from dispatch.clock import ManualClock
from tests import factories
from tests.conftest import AUTH, client_for, running
from tests.realtime_helpers import events, next_frame, open_socket

numbers = itertools.count(1)


def ring(clock: ManualClock, *, ago: float = 0.0, **extra: Any) -> dict[str, Any]:
    """A telephony report of a call that started ringing `ago` seconds before now."""
    n = next(numbers)
    return {
        "telephony_call_id": extra.pop("telephony_call_id", f"cti-{n}"),
        "caller_number": extra.pop("caller_number", f"1380000{n:04d}"),
        "line": extra.pop("line", "120-1"),
        "rung_at": (clock.now() - timedelta(seconds=ago)).isoformat(),
        **extra,
    }


async def post_call(client: httpx.AsyncClient, clock: ManualClock, **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/calls", json=ring(clock, **extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def ready(client: httpx.AsyncClient, *positions: str) -> None:
    for position in positions:
        response = await client.post(f"/api/v1/positions/{position}/login",
                                     json={"user": f"user-{position}", "ready": True})
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "ready"


async def count_calls(db: AsyncConnection) -> int:
    return int(await db.scalar(select(func.count()).select_from(Call)) or 0)


async def test_intake_is_idempotent_and_stored_before_201(
    client: httpx.AsyncClient, clock: ManualClock, db: AsyncConnection, scenario: Any
) -> None:
    body = ring(clock, ago=1, telephony_call_id="cti-same", carrier_location={"lat": 34.2, "lon": 108.9})
    first = await client.post("/api/v1/calls", json=body)
    second = await client.post("/api/v1/calls", json=body)
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["status"] == "ringing"
    rows = (await db.execute(select(Call.telephony_id, Call.caller_number, Call.carrier_lat))).all()
    assert [tuple(r) for r in rows] == [("cti-same", body["caller_number"], 34.2)]
    by_telephony_id = await client.get("/api/v1/calls/cti-same")
    assert by_telephony_id.json()["id"] == first.json()["id"]


async def test_bad_input_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, clock: ManualClock, db: AsyncConnection, scenario: Any
) -> None:
    missing_id = ring(clock)
    del missing_id["telephony_call_id"]
    cases = [
        (missing_id, "body.telephony_call_id"),
        (ring(clock, ago=-60), "body.rung_at"),  # a minute in the future
        (ring(clock, caller_number="not-a-number"), "body.caller_number"),
        (ring(clock, carrier_location={"lat": 91, "lon": 0}), "body.carrier_location.lat"),
        ({**ring(clock), "rung_at": "2026-01-01T00:00:00"}, "body.rung_at"),  # no time zone
    ]
    for body, field in cases:
        response = await client.post("/api/v1/calls", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert await count_calls(db) == 0

    call = await post_call(client, clock)
    unknown = await client.post(f"/api/v1/calls/{call['id']}/answer", json={"position_id": "P9"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.position_id"
    await ready(client, "P1")
    assert (await client.post(f"/api/v1/calls/{call['id']}/answer",
                              json={"position_id": "P1"})).status_code == 200
    assert (await client.post(f"/api/v1/calls/{call['id']}/ended", json={})).status_code == 200
    again = await client.post(f"/api/v1/calls/{call['id']}/answer", json={"position_id": "P1"})
    assert again.status_code == 409
    assert again.json()["status_now"] == "ended"
    after = (await client.get(f"/api/v1/calls/{call['id']}")).json()
    assert after["status"] == "ended"
    assert after["answered_by"] == "P1"
    assert (await client.get("/api/v1/calls/no-such-call")).status_code == 404


async def test_offers_go_to_the_longest_idle_position_priority_lines_first(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any
) -> None:
    normal = await post_call(client, clock, ago=5)
    urgent = await post_call(client, clock, ago=1, priority=True)
    await ready(client, "P2")
    clock.advance(1)
    await ready(client, "P1")
    calls = {c["id"]: c for c in (await client.get("/api/v1/calls")).json()}
    assert calls[urgent["id"]]["offered_to"] == "P2"  # idle longest, gets the priority line
    assert calls[normal["id"]]["offered_to"] == "P1"
    positions = {p["id"]: p for p in (await client.get("/api/v1/positions")).json()}
    assert positions["P2"]["offered_call_id"] == urgent["id"]
    # Any ready position may take any ringing call: P1 answers the call offered to P2.
    answered = await client.post(f"/api/v1/calls/{urgent['id']}/answer", json={"position_id": "P1"})
    assert answered.status_code == 200
    calls = {c["id"]: c for c in (await client.get("/api/v1/calls")).json()}
    assert list(calls) == [normal["id"]]
    assert calls[normal["id"]]["offered_to"] == "P2"  # P2 is free again; P1's offer moved to it


async def test_first_answer_wins_under_concurrent_answers_on_two_instances(
    make_app: Any, clock: ManualClock
) -> None:
    a, b = make_app(), make_app()
    async with running(a), running(b):
        await factories.load(a, factories.small_scenario())
        ta, tb = httpx.ASGITransport(app=a), httpx.ASGITransport(app=b)
        async with httpx.AsyncClient(transport=ta, base_url="http://a", headers=AUTH) as ca, \
                httpx.AsyncClient(transport=tb, base_url="http://b", headers=AUTH) as cb:
            await ready(ca, "P1", "P2")
            wins = {"P1": 0, "P2": 0}
            for _ in range(15):
                call = await post_call(ca, ManualClock(a.state.runtime.clock.now()))
                first, second = await asyncio.gather(
                    ca.post(f"/api/v1/calls/{call['id']}/answer", json={"position_id": "P1"}),
                    cb.post(f"/api/v1/calls/{call['id']}/answer", json={"position_id": "P2"}),
                )
                codes = sorted([first.status_code, second.status_code])
                assert codes == [200, 409], (first.text, second.text)
                winner = first if first.status_code == 200 else second
                loser = second if winner is first else first
                wins[winner.json()["answered_by"]] += 1
                assert "already answered" in loser.json()["detail"] or \
                    "being answered" in loser.json()["detail"]
                stored = (await ca.get(f"/api/v1/calls/{call['id']}")).json()
                assert stored["answered_by"] == winner.json()["answered_by"]
                await ca.post(f"/api/v1/calls/{call['id']}/ended", json={})
                for p in ("P1", "P2"):
                    await ca.put(f"/api/v1/positions/{p}/state", json={"state": "ready"})
            assert sum(wins.values()) == 15


async def test_escalation_at_threshold_and_breach_at_target(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, server: str, scenario: Any,
    db: AsyncConnection,
) -> None:
    rt = app.state.runtime
    console, _ = await open_socket(server, "/ws/console", types="call.escalated,slo.breach")
    async with console:
        call = await post_call(client, clock)
        clock.advance(5.9)
        assert await timers.tick(rt) == ([], [])
        clock.advance(0.1)  # 6 s: offered to everyone, supervisor alerted
        assert await timers.tick(rt) == ([call["id"]], [])
        clock.advance(1)
        assert await timers.tick(rt) == ([], [])  # once only
        escalated = (await events(console, 1))[0]
        assert escalated["type"] == "call.escalated"
        assert escalated["data"]["offer_to_all"] is True
        assert escalated["data"]["alert"]["audience"] == "supervisor"
        clock.advance(3)  # 10 s
        assert await timers.tick(rt) == ([], [call["id"]])
        breach = (await events(console, 1))[0]
        assert breach["type"] == "slo.breach"
        assert breach["data"]["ring_seconds"] == 10.0
    stored = (await client.get(f"/api/v1/calls/{call['id']}")).json()
    assert stored["escalated_at"] is not None
    assert stored["breached_at"] is not None
    # An answered call is never escalated.
    await ready(client, "P1")
    other = await post_call(client, clock)
    await client.post(f"/api/v1/calls/{other['id']}/answer", json={"position_id": "P1"})
    clock.advance(30)
    assert await timers.tick(rt) == ([], [])


async def test_abandoned_call_is_called_back_until_resolved(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any, db: AsyncConnection
) -> None:
    call = await post_call(client, clock, ago=8)
    abandoned = await client.post(f"/api/v1/calls/{call['id']}/abandoned", json={})
    assert abandoned.json()["status"] == "abandoned"
    pending = (await client.get("/api/v1/callbacks")).json()
    assert [(c["call_id"], c["status"], c["caller_number"]) for c in pending] == [
        (call["id"], "pending", call["caller_number"])]
    callback_id = pending[0]["id"]
    await ready(client, "P1", "P2")
    not_taken = await client.post(f"/api/v1/callbacks/{callback_id}/outcome",
                                  json={"outcome": "reached"})
    assert not_taken.status_code == 422
    taken = await client.post(f"/api/v1/callbacks/{callback_id}/take", json={"position_id": "P1"})
    assert taken.json()["status"] == "dialling"
    twice = await client.post(f"/api/v1/callbacks/{callback_id}/take", json={"position_id": "P2"})
    assert twice.status_code == 409
    no_answer = await client.post(f"/api/v1/callbacks/{callback_id}/outcome",
                                  json={"outcome": "no_answer"})
    assert no_answer.json()["status"] == "pending"  # stays visible, offered again
    assert no_answer.json()["attempts"] == 1
    assert [c["id"] for c in (await client.get("/api/v1/callbacks")).json()] == [callback_id]
    await client.put("/api/v1/positions/P1/state", json={"state": "ready"})
    await client.post(f"/api/v1/callbacks/{callback_id}/take", json={"position_id": "P1"})
    reached = await client.post(f"/api/v1/callbacks/{callback_id}/outcome",
                                json={"outcome": "reached", "notes": "ambulance not needed"})
    assert reached.json()["status"] == "resolved"
    assert reached.json()["attempts"] == 2
    assert (await client.get("/api/v1/callbacks")).json() == []
    figures = (await client.get("/api/v1/slo")).json()["windows"][0]
    assert figures["abandoned"] == 1
    assert figures["called_back"] == 1
    assert figures["answer_rate"] == 1.0
    actions = (await db.execute(select(AuditEntry.action).where(
        AuditEntry.target_id == callback_id).order_by(AuditEntry.id))).scalars().all()
    assert actions == ["callback.take", "callback.outcome", "callback.take", "callback.outcome"]


async def test_slo_figures_match_a_hand_computed_sequence(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, scenario: Any
) -> None:
    await ready(client, "P1")
    start = clock.now()
    waits = [2, 3, 4, 5, 6, 7, 8, 9, 12]
    for wait in waits:  # one call every 30 s, answered after `wait` seconds, 30 s long
        call = await post_call(client, clock)
        clock.advance(wait)
        assert (await client.post(f"/api/v1/calls/{call['id']}/answer",
                                  json={"position_id": "P1"})).status_code == 200
        clock.advance(30)
        await client.post(f"/api/v1/calls/{call['id']}/ended", json={})
        await client.put("/api/v1/positions/P1/state", json={"state": "ready"})
    gone = await post_call(client, clock)
    clock.advance(5)
    await client.post(f"/api/v1/calls/{gone['id']}/abandoned", json={})
    still = await post_call(client, clock)  # rings on, past the target
    clock.advance(11)
    del still
    figures = (await client.get("/api/v1/slo")).json()
    hour = next(w for w in figures["windows"] if w["window"] == "1h")
    assert hour["calls"] == 11
    assert hour["answered"] == 9
    assert hour["answered_within_target"] == 8  # all but the 12 s one
    assert hour["decided"] == 11  # 9 answered + 1 abandoned + 1 ringing past 10 s
    assert hour["share_within_target"] == round(8 / 11, 4)
    assert hour["answer_p50_s"] == 6.0  # nearest rank: 5th of 9
    assert hour["answer_p90_s"] == 12.0  # 9th of 9
    assert hour["answer_p95_s"] == 12.0
    assert hour["abandoned"] == 1
    assert hour["called_back"] == 0
    assert hour["answer_rate"] == 0.9  # 9 of 10 finished calls served
    assert figures["ringing"] == 1
    assert figures["callbacks_pending"] == 1
    elapsed = (clock.now() - start).total_seconds()
    assert elapsed < 15 * 60
    staffing = figures["staffing"]
    assert staffing["arrival_rate_per_hour"] == round(11 / 900 * 3600, 2)
    assert staffing["handling_seconds"] == 30.0
    assert staffing["needed"] == erlang.agents_needed(11 / 900, 30.0, 10.0)
    assert staffing["logged_in"] == 1
    metrics = (await client.get("/metrics")).text
    assert 'dispatch_slo_answered_within_target_ratio{window="1h"} 0.7273' in metrics


async def test_one_instance_computes_the_slo_gauges_and_the_others_copy_them(
    make_app: Any, redis: Redis
) -> None:
    a, b = make_app(), make_app()
    async with running(a), running(b):
        await factories.load(a, factories.small_scenario())
        async with client_for(a) as ca:
            await ready(ca, "P1")
            clock = ManualClock(a.state.runtime.clock.now())
            answered = await post_call(ca, clock, ago=3)
            assert (await ca.post(f"/api/v1/calls/{answered['id']}/answer",
                                  json={"position_id": "P1"})).status_code == 200
            late = await post_call(ca, clock, ago=12)
            await ca.post(f"/api/v1/calls/{late['id']}/abandoned", json={})
        computed: list[str] = []
        real_compute = timers.compute

        async def counting(**kwargs: Any) -> Any:
            computed.append("x")
            return await real_compute(**kwargs)

        timers.compute = counting  # type: ignore[assignment]
        try:
            await timers.refresh_slo(a.state.runtime)
            await timers.refresh_slo(b.state.runtime)
        finally:
            timers.compute = real_compute  # type: ignore[assignment]
        assert computed == ["x"], "only one instance reads the calls in a period"
        for hub in (a, b):
            async with client_for(hub) as c:
                metrics = (await c.get("/metrics")).text
            assert 'dispatch_slo_answered_within_target_ratio{window="1h"} 0.5' in metrics
            assert "dispatch_callbacks_pending 1.0" in metrics
        # Redis down: each instance works its gauges out from PostgreSQL alone.
        rt = b.state.runtime
        rt.metrics.callbacks_pending.set(0)

        async def unreachable(*_args: Any, **_kwargs: Any) -> None:
            raise RedisConnectionError("Redis is down")

        original = rt.redis.set
        rt.redis.set = unreachable
        try:
            await timers.refresh_slo(rt)
        finally:
            rt.redis.set = original
        async with client_for(b) as c:
            assert "dispatch_callbacks_pending 1.0" in (await c.get("/metrics")).text


async def test_a_new_version_rebuilds_the_queue_indexes_an_older_one_did_not_keep(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, scenario: Any, redis: Redis
) -> None:
    rt = app.state.runtime
    call = await post_call(client, clock)
    # What Redis holds after an earlier version: the ringing queue without its indexes.
    await redis.delete(*rt.keys.acd_indexes, rt.keys.marker(livestate.LIVE))
    await redis.set(rt.keys.marker("live"), "1")
    assert await livestate.rebuild(rt, rt.rebuilders)
    waiting, escalate, breach = rt.keys.acd_indexes
    for index in (waiting, escalate, breach):
        assert await redis.zrange(index, 0, -1) == [call["id"]]
    await ready(client, "P1")  # and it is offered as soon as a position is ready
    calls = {c["id"]: c for c in (await client.get("/api/v1/calls")).json()}
    assert calls[call["id"]]["offered_to"] == "P1"


def test_erlang_c_against_hand_values() -> None:
    assert erlang.erlang_c(2, 1.0) == pytest.approx(1 / 3)  # B(2,1) = 0.2 -> C = 0.4/1.2
    assert erlang.erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: C = utilisation
    # M/M/1, 0.5 Erlang, 60 s calls: P(wait <= 10 s) = 1 - 0.5 * e^(-0.5*10/60)
    expected = 1 - 0.5 * math.exp(-10 / 120)
    assert erlang.share_answered_within(1, 0.5 / 60, 60, 10) == pytest.approx(expected)
    assert erlang.agents_needed(0.0, 120, 10) == 1
    # 100 calls an hour of 2 minutes (3.33 Erlangs) need more than 4 for 95 % within 10 s.
    needed = erlang.agents_needed(100 / 3600, 120, 10)
    assert erlang.share_answered_within(needed, 100 / 3600, 120, 10) >= 0.95
    assert erlang.share_answered_within(needed - 1, 100 / 3600, 120, 10) < 0.95


async def test_ringing_queue_survives_a_redis_flush(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, redis: Redis, scenario: Any
) -> None:
    await ready(client, "P1")
    first = await post_call(client, clock, ago=3)
    second = await post_call(client, clock, ago=1)
    await redis.flushdb()
    assert (await client.get("/api/v1/calls")).json()[0]["offered_to"] is None
    rebuilt = await client.post("/api/v1/admin/rebuild-live-state")
    assert rebuilt.status_code == 200
    calls = (await client.get("/api/v1/calls")).json()
    assert [c["id"] for c in calls] == [first["id"], second["id"]]
    assert calls[0]["offered_to"] == "P1"  # the position was restored, ready, and offered again
    answered = await client.post(f"/api/v1/calls/{second['id']}/answer", json={"position_id": "P1"})
    assert answered.status_code == 200


async def test_queue_is_rebuilt_when_an_instance_starts(
    make_app: Any, redis: Redis
) -> None:
    a = make_app()
    async with running(a):
        await factories.load(a, factories.small_scenario())
        async with client_for(a) as c:
            call = await post_call(c, ManualClock(a.state.runtime.clock.now()))
    await redis.flushdb()
    b = make_app()
    async with running(b), client_for(b) as c:
        assert [x["id"] for x in (await c.get("/api/v1/calls")).json()] == [call["id"]]
        live = await b.state.runtime.acd.ringing()
        assert [row["id"] for row in live] == [call["id"]]


async def test_reconcile_queues_calls_redis_missed(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, redis: Redis, scenario: Any
) -> None:
    rt = app.state.runtime
    call = await post_call(client, clock)
    await redis.delete(rt.keys.ringing, rt.keys.call(call["id"]))  # as if Redis had missed it
    clock.advance(3)
    assert await timers.reconcile(rt) == (1, 0)
    assert [row["id"] for row in await rt.acd.ringing()] == [call["id"]]
    assert await timers.reconcile(rt) == (0, 0)


async def test_reconcile_puts_back_a_ringing_call_its_indexes_lost(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, redis: Redis, scenario: Any
) -> None:
    """A call in the queue but in none of its indexes (left so by an instance of an earlier
    version during a rolling deploy) would never be offered or escalated."""
    rt = app.state.runtime
    waiting, escalate, breach = rt.keys.acd_indexes
    call = await post_call(client, clock)
    for index in (waiting, escalate, breach):
        await redis.zrem(index, call["id"])
    await ready(client, "P1")
    calls = {c["id"]: c for c in (await client.get("/api/v1/calls")).json()}
    assert calls[call["id"]]["offered_to"] is None  # the position is ready, the call unseen
    clock.advance(3)
    assert await timers.reconcile(rt) == (0, 0)
    calls = {c["id"]: c for c in (await client.get("/api/v1/calls")).json()}
    assert calls[call["id"]]["offered_to"] == "P1"
    assert await redis.zrange(escalate, 0, -1) == [call["id"]]
    clock.advance(4)  # 7 s after the ring: escalated as it should be
    assert await timers.tick(rt) == ([call["id"]], [])


async def test_answer_transfer_and_end_over_http_and_websocket(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, server: str, scenario: Any,
    db: AsyncConnection,
) -> None:
    await ready(client, "P1", "P2")
    watcher, _ = await open_socket(server, "/ws/console", types="call.")
    answering, _ = await open_socket(server, "/ws/console")
    async with watcher, answering:
        call = await post_call(client, clock, ago=2)
        assert [e["type"] for e in await events(watcher, 2)] == ["call.ringing", "call.offered"]
        await answering.send(
            f'{{"action": "call.answer", "ref": "a1", "call_id": "{call["id"]}", "position_id": "P1"}}')
        result = await next_frame(answering, kinds=("result", "error"))
        assert result == {"kind": "result", "ref": "a1", "action": "call.answer",
                          "data": {"call_id": call["id"], "status": "answered", "answered_by": "P1"}}
        answered = (await events(watcher, 1))[0]
        assert answered["type"] == "call.answered"
        assert answered["data"]["answer_seconds"] == 2.0
        await answering.send(
            f'{{"action": "call.answer", "ref": "a2", "call_id": "{call["id"]}", "position_id": "P2"}}')
        taken = await next_frame(answering, kinds=("result", "error"))
        assert taken["kind"] == "error"
        assert taken["problem"]["status"] == 409
        await answering.send('{"action": "call.answer", "ref": "a3", "call_id": "x"}')
        invalid = await next_frame(answering, kinds=("result", "error"))
        assert invalid["problem"]["errors"][0]["field"] == "position_id"
    moved = await client.post(f"/api/v1/calls/{call['id']}/transfer", json={"to_position_id": "P2"})
    assert moved.json()["answered_by"] == "P2"
    positions = {p["id"]: p["state"] for p in (await client.get("/api/v1/positions")).json()}
    assert positions["P1"] == "wrap_up"
    assert positions["P2"] == "on_call"
    busy = await client.post("/api/v1/positions/P2/logout")
    assert busy.status_code == 409
    await client.post(f"/api/v1/calls/{call['id']}/ended", json={})
    positions = {p["id"]: p["state"] for p in (await client.get("/api/v1/positions")).json()}
    assert positions["P2"] == "wrap_up"
    timeline = [step["action"] for step in (await client.get(f"/api/v1/calls/{call['id']}/timeline")).json()]
    assert timeline == ["call.received", "call.answer", "call.transfer", "call.ended"]


async def test_a_withheld_number_is_taken_and_its_callback_resolved_another_way(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any
) -> None:
    body = ring(clock)
    body["caller_number"] = None
    call = (await client.post("/api/v1/calls", json=body)).json()
    assert call["caller_number"] is None
    await client.post(f"/api/v1/calls/{call['id']}/abandoned", json={})
    [callback] = (await client.get("/api/v1/callbacks")).json()
    assert callback["caller_number"] is None
    await ready(client, "P1")
    cannot = await client.post(f"/api/v1/callbacks/{callback['id']}/take", json={"position_id": "P1"})
    assert cannot.status_code == 409
    resolved = await client.post(f"/api/v1/callbacks/{callback['id']}/outcome",
                                 json={"outcome": "resolved_elsewhere", "notes": "caller rang again"})
    assert resolved.json()["status"] == "resolved"


async def stream_types(redis: Redis, rt: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every event in the Redis Stream, oldest first: (type, data)."""
    out = []
    for _, fields in await redis.xrange(rt.keys.events):
        body = json.loads(fields["e"])
        out.append((body["type"], body["data"]))
    return out


async def test_after_redis_lost_live_state_ringing_calls_are_offered_again_and_answered_once(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, redis: Redis, scenario: Any
) -> None:
    rt = app.state.runtime
    await ready(client, "P1", "P2")
    first = await post_call(client, clock, ago=3)
    second = await post_call(client, clock, ago=1)
    await redis.flushdb()  # a failover: Redis comes back empty, the stream too
    # P1's answer was on its way: it is taken on the rebuilt state, not refused.
    answered = await client.post(f"/api/v1/calls/{first['id']}/answer", json={"position_id": "P1"})
    assert answered.status_code == 200, answered.text
    published = await stream_types(redis, rt)
    assert published[0] == ("hub.resync", {"reason": "live state rebuilt from the database"})
    # The rebuild offered both ringing calls again, and the consoles were told.
    rebuilt_offers = [d["call_id"] for t, d in published[1:3] if t == "call.offered"]
    assert rebuilt_offers == [first["id"], second["id"]]
    # Answered once: the other position cannot take the same call.
    again = await client.post(f"/api/v1/calls/{first['id']}/answer", json={"position_id": "P2"})
    assert again.status_code == 409
    assert again.json()["answered_by"] == "P1"
    taken = await client.post(f"/api/v1/calls/{second['id']}/answer", json={"position_id": "P2"})
    assert taken.status_code == 200, taken.text
    assert [t for t, _ in published].count("hub.resync") == 1


async def test_a_position_change_just_after_redis_lost_live_state_applies_to_its_recorded_state(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, redis: Redis, scenario: Any
) -> None:
    await ready(client, "P1")
    call = await post_call(client, clock, ago=1)
    answered = await client.post(f"/api/v1/calls/{call['id']}/answer", json={"position_id": "P1"})
    assert answered.status_code == 200
    await redis.flushdb()
    # On call, as recorded: the call-taker may go to wrap-up (not "log in first").
    wrap_up = await client.put("/api/v1/positions/P1/state", json={"state": "wrap_up"})
    assert wrap_up.status_code == 200, wrap_up.text
    back = await client.put("/api/v1/positions/P1/state", json={"state": "ready"})
    assert back.json()["state"] == "ready"
    following = await post_call(client, clock)
    calls = {c["id"]: c for c in (await client.get("/api/v1/calls")).json()}
    assert calls[following["id"]]["offered_to"] == "P1"

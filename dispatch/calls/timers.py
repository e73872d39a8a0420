"""The call clocks: escalation before the answer target, breach at it, and queue repair."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.background import OUTAGES, fault, raise_if_cancelled
from dispatch.calls.enums import CallbackStatus, CallStatus, PositionState
from dispatch.calls.models import Call, Callback, Position
from dispatch.calls.schemas import SloOut
from dispatch.calls.service import acd, ms, offer_events
from dispatch.calls.slo import compute, export
from dispatch.db import table
from dispatch.realtime.schemas import OutgoingEvent
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

TICK_SECONDS = 0.25
RECONCILE_EVERY = 8  # ticks
SLO_EVERY = 20  # ticks
RECONCILE_GRACE = timedelta(seconds=2)


async def tick(rt: Runtime, now: datetime | None = None) -> tuple[list[str], list[str]]:
    """Escalate calls ringing past the threshold and raise a breach at the target, once each."""
    now = now or rt.clock.now()
    settings = rt.settings
    escalated, breached = await acd(rt).due(
        now_ms=ms(now), escalate_ms=int(settings.escalation_seconds * 1000),
        breach_ms=int(settings.answer_target_seconds * 1000),
    )
    if not escalated and not breached:
        return escalated, breached
    ids = [uuid.UUID(i) for i in {*escalated, *breached}]  # SQLite binds only UUID objects
    async with rt.sessionmaker() as session:
        calls = {str(c.id): c for c in (await session.scalars(
            select(Call).where(Call.id.in_(ids))
        )).all()}
        if escalated:
            await session.execute(update(table(Call)).where(
                Call.id.in_([c.id for k, c in calls.items() if k in escalated]),
                Call.escalated_at.is_(None)).values(escalated_at=now))
        if breached:
            await session.execute(update(table(Call)).where(
                Call.id.in_([c.id for k, c in calls.items() if k in breached]),
                Call.breached_at.is_(None)).values(breached_at=now))
        await session.commit()
    events = []
    for call_id in escalated:
        call = calls.get(call_id)
        if call is None:
            continue
        events.append(rt.bus.event("call.escalated", {
            "call_id": call_id, "rung_at": call.rung_at, "offer_to_all": True,
            "ring_seconds": round((now - call.rung_at).total_seconds(), 3),
            "alert": {"audience": "supervisor", "level": "warning",
                      "reason": f"ringing for {settings.escalation_seconds:g} s"},
        }, at=now))
    for call_id in breached:
        call = calls.get(call_id)
        if call is None:
            continue
        if not call.test:
            rt.metrics.slo_breaches.inc()
        events.append(rt.bus.event("slo.breach", {
            "call_id": call_id, "rung_at": call.rung_at,
            "target_seconds": settings.answer_target_seconds,
            "ring_seconds": round((now - call.rung_at).total_seconds(), 3),
            "alert": {"audience": "supervisor", "level": "critical",
                      "reason": f"not answered within {settings.answer_target_seconds:g} s"},
        }, at=now))
    await rt.bus.publish(*events)
    return escalated, breached


async def reconcile(rt: Runtime, now: datetime | None = None) -> tuple[int, int]:
    """Make the Redis queue match the database: queue ringing calls it lacks, drop ended ones."""
    now = now or rt.clock.now()
    async with rt.sessionmaker() as session:
        ringing = {str(c.id): c for c in (await session.scalars(
            select(Call).where(Call.status == CallStatus.RINGING,
                               Call.received_at < now - RECONCILE_GRACE)
        )).all()}
        live = {row["id"] for row in await acd(rt).ringing()}
        stale = [i for i in live if i not in ringing]
        if stale:
            still = {str(i) for i in (await session.scalars(
                select(Call.id).where(Call.id.in_([uuid.UUID(i) for i in stale]),
                                      Call.status == CallStatus.RINGING)
            )).all()}
            stale = [i for i in stale if i not in still]
    added = 0
    offers = []
    for call_id, call in ringing.items():
        if call_id not in live:
            offers += await acd(rt).enqueue(call_id, rung_ms=ms(call.rung_at), priority=call.priority,
                                            escalated=call.escalated_at is not None,
                                            breached=call.breached_at is not None)
            added += 1
    for call_id in stale:
        _, more = await acd(rt).release(call_id)
        offers += more
    repaired, more = await acd(rt).repair([i for i in live if i in ringing])
    offers += more
    if added or stale or repaired:
        log.info("call queue repaired: %d queued, %d removed, %d re-indexed",
                 added, len(stale), repaired)
        await rt.bus.publish(*offer_events(rt, offers))
    return added, len(stale)


async def refresh_slo(rt: Runtime) -> None:
    """Refresh the SLO gauges: one instance a period computes the figures and shares them, the
    others copy them (reading a busy day's calls in every process was the hub's largest pause)."""
    period_ms = int(SLO_EVERY * TICK_SECONDS * 1000)
    try:
        ours = await rt.redis.set(rt.keys.marker("slo-refresh"), "1", nx=True,
                                  px=period_ms * 9 // 10)
    except (RedisError, OSError):  # Redis is down: every instance works from PostgreSQL alone
        async with rt.sessionmaker() as session:
            await compute(session=session, rt=rt)
        return
    if ours:
        async with rt.sessionmaker() as session:
            figures = await compute(session=session, rt=rt)
        await rt.redis.set(rt.keys.marker("slo-figures"), figures.model_dump_json(),
                           px=period_ms * 3)
        return
    shared = await rt.redis.get(rt.keys.marker("slo-figures"))
    if shared:
        export(rt, SloOut.model_validate_json(shared))


async def run(rt: Runtime) -> None:
    """The call timer: ticks four times a second for the life of the process."""
    count = 0
    while True:
        raise_if_cancelled()
        await asyncio.sleep(TICK_SECONDS)
        count += 1
        try:
            await tick(rt)
            if count % RECONCILE_EVERY == 0:
                await reconcile(rt)
            if count % SLO_EVERY == 0:
                await refresh_slo(rt)
        except asyncio.CancelledError:
            raise
        except OUTAGES as error:
            log.warning("call timer paused (%s)", type(error).__name__)
        except Exception:
            fault(log, "call timer failed", "call timer paused")


async def rebuild(rt: Runtime, session: AsyncSession) -> list[OutgoingEvent]:
    """Restore positions, the ringing queue and pending callbacks from the database; return
    the offers this makes (every ringing call is offered again to the ready positions)."""
    redis, keys = rt.redis, rt.keys
    engine = acd(rt)
    await engine.clear()
    positions = (await session.scalars(
        select(Position).where(Position.state != PositionState.LOGGED_OUT)
    )).all()
    async with redis.pipeline(transaction=False) as pipe:
        for p in positions:
            since = str(ms(p.state_since)) if p.state_since else "0"
            pipe.hset(keys.position(p.id), mapping={
                "state": p.state, "user": p.user or "", "since": since, "idle": since,
                "offered": "", "call": str(p.call_id) if p.call_id else "",
            })
            pipe.sadd(keys.positions, p.id)
            if p.state == PositionState.READY:
                pipe.zadd(keys.ready_positions, {p.id: int(since)})
        await pipe.execute()
    calls = (await session.scalars(select(Call).where(Call.status == CallStatus.RINGING)
                                   .order_by(Call.rung_at))).all()
    offers = []
    for call in calls:
        offers += await engine.enqueue(str(call.id), rung_ms=ms(call.rung_at), priority=call.priority,
                                       escalated=call.escalated_at is not None,
                                       breached=call.breached_at is not None)
    callbacks = (await session.scalars(
        select(Callback).where(Callback.status == CallbackStatus.PENDING))).all()
    for callback in callbacks:
        await engine.add_callback(str(callback.id), created_ms=ms(callback.created_at))
    return offer_events(rt, offers)

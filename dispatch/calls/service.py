"""Call intake and the life of a call: ringing, offered, answered, abandoned, ended, transferred."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import livestate
from dispatch.audit import service as audit
from dispatch.audit.schemas import Actor
from dispatch.calls.acd import Acd, Offer
from dispatch.calls.models import Call, Callback, CallbackStatus, CallStatus, Position, PositionState
from dispatch.calls.schemas import CallIn
from dispatch.db import insert_ignoring, table
from dispatch.errors import Conflict, InvalidInput, NotFound
from dispatch.realtime.schemas import OutgoingEvent
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(seconds=2)
# What the answer script says when Redis lacks the call or the position.
LIVE_STATE_LOST = ("not_ringing", "position_logged_out")
OLDEST_RING = timedelta(days=1)


@cache
def _insert_call(dialect: str) -> Any:
    return insert_ignoring(dialect, Call.__table__, ["telephony_id"]).returning(Call.__table__.c.id)


def insert_call(session: AsyncSession) -> Any:
    """INSERT a call unless its telephony id is known (one statement, compiled once)."""
    return _insert_call(session.get_bind().dialect.name)


def acd(rt: Runtime) -> Acd:
    engine: Acd = rt.extras["acd"]
    return engine


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def call_data(call: Call) -> dict[str, Any]:
    """What consoles need to show a call."""
    return {
        "call_id": str(call.id),
        "telephony_call_id": call.telephony_id,
        "caller_number": call.caller_number,
        "line": call.line,
        "priority": call.priority,
        "test": call.test,
        "status": call.status,
        "rung_at": call.rung_at,
        "answered_by": call.answered_by,
        "incident_id": str(call.incident_id) if call.incident_id else None,
        "carrier_location": (
            {"lat": call.carrier_lat, "lon": call.carrier_lon, "accuracy_m": call.carrier_accuracy_m}
            if call.carrier_lat is not None else None
        ),
    }


def offer_events(rt: Runtime, offers: list[Offer]) -> list[OutgoingEvent]:
    return [rt.bus.event("call.offered", {"call_id": o.call_id, "position_id": o.position_id})
            for o in offers]


async def find_call(session: AsyncSession, ref: str) -> Call:
    """A call by the hub's id or by the telephony call id."""
    query = select(Call)
    try:
        query = query.where(Call.id == uuid.UUID(ref))
    except ValueError:
        query = query.where(Call.telephony_id == ref)
    call = (await session.scalars(query)).first()
    if call is None:
        raise NotFound(f"no call {ref!r}")
    return call


async def find_position(session: AsyncSession, position_id: str, field: str) -> Position:
    position = await session.get(Position, position_id)
    if position is None:
        raise InvalidInput.field(field, f"no position {position_id!r}")
    return position


def as_recorded(session: AsyncSession, call: Call, **values: Any) -> Call:
    """The call as the committed UPDATE left it, without reading it back (which would take a
    transaction of its own)."""
    session.expunge(call)
    for name, value in values.items():
        setattr(call, name, value)
    return call


def ended_conflict(call: Call) -> Conflict:
    """Explain why a call can no longer be answered."""
    if call.status == CallStatus.ANSWERED:
        return Conflict(f"call was already answered by {call.answered_by}",
                        answered_by=call.answered_by, status_now=call.status)
    return Conflict(f"call is {call.status}, it cannot be answered", status_now=call.status)


async def receive_call(
    *, session: AsyncSession, rt: Runtime, body: CallIn, actor: Actor, test: bool = False
) -> tuple[Call, bool]:
    """Record a ringing call (once per telephony id), then queue and offer it.

    The call is committed before this returns, so a 201 means it is in the database.
    Returns the call and whether it was new. A `test` call (a supervisor's) rings like any
    other and is left out of the answer figures.
    """
    now = rt.clock.now()
    if body.rung_at > now + CLOCK_SKEW:
        raise InvalidInput.field("body.rung_at", "is in the future")
    if body.rung_at < now - OLDEST_RING:
        raise InvalidInput.field("body.rung_at", "is more than a day ago")
    location = body.carrier_location
    values = {
        "id": uuid.uuid4(), "telephony_id": body.telephony_call_id,
        "caller_number": body.caller_number, "line": body.line, "priority": body.priority,
        "rung_at": body.rung_at, "received_at": now, "status": CallStatus.RINGING,
        "carrier_lat": location.lat if location else None,
        "carrier_lon": location.lon if location else None,
        "carrier_accuracy_m": location.accuracy_m if location else None,
        "test": test,
    }
    inserted = await session.execute(insert_call(session), values)
    if inserted.first() is None:
        await session.rollback()
        existing = await find_call(session, body.telephony_call_id)
        return existing, False
    await session.execute(audit.INSERT_ENTRY, audit.row(
        actor=actor, action="call.received", target_type="call", target_id=str(values["id"]),
        before=None, after={"line": body.line, "priority": body.priority, "rung_at": body.rung_at},
        at=now,
    ))
    await session.commit()
    call = Call(**values)
    rt.metrics.calls_received.inc()
    events = [rt.bus.event("call.ringing", call_data(call), at=now)]
    try:
        offers = await acd(rt).enqueue(str(call.id), rung_ms=ms(call.rung_at),
                                       priority=call.priority)
        events += offer_events(rt, offers)
    except (RedisError, OSError) as error:
        # The call is safe in the database; the reconciler queues it when Redis is back.
        log.warning("could not queue call %s (%s)", call.id, type(error).__name__)
    await rt.bus.publish(*events)
    return call, True


async def answer_call(
    *, session: AsyncSession, rt: Runtime, ref: str, position_id: str, actor: Actor
) -> Call:
    """Answer a ringing call at a position; the first answer wins."""
    call = await find_call(session, ref)
    await find_position(session, position_id, "body.position_id")
    if call.status != CallStatus.RINGING:
        raise ended_conflict(call)
    now = rt.clock.now()
    result = await acd(rt).answer(str(call.id), position_id, now_ms=ms(now))
    if result.status in LIVE_STATE_LOST:
        # The database has it ringing and Redis has lost it, or this position: live state may
        # have just been lost (a flush, a failover). Answer on the rebuilt state; should
        # another position take the call meanwhile, the guarded UPDATE below lets one win.
        await livestate.ensure(rt)
        result = await acd(rt).answer(str(call.id), position_id, now_ms=ms(now))
    if result.status == "not_ringing":
        await session.refresh(call)
        if call.status != CallStatus.RINGING:
            raise ended_conflict(call)
        raise Conflict("the call is being answered at another position", status_now=call.status)
    if result.status != "ok":
        state = result.status.removeprefix("position_")
        raise Conflict(f"position {position_id} is {state}, not ready", position_state=state)
    # What undoing needs, read now: a rollback expires `call`, and reloading it lazily is I/O.
    queued = Call(id=call.id, rung_at=call.rung_at, priority=call.priority,
                  escalated_at=call.escalated_at, breached_at=call.breached_at)
    try:
        updated = await session.execute(
            update(table(Call))
            .where(Call.id == call.id, Call.status == CallStatus.RINGING)
            .values(status=CallStatus.ANSWERED, answered_at=now, answered_by=position_id)
            .returning(Call.id)
        )
        if updated.first() is None:
            raise Conflict("the call was answered or ended meanwhile")
        await session.execute(
            update(table(Position)).where(Position.id == position_id)
            .values(state=PositionState.ON_CALL, state_since=now, call_id=call.id)
        )
        await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                           action="call.answer", target_type="call", target_id=str(call.id),
                           before={"status": "ringing"},
                           after={"status": "answered", "position_id": position_id}, at=now)
        await session.commit()
    except BaseException:
        await session.rollback()
        await undo_answer(rt, queued, position_id, now,
                          requeue=await still_ringing(session, queued.id))
        raise
    as_recorded(session, call, status=CallStatus.ANSWERED, answered_at=now, answered_by=position_id)
    wait = (now - call.rung_at).total_seconds()
    rt.metrics.calls_answered.inc()
    if not call.test:  # the answer-time histogram is an SLO figure
        rt.metrics.answer_seconds.observe(max(wait, 0.0))
    await rt.bus.publish(
        rt.bus.event("call.answered", {
            "call_id": str(call.id), "position_id": position_id, "answered_at": now,
            "answer_seconds": round(wait, 3), "offered_to": result.offered_to,
        }, at=now),
        position_event(rt, position_id, PositionState.ON_CALL, "ready", call_id=str(call.id)),
        *offer_events(rt, result.offers),
    )
    return call


async def still_ringing(session: AsyncSession, call_id: uuid.UUID) -> bool:
    """Whether the database still has the call ringing (True if it cannot tell)."""
    try:
        status = await session.scalar(select(Call.status).where(Call.id == call_id))
    except Exception:  # the database is away: re-queue, the reconciler corrects it later
        await session.rollback()
        return True
    return bool(status == CallStatus.RINGING)


async def undo_answer(rt: Runtime, call: Call, position_id: str, now: datetime, *,
                      requeue: bool = True) -> None:
    """Put the position back to ready after a failed answer, and the call back in the queue
    unless it stopped ringing meanwhile (the caller hung up); announce the offers this makes."""
    offers: list[Offer] = []
    try:
        await acd(rt).set_position(position_id, PositionState.WRAP_UP, user=None, now_ms=ms(now))
        ready = await acd(rt).set_position(position_id, PositionState.READY, user=None,
                                           now_ms=ms(now))
        offers += ready.offers
        if requeue:
            offers += await acd(rt).enqueue(
                str(call.id), rung_ms=ms(call.rung_at), priority=call.priority,
                escalated=call.escalated_at is not None, breached=call.breached_at is not None)
    except (RedisError, OSError):
        log.warning("could not undo the answer of call %s in Redis", call.id)
    await rt.bus.publish(*offer_events(rt, offers))


def position_event(rt: Runtime, position_id: str, state: str, previous: str, *,
                   call_id: str | None = None, user: str | None = None) -> OutgoingEvent:
    return rt.bus.event("position.state", {
        "position_id": position_id, "state": state, "previous": previous,
        "call_id": call_id, "user": user,
    })


async def abandon_call(
    *, session: AsyncSession, rt: Runtime, ref: str, at: datetime | None, actor: Actor
) -> tuple[Call, Callback]:
    """The caller hung up before an answer: end the ringing and owe a callback."""
    call = await find_call(session, ref)
    now = rt.clock.now()
    at = at or now
    if call.status == CallStatus.ABANDONED:
        callback = (await session.scalars(select(Callback).where(Callback.call_id == call.id))).one()
        return call, callback
    if call.status != CallStatus.RINGING:
        raise Conflict(f"call is {call.status}; only a ringing call can be abandoned",
                       status_now=call.status)
    if at < call.rung_at:
        raise InvalidInput.field("body.at", "is before the call rang")
    updated = await session.execute(
        update(table(Call)).where(Call.id == call.id, Call.status == CallStatus.RINGING)
        .values(status=CallStatus.ABANDONED, abandoned_at=at).returning(Call.id)
    )
    if updated.first() is None:
        await session.rollback()
        await session.refresh(call)
        raise Conflict(f"call is {call.status}; only a ringing call can be abandoned",
                       status_now=call.status)
    callback = Callback(id=uuid.uuid4(), call_id=call.id, caller_number=call.caller_number,
                        status=CallbackStatus.PENDING, created_at=now, updated_at=now,
                        attempts=0)
    session.add(callback)
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="call.abandoned", target_type="call", target_id=str(call.id),
                       before={"status": "ringing"},
                       after={"status": "abandoned", "callback_id": str(callback.id)}, at=now)
    await session.commit()
    as_recorded(session, call, status=CallStatus.ABANDONED, abandoned_at=at)
    rt.metrics.calls_abandoned.inc()
    events = [
        rt.bus.event("call.abandoned", {
            "call_id": str(call.id), "abandoned_at": at, "callback_id": str(callback.id),
            "ring_seconds": round((at - call.rung_at).total_seconds(), 3),
        }, at=now),
        callback_event(rt, "callback.due", callback),
    ]
    try:
        _, offers = await acd(rt).release(str(call.id))
        await acd(rt).add_callback(str(callback.id), created_ms=ms(now))
        events += offer_events(rt, offers)
    except (RedisError, OSError) as error:
        log.warning("could not update the queue for call %s (%s)", call.id, type(error).__name__)
    await rt.bus.publish(*events)
    return call, callback


def callback_event(rt: Runtime, type_: str, callback: Callback) -> OutgoingEvent:
    return rt.bus.event(type_, {
        "callback_id": str(callback.id), "call_id": str(callback.call_id),
        "caller_number": callback.caller_number, "status": callback.status,
        "attempts": callback.attempts, "taken_by": callback.taken_by,
        "outcome": callback.outcome, "number_withheld": callback.caller_number is None,
    })


async def end_call(
    *, session: AsyncSession, rt: Runtime, ref: str, at: datetime | None, actor: Actor
) -> Call:
    """An answered call is over; its position moves to wrap-up. A ringing call is abandoned."""
    call = await find_call(session, ref)
    if call.status == CallStatus.RINGING:
        abandoned, _ = await abandon_call(session=session, rt=rt, ref=ref, at=at, actor=actor)
        return abandoned
    if call.status == CallStatus.ENDED:
        return call
    if call.status != CallStatus.ANSWERED:
        raise Conflict(f"call is {call.status}; it cannot end", status_now=call.status)
    now = rt.clock.now()
    at = at or now
    position_id = call.answered_by
    await session.execute(update(table(Call)).where(Call.id == call.id)
                          .values(status=CallStatus.ENDED, ended_at=at))
    if position_id:
        await session.execute(
            update(table(Position)).where(Position.id == position_id, Position.call_id == call.id)
            .values(state=PositionState.WRAP_UP, state_since=now, call_id=None)
        )
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="call.ended", target_type="call", target_id=str(call.id),
                       before={"status": "answered"}, after={"status": "ended"}, at=now)
    await session.commit()
    as_recorded(session, call, status=CallStatus.ENDED, ended_at=at)
    events = [rt.bus.event("call.ended", {"call_id": str(call.id), "ended_at": at,
                                          "position_id": position_id}, at=now)]
    if position_id:
        result = await acd(rt).set_position(position_id, PositionState.WRAP_UP, user=None,
                                            now_ms=ms(now))
        if result.status == "ok":
            events.append(position_event(rt, position_id, PositionState.WRAP_UP, result.previous))
    await rt.bus.publish(*events)
    return call


async def transfer_call(
    *, session: AsyncSession, rt: Runtime, ref: str, to_position_id: str, actor: Actor
) -> Call:
    """Move an answered call to another ready position."""
    call = await find_call(session, ref)
    target = await find_position(session, to_position_id, "body.to_position_id")
    if call.status != CallStatus.ANSWERED:
        raise Conflict(f"call is {call.status}; only an answered call can be transferred",
                       status_now=call.status)
    source = call.answered_by
    if source == target.id:
        raise InvalidInput.field("body.to_position_id", "the call is already at this position")
    now = rt.clock.now()
    taken = await acd(rt).set_position(target.id, PositionState.ON_CALL, user=None,
                                       now_ms=ms(now), call_id=str(call.id))
    if taken.status != "ok" or taken.previous != PositionState.READY:
        if taken.status == "ok":  # it was not ready: put it back as it was
            await acd(rt).set_position(target.id, PositionState.WRAP_UP, user=None, now_ms=ms(now))
            await acd(rt).set_position(target.id, taken.previous, user=None, now_ms=ms(now))
        raise Conflict(f"position {target.id} is {taken.previous}, not ready",
                       position_state=taken.previous)
    await session.execute(update(table(Call)).where(Call.id == call.id).values(answered_by=target.id))
    await session.execute(update(table(Position)).where(Position.id == target.id).values(
        state=PositionState.ON_CALL, state_since=now, call_id=call.id))
    if source:
        await session.execute(update(table(Position)).where(Position.id == source).values(
            state=PositionState.WRAP_UP, state_since=now, call_id=None))
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="call.transfer", target_type="call", target_id=str(call.id),
                       before={"position_id": source}, after={"position_id": target.id}, at=now)
    await session.commit()
    as_recorded(session, call, answered_by=target.id)
    events = [
        rt.bus.event("call.transferred", {"call_id": str(call.id), "from_position_id": source,
                                          "to_position_id": target.id}, at=now),
        position_event(rt, target.id, PositionState.ON_CALL, taken.previous, call_id=str(call.id)),
    ]
    if source:
        left = await acd(rt).set_position(source, PositionState.WRAP_UP, user=None, now_ms=ms(now))
        events.append(position_event(rt, source, PositionState.WRAP_UP, left.previous))
    await rt.bus.publish(*events, *offer_events(rt, taken.offers))
    return call


async def ringing_calls(*, session: AsyncSession, rt: Runtime) -> list[tuple[Call, str | None]]:
    """Calls still ringing, oldest first, with the position each is offered to."""
    calls = (await session.scalars(
        select(Call).where(Call.status == CallStatus.RINGING).order_by(Call.rung_at)
    )).all()
    try:
        live = {row["id"]: row.get("offered") or None for row in await acd(rt).ringing()}
    except (RedisError, OSError):
        live = {}
    return [(call, live.get(str(call.id))) for call in calls]

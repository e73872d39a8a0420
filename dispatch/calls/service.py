"""Call intake and the life of a call: ringing, offered, answered, abandoned, ended, transferred."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import livestate
from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.calls.acd import Acd, Offer
from dispatch.calls.enums import CallbackStatus, CallStatus, PositionState
from dispatch.calls.models import Call, Callback, Position
from dispatch.calls.schemas import CallIn
from dispatch.db import insert_ignoring, table
from dispatch.errors import Conflict, Forbidden, InvalidInput, NotFound
from dispatch.prebuilt import prebuilt
from dispatch.realtime.schemas import OutgoingEvent
from dispatch.runtime import Runtime
from dispatch.work import Work, statements_alone

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(seconds=2)
# What the answer script says when Redis lacks the call or the position.
LIVE_STATE_LOST = ("not_ringing", "position_logged_out")
OLDEST_RING = timedelta(days=1)


# What intake writes (receive_call's values, the same keys).
CALL_FIELDS = [table(Call).c[name] for name in (
    "id", "telephony_id", "caller_number", "line", "priority", "rung_at", "received_at", "status",
    "carrier_lat", "carrier_lon", "carrier_accuracy_m", "test")]


@cache
def _insert_call(dialect: str) -> Any:
    inserted = insert_ignoring(dialect, Call.__table__, ["telephony_id"]).returning(Call.__table__.c.id)
    if dialect != "postgresql":
        return prebuilt(inserted)
    # PostgreSQL: the call and its audit entry in one statement (nothing for a known call).
    new = (insert_ignoring(dialect, Call.__table__, ["telephony_id"])
           .values({c.name: bindparam(f"call_{c.name}", type_=c.type) for c in CALL_FIELDS})
           .returning(Call.__table__.c.id).cte("new"))
    return prebuilt(select(new.c.id).add_cte(audit.along(new).cte("audited")))


def insert_call(session: AsyncSession) -> Any:
    """INSERT a call unless its telephony id is known (one statement, compiled once)."""
    return _insert_call(session.get_bind().dialect.name)


CALLS = table(Call).c
CALL_FOR_INCIDENT = prebuilt(select(CALLS.id, CALLS.status, CALLS.incident_id).where(
    CALLS.id == bindparam("call_id")))
LINK_TO_INCIDENT = prebuilt(update(table(Call)).where(CALLS.id == bindparam("call_id")).values(
    incident_id=bindparam("incident")))


async def answered_call(session: AsyncSession, call_id: uuid.UUID) -> Any:
    """An answered (or ended) call that may be given an incident: its id, status and incident."""
    call = (await session.execute(CALL_FOR_INCIDENT, {"call_id": call_id})).first()
    if call is None:
        raise InvalidInput.field("body.call_id", f"no call {call_id}")
    if call.status not in (CallStatus.ANSWERED, CallStatus.ENDED):
        raise Conflict(f"call is {call.status}: answer it before recording the incident",
                       status_now=call.status)
    return call


async def link_to_incident(session: AsyncSession, call_id: uuid.UUID, incident_id: uuid.UUID) -> None:
    await session.execute(LINK_TO_INCIDENT, {"call_id": call_id, "incident": incident_id})


def acd(rt: Runtime) -> Acd:
    return rt.acd


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


CALL_BY_ID = prebuilt(select(table(Call)).where(CALLS.id == bindparam("ref")))
CALL_BY_TELEPHONY_ID = prebuilt(select(table(Call)).where(CALLS.telephony_id == bindparam("ref")))
POSITIONS = table(Position).c
POSITION_BY_ID = prebuilt(select(table(Position)).where(POSITIONS.id == bindparam("position_id")))


async def find_call(session: AsyncSession, ref: str) -> Call:
    """A call by the hub's id or by the telephony call id (read with a prebuilt statement; the
    Call returned is not in the session: changes are written with UPDATE statements)."""
    try:
        found = await session.execute(CALL_BY_ID, {"ref": uuid.UUID(ref)})
    except ValueError:
        found = await session.execute(CALL_BY_TELEPHONY_ID, {"ref": ref})
    row = found.first()
    if row is None:
        raise NotFound(f"no call {ref!r}")
    return Call(**row._asdict())


async def find_position(session: AsyncSession, position_id: str, field: str) -> Position:
    """A position (not in the session, like `find_call`'s calls)."""
    row = (await session.execute(POSITION_BY_ID, {"position_id": position_id})).first()
    if row is None:
        raise InvalidInput.field(field, f"no position {position_id!r}")
    return Position(**row._asdict())


def as_recorded(call: Call, **values: Any) -> Call:
    """The call as the committed UPDATE left it, without reading it back."""
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
    entry = audit.row(
        actor=actor, action="call.received", target_type="call", target_id=str(values["id"]),
        before=None, after={"line": body.line, "priority": body.priority, "rung_at": body.rung_at},
        at=now)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        statements_alone(session)  # the call and its audit entry: one statement
    inserted = await session.execute(insert_call(session), {
        **{f"call_{c.name}": values[c.name] for c in CALL_FIELDS}, **audit.params(entry)}
        if postgres else values)
    if inserted.first() is None:
        await session.rollback()
        existing = await find_call(session, body.telephony_call_id)
        return existing, False
    if not postgres:
        await session.execute(audit.INSERT_ENTRY, entry)
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


ANSWER = prebuilt(update(table(Call)).where(CALLS.id == bindparam("call"), CALLS.status == CallStatus.RINGING)
                  .values(status=CallStatus.ANSWERED, answered_at=bindparam("at"),
                          answered_by=bindparam("position")).returning(CALLS.id))
TAKE_CALL = prebuilt(update(table(Position)).where(POSITIONS.id == bindparam("position"))
                     .values(state=PositionState.ON_CALL, state_since=bindparam("at"),
                             call_id=bindparam("call")))
END = prebuilt(update(table(Call)).where(CALLS.id == bindparam("call"))
               .values(status=CallStatus.ENDED, ended_at=bindparam("at")))
WRAP_UP = prebuilt(update(table(Position))
                   .where(POSITIONS.id == bindparam("position"), POSITIONS.call_id == bindparam("call"))
                   .values(state=PositionState.WRAP_UP, state_since=bindparam("since"), call_id=None))


def _answer_pg() -> Any:
    """PostgreSQL: the call answered, the position on it and the audit entry in one statement."""
    answered = ANSWER.cte("answered")
    taken = TAKE_CALL.where(select(answered.c.id).exists()).returning(POSITIONS.id).cte("taken")
    return select(answered.c.id).add_cte(taken, audit.along(answered).cte("audited"))


def _end_pg() -> Any:
    """PostgreSQL: the call ended, its position in wrap-up and the audit entry in one statement."""
    ended = END.returning(CALLS.id).cte("ended")
    wrapped = WRAP_UP.returning(POSITIONS.id).cte("wrapped")
    return select(ended.c.id).add_cte(wrapped, audit.along(ended).cte("audited"))


ANSWER_PG = prebuilt(_answer_pg())
END_PG = prebuilt(_end_pg())


def check_holder(position: Position, holder: str, *, logging_in: bool, user: str | None) -> None:
    """Refuse a call-taker acting for a position someone else holds (or nobody does)."""
    if logging_in and user != holder:
        raise Forbidden(f"a call-taker logs in under their own name ({holder!r}); a supervisor "
                        "may log in others", errors=[{"field": "body.user", "message": "not you"}])
    held_by = position.user if position.state != PositionState.LOGGED_OUT else None
    if logging_in and held_by not in (None, holder):
        raise Forbidden(f"position {position.id} is held by someone else: a supervisor may "
                        "log them out")
    if not logging_in and held_by != holder:
        raise Forbidden(f"position {position.id} is not yours: log in at it first (a supervisor "
                        "may act for any position)")


async def answer_call(
    *, session: AsyncSession, rt: Runtime, ref: str, position_id: str, actor: Actor,
    holder: str | None = None,
) -> Call:
    """Answer a ringing call at a position; the first answer wins. `holder` is the signed-in
    call-taker, who answers only at their own position (None: a supervisor, at any)."""
    # Two reads that check, then one guarded statement answers, takes the position and audits.
    statements_alone(session)
    position = await find_position(session, position_id, "body.position_id")
    if holder is not None:
        check_holder(position, holder, logging_in=False, user=None)
    call = await find_call(session, ref)
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
        call = await find_call(session, str(call.id))
        if call.status != CallStatus.RINGING:
            raise ended_conflict(call)
        raise Conflict("the call is being answered at another position", status_now=call.status)
    if result.status != "ok":
        state = result.status.removeprefix("position_")
        raise Conflict(f"position {position_id} is {state}, not ready", position_state=state)
    # What undoing needs, read now: a rollback expires `call`, and reloading it lazily is I/O.
    queued = Call(id=call.id, rung_at=call.rung_at, priority=call.priority,
                  escalated_at=call.escalated_at, breached_at=call.breached_at)
    work = Work(rt, session)
    wait = (now - call.rung_at).total_seconds()
    try:
        answered = {"call": call.id, "position": position_id, "at": now}
        entry = audit.row(actor=actor, action="call.answer", target_type="call",
                          target_id=str(call.id), before={"status": "ringing"},
                          after={"status": "answered", "position_id": position_id}, at=now)
        if session.get_bind().dialect.name == "postgresql":
            if (await work.one(ANSWER_PG, {**answered, **audit.params(entry)})) is None:
                raise Conflict("the call was answered or ended meanwhile")
        else:
            if (await work.one(ANSWER, answered)) is None:
                raise Conflict("the call was answered or ended meanwhile")
            await work.run(TAKE_CALL, answered)
            work.audit_rows.append(entry)
        work.emit("call.answered", {
            "call_id": str(call.id), "position_id": position_id, "answered_at": now,
            "answer_seconds": round(wait, 3), "offered_to": result.offered_to}, at=now)
        work.publish(position_event(rt, position_id, PositionState.ON_CALL, "ready",
                                    call_id=str(call.id)), *offer_events(rt, result.offers))
        await work.commit()
    except BaseException:
        await work.rollback()
        await undo_answer(rt, queued, position_id, now,
                          requeue=await still_ringing(session, queued.id))
        raise
    as_recorded(call, status=CallStatus.ANSWERED, answered_at=now, answered_by=position_id)
    rt.metrics.calls_answered.inc()
    if not call.test:  # the answer-time histogram is an SLO figure
        rt.metrics.answer_seconds.observe(max(wait, 0.0))
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
        call = await find_call(session, str(call.id))
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
    as_recorded(call, status=CallStatus.ABANDONED, abandoned_at=at)
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
    statements_alone(session)  # a read that checks, then one statement ends, wraps up and audits
    call = await find_call(session, ref)
    if call.status == CallStatus.RINGING:
        statements_alone(session, False)  # abandoning writes several rows together
        abandoned, _ = await abandon_call(session=session, rt=rt, ref=ref, at=at, actor=actor)
        return abandoned
    if call.status == CallStatus.ENDED:
        return call
    if call.status != CallStatus.ANSWERED:
        raise Conflict(f"call is {call.status}; it cannot end", status_now=call.status)
    now = rt.clock.now()
    at = at or now
    position_id = call.answered_by
    work = Work(rt, session)
    entry = audit.row(actor=actor, action="call.ended", target_type="call", target_id=str(call.id),
                      before={"status": "answered"}, after={"status": "ended"}, at=now)
    if session.get_bind().dialect.name == "postgresql":
        await work.run(END_PG, {"call": call.id, "at": at, "position": position_id, "since": now,
                                **audit.params(entry)})
    else:
        await work.run(END, {"call": call.id, "at": at})
        if position_id:
            await work.run(WRAP_UP, {"position": position_id, "call": call.id, "since": now})
        work.audit_rows.append(entry)
    await work.commit()
    as_recorded(call, status=CallStatus.ENDED, ended_at=at)
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
    as_recorded(call, answered_by=target.id)
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

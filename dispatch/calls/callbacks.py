"""Callbacks: every abandoned call is called back until someone is reached or it is resolved."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.calls.enums import CallbackStatus, PositionState
from dispatch.calls.models import Call, Callback, Position
from dispatch.calls.service import acd, callback_event, find_position, ms, position_event
from dispatch.db import table
from dispatch.errors import Conflict, InvalidInput, NotFound
from dispatch.runtime import Runtime

# Outcomes that settle a callback; the others put it back in the queue to be tried again.
RESOLVING = {"reached", "wrong_number", "resolved_elsewhere"}
# Outcomes after which the caller counts as served for the answer rate.
SERVED = ("reached", "resolved_elsewhere")


async def find_callback(session: AsyncSession, callback_id: str) -> Callback:
    try:
        key = uuid.UUID(callback_id)
    except ValueError:
        raise NotFound(f"no callback {callback_id!r}") from None
    callback = await session.get(Callback, key)
    if callback is None:
        raise NotFound(f"no callback {callback_id!r}")
    return callback


async def list_callbacks(*, session: AsyncSession, status: str | None) -> list[Callback]:
    """Callbacks, unresolved first and oldest first."""
    query = select(Callback).order_by(Callback.created_at)
    if status:
        query = query.where(Callback.status == status)
    else:
        query = query.where(Callback.status != CallbackStatus.RESOLVED)
    return list((await session.scalars(query)).all())


async def take_callback(
    *, session: AsyncSession, rt: Runtime, callback_id: str, position_id: str, actor: Actor
) -> Callback:
    """A position takes a pending callback and dials; the first to take it has it."""
    callback = await find_callback(session, callback_id)
    await find_position(session, position_id, "body.position_id")
    if callback.caller_number is None:
        raise Conflict("the caller's number was withheld: record the outcome "
                       "'resolved_elsewhere' once the caller is found another way")
    now = rt.clock.now()
    moved = await acd(rt).set_position(position_id, PositionState.DIALLING, user=None,
                                       now_ms=ms(now))
    if moved.status != "ok":
        raise Conflict(f"position {position_id} is {moved.previous}: it cannot dial now",
                       position_state=moved.previous)
    taken = await session.execute(
        update(Callback)
        .where(Callback.id == callback.id, Callback.status == CallbackStatus.PENDING)
        .values(status=CallbackStatus.DIALLING, taken_by=position_id,
                attempts=Callback.attempts + 1, updated_at=now)
        .returning(Callback.id)
    )
    if taken.first() is None:
        await session.rollback()
        await acd(rt).set_position(position_id, PositionState.WRAP_UP, user=None, now_ms=ms(now))
        await acd(rt).set_position(position_id, moved.previous, user=None, now_ms=ms(now))
        await session.refresh(callback)
        raise Conflict(f"callback is {callback.status} (taken by {callback.taken_by})",
                       status_now=callback.status)
    await session.execute(update(table(Position)).where(Position.id == position_id).values(
        state=PositionState.DIALLING, state_since=now))
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="callback.take", target_type="callback", target_id=str(callback.id),
                       before={"status": "pending"},
                       after={"status": "dialling", "position_id": position_id}, at=now)
    await session.commit()
    await session.refresh(callback)
    await acd(rt).remove_callback(str(callback.id))
    await rt.bus.publish(
        callback_event(rt, "callback.taken", callback),
        position_event(rt, position_id, PositionState.DIALLING, moved.previous),
    )
    return callback


async def record_outcome(
    *, session: AsyncSession, rt: Runtime, callback_id: str, outcome: str, notes: str | None,
    actor: Actor,
) -> Callback:
    """Record how a callback went; an unreached caller goes back in the queue."""
    callback = await find_callback(session, callback_id)
    if callback.status == CallbackStatus.RESOLVED:
        raise Conflict("callback is already resolved", status_now=callback.status)
    if callback.status == CallbackStatus.PENDING and outcome != "resolved_elsewhere":
        raise InvalidInput.field("body.outcome", "take the callback before recording a dial outcome")
    now = rt.clock.now()
    resolved = outcome in RESOLVING
    position_id = callback.taken_by if callback.status == CallbackStatus.DIALLING else None
    before = {"status": callback.status, "attempts": callback.attempts}
    callback.outcome = outcome
    callback.notes = notes
    callback.updated_at = now
    callback.status = CallbackStatus.RESOLVED if resolved else CallbackStatus.PENDING
    callback.resolved_at = now if resolved else None
    if not resolved:
        callback.taken_by = None
    if position_id:
        await session.execute(update(table(Position)).where(Position.id == position_id).values(
            state=PositionState.WRAP_UP, state_since=now))
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="callback.outcome", target_type="callback", target_id=str(callback.id),
                       before=before, after={"status": callback.status, "outcome": outcome}, at=now)
    await session.commit()
    events = [callback_event(rt, "callback.resolved" if resolved else "callback.due", callback)]
    if not resolved:
        await acd(rt).add_callback(str(callback.id), created_ms=ms(callback.created_at))
    if position_id:
        moved = await acd(rt).set_position(position_id, PositionState.WRAP_UP, user=None,
                                           now_ms=ms(now))
        events.append(position_event(rt, position_id, PositionState.WRAP_UP, moved.previous))
    await rt.bus.publish(*events)
    return callback


async def pending_count(*, session: AsyncSession) -> int:
    """Callbacks still owed to callers (a supervisor's test call owes none that counts)."""
    from sqlalchemy import func

    return int(await session.scalar(
        select(func.count()).select_from(Callback).join(Call, Call.id == Callback.call_id)
        .where(Callback.status != CallbackStatus.RESOLVED, Call.test.is_(False))
    ) or 0)



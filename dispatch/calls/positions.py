"""Call-taker positions: log in and out, ready, not ready, wrap-up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import Boolean, String, bindparam, case, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import livestate
from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.calls.enums import PositionState
from dispatch.calls.models import Position
from dispatch.calls.schemas import PositionOut
from dispatch.calls.service import (
    acd,
    check_holder,
    find_position,
    ms,
    offer_events,
    position_event,
)
from dispatch.db import table
from dispatch.errors import Conflict
from dispatch.prebuilt import prebuilt
from dispatch.runtime import Runtime
from dispatch.work import Work, statements_alone

POSITIONS = table(Position).c
# The same statement for every change: the user is set only when logging in or out, the call
# is let go of unless the position goes on a call.
SET_STATE = prebuilt(update(table(Position)).where(POSITIONS.id == bindparam("position"))
                     .values(state=bindparam("to"), state_since=bindparam("at"),
                             user=case((bindparam("set_user", type_=Boolean),
                                        bindparam("new_user", type_=String)), else_=POSITIONS.user),
                             call_id=case((bindparam("clear_call", type_=Boolean), null()),
                                          else_=POSITIONS.call_id)))


def _set_state_pg() -> Any:
    """PostgreSQL: the change and its audit entry in one statement (no transaction block)."""
    changed = SET_STATE.returning(POSITIONS.id).cte("changed")
    return select(changed.c.id).add_cte(audit.along(changed).cte("audited"))


SET_STATE_PG = prebuilt(_set_state_pg())
REFUSALS = {
    "not_logged_in": "log in first",
    "busy": "finish the call or callback first",
}


async def change_state(
    *, session: AsyncSession, rt: Runtime, position_id: str, state: str, actor: Actor,
    user: str | None = None, holder: str | None = None,
) -> PositionOut:
    """Move a position to `state` (logging in, out, ready, not ready or wrap-up).

    `holder` is the signed-in call-taker, who acts only at a position they hold and logs in
    only under their own name; None for a supervisor, who acts for any position.
    """
    statements_alone(session)  # a read that checks, then one statement changes and audits
    position = await find_position(session, position_id, "path.position_id")
    if holder is not None:
        check_holder(position, holder, logging_in=user is not None, user=user)
    now = rt.clock.now()
    # Redis may have just lost live state: rebuilt first, the change applies to the position's
    # recorded state instead of being overwritten by the rebuild a moment later.
    await livestate.ensure(rt)
    result = await acd(rt).set_position(position_id, state, user=user, now_ms=ms(now))
    if result.status in REFUSALS:
        raise Conflict(f"position {position_id} is {result.previous}: {REFUSALS[result.status]}",
                       position_state=result.previous)
    if result.status == "ok":
        before = {"state": position.state, "user": position.user}
        values: dict[str, object] = {"state": state, "state_since": now}
        if user is not None or state == PositionState.LOGGED_OUT:
            values["user"] = user
        if state != PositionState.ON_CALL:
            values["call_id"] = None
        work = Work(rt, session)
        change = {"position": position_id, "to": state, "at": now, "set_user": "user" in values,
                  "new_user": user, "clear_call": state != PositionState.ON_CALL}
        entry = audit.row(actor=actor, action="position.state", target_type="position",
                          target_id=position_id, before=before,
                          after={"state": state, "user": values.get("user")}, at=now)
        if session.get_bind().dialect.name == "postgresql":
            await work.run(SET_STATE_PG, {**change, **audit.params(entry)})
        else:
            await work.run(SET_STATE, change)
            work.audit_rows.append(entry)
        work.publish(
            position_event(rt, position_id, state, result.previous, user=user or position.user),
            *offer_events(rt, result.offers))
        await work.commit()
        position = Position(**{  # the row as now recorded
            "id": position.id, "name": position.name, "name_zh": position.name_zh,
            "supervisor": position.supervisor,
            "user": position.user, "call_id": position.call_id, **values})
        # The live state as the script just left it (no read back): the state since now, and
        # the call it offered this position at once, if any.
        offered = next((o.call_id for o in result.offers if o.position_id == position_id), "")
        return position_out(position, {
            "state": state, "user": position.user or "", "since": str(ms(now)),
            "call": str(position.call_id or ""), "offered": offered})
    try:
        row = await acd(rt).position(position_id)
    except (RedisError, OSError):
        row = {}
    return position_out(position, row)


async def require_holder(
    session: AsyncSession, position_id: str, holder: str | None, field: str
) -> None:
    """Refuse a call-taker acting at a position they do not hold (None: a supervisor)."""
    if holder is not None:
        position = await find_position(session, position_id, field)
        check_holder(position, holder, logging_in=False, user=None)


def position_out(p: Position, row: dict[str, str]) -> PositionOut:
    """A position with its live state from Redis (`row`), else the last one recorded."""
    if row:
        since = datetime.fromtimestamp(int(row["since"]) / 1000, UTC) if row.get("since") else None
        return PositionOut(
            id=p.id, name=p.name, name_zh=p.name_zh, supervisor=p.supervisor,
            state=row.get("state", p.state),
            user=row.get("user") or p.user, since=since, call_id=row.get("call") or None,
            offered_call_id=row.get("offered") or None,
        )
    return PositionOut(
        id=p.id, name=p.name, name_zh=p.name_zh, supervisor=p.supervisor, state=p.state, user=p.user,
        since=p.state_since, call_id=str(p.call_id) if p.call_id else None, offered_call_id=None,
    )


async def list_positions(*, session: AsyncSession, rt: Runtime) -> list[PositionOut]:
    """Every position with its live state (from Redis, else the last one recorded)."""
    positions = (await session.scalars(select(Position).order_by(Position.id))).all()
    try:
        live = await acd(rt).positions()
    except (RedisError, OSError):
        live = {}
    return [position_out(p, live.get(p.id, {})) for p in positions]

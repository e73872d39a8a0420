"""Hospital terminal actions over its WebSocket: acknowledge a notice, mark a handover done."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from dispatch.calls.actions import actor_of
from dispatch.handovers import service
from dispatch.realtime.actions import Action, Connection, action
from dispatch.realtime.schemas import ClientMessage
from dispatch.workflows import handover as handover_workflow


class HandoverMessage(ClientMessage):
    action: Literal["handover.acknowledge", "handover.done"]
    handover_id: str = Field(min_length=1, max_length=40)


@action("handover.acknowledge", HandoverMessage, "hospital")
async def acknowledge(conn: Connection, msg: HandoverMessage) -> dict[str, Any]:
    async with conn.runtime.sessionmaker() as session:
        handover = await service.acknowledge_notice(
            session=session, rt=conn.runtime, handover_id=msg.handover_id, actor=actor_of(conn),
            hospital_id=conn.key)
    return service.handover_data(handover)


@action("handover.done", HandoverMessage, "hospital")
async def done(conn: Connection, msg: HandoverMessage) -> dict[str, Any]:
    async with conn.runtime.sessionmaker() as session:
        handover = await handover_workflow.mark_done(
            session=session, rt=conn.runtime, handover_id=msg.handover_id, actor=actor_of(conn),
            crew_reason=None, hospital_id=conn.key)
    return service.handover_data(handover)


ACTIONS: list[Action] = [acknowledge, done]

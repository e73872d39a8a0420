"""Console actions over the WebSocket: answer a call, change position state, take a callback."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from dispatch.audit.dependencies import ROLE_PRECEDENCE
from dispatch.audit.schemas import Actor
from dispatch.auth.permissions import position_holder
from dispatch.calls import callbacks as callback_service
from dispatch.calls import positions as position_service
from dispatch.calls import service
from dispatch.realtime.actions import Action, Connection, action
from dispatch.realtime.schemas import ClientMessage


def actor_of(conn: Connection) -> Actor:
    role = next((r.value for r in ROLE_PRECEDENCE if r in conn.principal.roles), None)
    return Actor(name=conn.principal.name, role=role, source=conn.source)


class AnswerMessage(ClientMessage):
    action: Literal["call.answer"]
    call_id: str = Field(min_length=1, max_length=128)
    position_id: str = Field(min_length=1, max_length=32)


class PositionMessage(ClientMessage):
    action: Literal["position.state"]
    position_id: str = Field(min_length=1, max_length=32)
    state: Literal["ready", "not_ready", "wrap_up"]


class TakeCallbackMessage(ClientMessage):
    action: Literal["callback.take"]
    callback_id: str = Field(min_length=1, max_length=40)
    position_id: str = Field(min_length=1, max_length=32)


@action("call.answer", AnswerMessage, "console")
async def answer(conn: Connection, msg: AnswerMessage) -> dict[str, Any]:
    async with conn.runtime.sessionmaker() as session:
        await position_service.require_holder(session, msg.position_id,
                                              position_holder(conn.principal), "position_id")
        call = await service.answer_call(session=session, rt=conn.runtime, ref=msg.call_id,
                                         position_id=msg.position_id, actor=actor_of(conn))
    return {"call_id": str(call.id), "status": call.status, "answered_by": call.answered_by}


@action("position.state", PositionMessage, "console")
async def position_state(conn: Connection, msg: PositionMessage) -> dict[str, Any]:
    async with conn.runtime.sessionmaker() as session:
        position = await position_service.change_state(
            session=session, rt=conn.runtime, position_id=msg.position_id, state=msg.state,
            actor=actor_of(conn), holder=position_holder(conn.principal))
    return position.model_dump(mode="json")


@action("callback.take", TakeCallbackMessage, "console")
async def take_callback(conn: Connection, msg: TakeCallbackMessage) -> dict[str, Any]:
    async with conn.runtime.sessionmaker() as session:
        await position_service.require_holder(session, msg.position_id,
                                              position_holder(conn.principal), "position_id")
        callback = await callback_service.take_callback(
            session=session, rt=conn.runtime, callback_id=msg.callback_id,
            position_id=msg.position_id, actor=actor_of(conn))
    return {"callback_id": str(callback.id), "status": callback.status,
            "caller_number": callback.caller_number}


ACTIONS: list[Action] = [answer, position_state, take_callback]


async def start(rt: Any) -> None:
    """Load the call-distribution scripts once per process."""
    from dispatch.calls.acd import Acd

    engine = Acd(rt.redis, rt.keys)
    await engine.load()
    rt.acd = engine

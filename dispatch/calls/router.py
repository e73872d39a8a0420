"""Call, position, callback and SLO routes."""

from __future__ import annotations

import random
from typing import Annotated, Any, Literal

from fastapi import Path, Query, Response

from dispatch.audit import service as audit
from dispatch.audit.dependencies import ActorDep
from dispatch.auth.dependencies import CurrentPrincipal, RequestContext, allow
from dispatch.auth.limits import limit_intake
from dispatch.auth.permissions import (
    CONFIGURERS,
    CONSOLE,
    TELEPHONY,
    ConsoleRequest,
    TelephonyRequest,
    console_only,
    position_holder,
    telephony_only,
)
from dispatch.calls import callbacks as callback_service
from dispatch.calls import generator, service, slo
from dispatch.calls import positions as position_service
from dispatch.calls.models import Call
from dispatch.calls.schemas import (
    AnswerIn,
    CallbackOut,
    CallbackOutcomeIn,
    CallbackTakeIn,
    CallIn,
    CallOut,
    LoginIn,
    PositionOut,
    PositionStateIn,
    SloOut,
    TimeIn,
    TransferIn,
)
from dispatch.db import SessionDep
from dispatch.routers import DomainRouter
from dispatch.runtime import RuntimeDep

router = DomainRouter(prefix="/api/v1", tags=["calls"])

CallRef = Annotated[str, Path(max_length=128, description="the hub's call id or the telephony call id")]
PositionId = Annotated[str, Path(max_length=32)]


def call_out(call: Call, offered_to: str | None = None) -> CallOut:
    out = CallOut.model_validate(call)
    out.offered_to = offered_to
    return out


# The routes of a call's life first: a request is matched against them in this order.
@router.post("/calls", response_model=CallOut, status_code=201,
             responses={200: {"description": "this telephony call id was already reported"}})
async def receive_call(body: CallIn, ctx: TelephonyRequest, response: Response) -> CallOut:
    """Report a ringing call (telephony). It is stored before the hub answers."""
    limit_intake(ctx.rt, ctx.principal)
    call, created = await service.receive_call(session=ctx.session, rt=ctx.rt, body=body,
                                               actor=ctx.actor)
    if not created:
        response.status_code = 200
    return call_out(call)


@router.post("/calls/{ref}/answer", response_model=CallOut)
async def answer_call(ref: CallRef, body: AnswerIn, ctx: ConsoleRequest) -> CallOut:
    """Answer a ringing call at one's own position; the first answer wins (409 for the others)."""
    return call_out(await service.answer_call(
        session=ctx.session, rt=ctx.rt, ref=ref, position_id=body.position_id, actor=ctx.actor,
        holder=position_holder(ctx.principal)))


@router.post("/calls/{ref}/ended", response_model=CallOut)
async def call_ended(
    ref: CallRef, ctx: Annotated[RequestContext, allow(*TELEPHONY, *CONSOLE)],
    body: TimeIn | None = None,
) -> CallOut:
    """The call is over (telephony); its position goes to wrap-up."""
    return call_out(await service.end_call(session=ctx.session, rt=ctx.rt, ref=ref,
                                           at=body.at if body else None, actor=ctx.actor))


@router.put("/positions/{position_id}/state", response_model=PositionOut, tags=["positions"])
async def set_state(position_id: PositionId, body: PositionStateIn,
                    ctx: ConsoleRequest) -> PositionOut:
    """Ready, not ready or wrap-up, at the caller's own position (a supervisor's: any)."""
    return await position_service.change_state(
        session=ctx.session, rt=ctx.rt, position_id=position_id, state=body.state,
        actor=ctx.actor, holder=position_holder(ctx.principal))


@router.post("/calls/test", response_model=CallOut, status_code=201,
             dependencies=[allow(*CONFIGURERS)])
async def ring_test_call(rt: RuntimeDep, actor: ActorDep) -> CallOut:
    """Ring one test call from somewhere in the area (for a supervisor showing the console).

    It rings and is answered like any call; the answer figures and quality indicators leave
    it out."""
    return call_out(await generator.ring_one(rt, actor=actor, line="test", rng=random.Random(),
                                             test=True))


@router.get("/calls", response_model=list[CallOut], dependencies=[console_only])
async def list_calls(
    session: SessionDep, rt: RuntimeDep, actor: ActorDep,
    status: Literal["ringing"] = Query(default="ringing"),
) -> list[CallOut]:
    """Calls still ringing, oldest first, with the position each is offered to."""
    return [call_out(c, offered) for c, offered in
            await service.ringing_calls(session=session, rt=rt)]


@router.get("/calls/{ref}", response_model=CallOut, dependencies=[console_only])
async def get_call(ref: CallRef, session: SessionDep, actor: ActorDep) -> CallOut:
    """One call."""
    return call_out(await service.find_call(session, ref))


@router.get("/calls/{ref}/timeline", dependencies=[console_only])
async def call_timeline(ref: CallRef, session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Every step of a call: what happened, who did it and when."""
    call = await service.find_call(session, ref)
    entries = await audit.entries_for(session, target_type="call", target_id=str(call.id))
    return [{"at": e.at, "action": e.action, "actor": e.actor, "role": e.actor_role,
             "before": e.before, "after": e.after} for e in entries]


@router.post("/calls/{ref}/abandoned", response_model=CallOut, dependencies=[telephony_only])
async def call_abandoned(
    ref: CallRef, session: SessionDep, rt: RuntimeDep, actor: ActorDep, body: TimeIn | None = None
) -> CallOut:
    """The caller hung up before an answer (telephony): a callback is owed."""
    call, _ = await service.abandon_call(session=session, rt=rt, ref=ref,
                                         at=body.at if body else None, actor=actor)
    return call_out(call)


@router.post("/calls/{ref}/transfer", response_model=CallOut, dependencies=[console_only])
async def transfer_call(
    ref: CallRef, body: TransferIn, session: SessionDep, rt: RuntimeDep, actor: ActorDep
) -> CallOut:
    """Move an answered call to another ready position."""
    return call_out(await service.transfer_call(
        session=session, rt=rt, ref=ref, to_position_id=body.to_position_id, actor=actor))


@router.get("/positions", response_model=list[PositionOut], tags=["positions"],
            dependencies=[console_only])
async def list_positions(session: SessionDep, rt: RuntimeDep, actor: ActorDep) -> list[PositionOut]:
    """Call-taker positions and their live state."""
    return await position_service.list_positions(session=session, rt=rt)


@router.post("/positions/{position_id}/login", response_model=PositionOut, tags=["positions"],
             dependencies=[console_only])
async def login(
    position_id: PositionId, body: LoginIn, session: SessionDep, rt: RuntimeDep, actor: ActorDep,
    principal: CurrentPrincipal,
) -> PositionOut:
    """A call-taker logs in at a position under their own name (a supervisor under any)."""
    state = "ready" if body.ready else "not_ready"
    return await position_service.change_state(
        session=session, rt=rt, position_id=position_id, state=state, actor=actor,
        user=body.user or principal.name, holder=position_holder(principal))


@router.post("/positions/{position_id}/logout", response_model=PositionOut, tags=["positions"],
             dependencies=[console_only])
async def logout(
    position_id: PositionId, session: SessionDep, rt: RuntimeDep, actor: ActorDep,
    principal: CurrentPrincipal,
) -> PositionOut:
    """The call-taker leaves the position (a supervisor may log anyone out)."""
    return await position_service.change_state(
        session=session, rt=rt, position_id=position_id, state="logged_out", actor=actor,
        holder=position_holder(principal))


@router.get("/callbacks", response_model=list[CallbackOut], tags=["callbacks"],
            dependencies=[console_only])
async def list_callbacks(
    session: SessionDep, actor: ActorDep,
    status: Literal["pending", "dialling", "resolved"] | None = Query(default=None),
) -> list[CallbackOut]:
    """Callbacks still owed (or those with `status`), oldest first."""
    return [CallbackOut.model_validate(c)
            for c in await callback_service.list_callbacks(session=session, status=status)]


@router.post("/callbacks/{callback_id}/take", response_model=CallbackOut, tags=["callbacks"],
             dependencies=[console_only])
async def take_callback(
    callback_id: Annotated[str, Path(max_length=40)], body: CallbackTakeIn, session: SessionDep,
    rt: RuntimeDep, actor: ActorDep, principal: CurrentPrincipal,
) -> CallbackOut:
    """A position (one's own) takes a callback and dials the caller."""
    await position_service.require_holder(session, body.position_id, position_holder(principal),
                                          "body.position_id")
    return CallbackOut.model_validate(await callback_service.take_callback(
        session=session, rt=rt, callback_id=callback_id, position_id=body.position_id, actor=actor))


@router.post("/callbacks/{callback_id}/outcome", response_model=CallbackOut, tags=["callbacks"],
             dependencies=[console_only])
async def callback_outcome(
    callback_id: Annotated[str, Path(max_length=40)], body: CallbackOutcomeIn, session: SessionDep,
    rt: RuntimeDep, actor: ActorDep,
) -> CallbackOut:
    """How the callback went; an unreached caller goes back in the queue."""
    return CallbackOut.model_validate(await callback_service.record_outcome(
        session=session, rt=rt, callback_id=callback_id, outcome=body.outcome, notes=body.notes,
        actor=actor))


@router.get("/slo", response_model=SloOut, tags=["slo"], dependencies=[console_only])
async def get_slo(session: SessionDep, rt: RuntimeDep, actor: ActorDep) -> SloOut:
    """Answer-time figures for the last 15 minutes, hour and day, with staffing advice."""
    return await slo.compute(session=session, rt=rt)

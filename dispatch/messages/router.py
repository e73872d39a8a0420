"""Message routes."""

from __future__ import annotations

from dispatch.audit.dependencies import ActorDep
from dispatch.auth.permissions import dispatchers_only
from dispatch.db import SessionDep
from dispatch.messages import service
from dispatch.messages.schemas import MessageIn, MessageOut
from dispatch.routers import DomainRouter
from dispatch.runtime import RuntimeDep

router = DomainRouter(prefix="/api/v1", tags=["messages"], dependencies=[dispatchers_only])


@router.post("/messages", response_model=MessageOut, status_code=201)
async def send_message(
    body: MessageIn, session: SessionDep, rt: RuntimeDep, actor: ActorDep
) -> MessageOut:
    """Send a message to one crew's tablet or to every crew."""
    return await service.send_message(session=session, rt=rt, message=body, actor=actor)

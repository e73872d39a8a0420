"""Send messages to one crew or to all of them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.errors import NotFound
from dispatch.messages.schemas import MessageIn, MessageOut
from dispatch.realtime.schemas import Scope
from dispatch.runtime import Runtime


async def send_message(
    *, session: AsyncSession, rt: Runtime, message: MessageIn, actor: Actor
) -> MessageOut:
    """Send a message to a unit's tablet or to every crew; consoles see it too."""
    if message.unit_id and not await rt.redis.sismember(rt.keys.units, message.unit_id):  # type: ignore[misc]
        raise NotFound(f"unknown unit {message.unit_id!r}", errors=[
            {"field": "body.unit_id", "message": "no such unit"}
        ])
    scope = Scope(
        console=True,
        units=(message.unit_id,) if message.unit_id else (),
        all_crews=message.all_crews,
    )
    data = {
        "text": message.text, "unit_id": message.unit_id, "all_crews": message.all_crews,
        "urgent": message.urgent, "sender": actor.name,
    }
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="message.send", target_type="unit" if message.unit_id else "crews",
                       target_id=message.unit_id, before=None, after=data, at=rt.clock.now())
    await session.commit()
    event = await rt.bus.emit("message.sent", data, scope=scope)
    return MessageOut(event_id=event.id, text=message.text, unit_id=message.unit_id,
                      all_crews=message.all_crews, urgent=message.urgent, sender=actor.name)

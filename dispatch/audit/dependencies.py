"""The acting person of a request, for the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dispatch.audit.schemas import Actor
from dispatch.auth.dependencies import authenticate
from dispatch.auth.schemas import Role

# The role written to the audit log when a principal holds several.
ROLE_PRECEDENCE = (Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER, Role.CALL_TAKER, Role.HOSPITAL,
                   Role.CREW, Role.TELEPHONY)


async def current_actor(request: Request) -> Actor:
    """Who acts (the principal the route's role check authenticated: one dependency, not two)."""
    principal = await authenticate(request)
    role = next((r.value for r in ROLE_PRECEDENCE if r in principal.roles), None)
    source = request.client.host if request.client else None
    return Actor(name=principal.name, role=role, source=source)


ActorDep = Annotated[Actor, Depends(current_actor)]

"""The acting person of a request, for the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dispatch.audit.schemas import Actor
from dispatch.auth.dependencies import ROLE_PRECEDENCE, actor_of, authenticate

__all__ = ["ROLE_PRECEDENCE", "ActorDep", "current_actor"]


async def current_actor(request: Request) -> Actor:
    """Who acts (the principal the route's role check authenticated: one dependency, not two)."""
    return actor_of(request, await authenticate(request))


ActorDep = Annotated[Actor, Depends(current_actor)]

"""Authentication seam. Until accounts exist every request acts as the local operator.

The auth issue replaces `authenticate` with token checks; routes already depend on
`CurrentPrincipal`, so only this module changes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, WebSocket

from dispatch.auth.schemas import Principal, Role

LOCAL_OPERATOR = Principal(name="local-operator", roles=frozenset(Role))


async def authenticate(request: Request) -> Principal:
    return LOCAL_OPERATOR


async def authenticate_websocket(websocket: WebSocket) -> Principal:
    return LOCAL_OPERATOR


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]

"""Who is calling: bearer tokens on HTTP, and on WebSockets (header or subprotocol).

Browsers cannot set headers on a WebSocket, so the web apps offer two subprotocols,
`dispatch.v1` and `bearer.<token>`; the hub answers with `dispatch.v1`. Other clients may
send `Authorization: Bearer <token>`. Tokens are never taken from URLs, which end up in logs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, WebSocket

from dispatch.auth import service
from dispatch.auth.schemas import Principal, Role
from dispatch.errors import Forbidden, Unauthorized
from dispatch.runtime import Runtime

SUBPROTOCOL = "dispatch.v1"
BEARER_PROTOCOL = "bearer."


def bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


async def authenticate(request: Request) -> Principal:
    """The principal behind the request's bearer token (401 without a valid one)."""
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized("log in: this route needs a bearer token",
                           errors=[{"field": "header.authorization", "message": "missing"}])
    runtime: Runtime = request.app.state.runtime
    accepted = await service.accept(rt=runtime, token=token)
    if accepted is None:
        raise Unauthorized("the token is invalid, expired or revoked: log in again",
                           errors=[{"field": "header.authorization", "message": "not accepted"}])
    principal, claims = accepted
    request.state.claims = claims
    return principal


def websocket_token(websocket: WebSocket) -> tuple[str | None, bool]:
    """The token a WebSocket client sent, and whether it offered our subprotocol."""
    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",")
               if p.strip()]
    for protocol in offered:
        if protocol.startswith(BEARER_PROTOCOL):
            return protocol[len(BEARER_PROTOCOL):], SUBPROTOCOL in offered
    return bearer(websocket.headers.get("authorization")), SUBPROTOCOL in offered


async def authenticate_websocket(websocket: WebSocket) -> Principal | None:
    """The principal of a WebSocket, or None (the caller closes it with 4401)."""
    token, _ = websocket_token(websocket)
    if token is None:
        return None
    runtime: Runtime = websocket.app.state.runtime
    accepted = await service.accept(rt=runtime, token=token)
    return accepted[0] if accepted else None


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def allow(*roles: Role, doing: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only principals with one of `roles`."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has(*roles):
            names = ", ".join(r.value for r in roles)
            raise Forbidden(f"{doing} needs one of the roles: {names}")
        return principal

    return check

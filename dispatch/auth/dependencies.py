"""Who is calling: bearer tokens on HTTP, and on WebSockets (header or subprotocol).

Browsers cannot set headers on a WebSocket, so the web apps offer two subprotocols,
`dispatch.v1` and `bearer.<token>`; the hub answers with `dispatch.v1`. Other clients may
send `Authorization: Bearer <token>`. Tokens are never taken from URLs, which end up in logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Security, WebSocket
from fastapi.params import Security as SecurityParam
from fastapi.security import HTTPBearer, SecurityScopes
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit.schemas import Actor
from dispatch.auth import service
from dispatch.auth.schemas import Principal, Role
from dispatch.db import open_session
from dispatch.errors import Forbidden, Unauthorized
from dispatch.runtime import Runtime

SUBPROTOCOL = "dispatch.v1"
BEARER_PROTOCOL = "bearer."


def bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


PRINCIPAL = "dispatch.principal"  # where a request keeps its principal once authenticated


async def authenticate(request: Request) -> Principal:
    """The principal behind the request's bearer token (401 without a valid one); worked out
    once a request, by the route's own check (`allow`) before anything else asks."""
    known: Principal | None = request.scope.get(PRINCIPAL)
    if known is not None:
        return known
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
    request.scope[PRINCIPAL] = principal
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


# The role written to the audit log when a principal holds several.
ROLE_PRECEDENCE = (Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER, Role.CALL_TAKER, Role.HOSPITAL,
                   Role.CREW, Role.TELEPHONY)


def actor_of(request: Request, principal: Principal) -> Actor:
    """The acting person the audit log names for a request's principal."""
    role = next((r.value for r in ROLE_PRECEDENCE if r in principal.roles), None)
    return Actor(name=principal.name, role=role, source=request.client.host if request.client else None)


class RequestContext:
    """Who calls and what the request works with, from the route's one role check: the
    principal, the acting person for the audit log, the hub's runtime, and the request's
    database session (opened when first used, closed by CloseSessions). Each dependency
    FastAPI solves costs CPU on every request; the routes of a call's life take this one."""

    __slots__ = ("_session", "actor", "principal", "request", "rt")

    def __init__(self, request: Request, principal: Principal) -> None:
        self.request, self.principal = request, principal
        self.actor = actor_of(request, principal)
        self.rt: Runtime = request.app.state.runtime
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = open_session(self.request)
        return self._session


class RoleCheck(HTTPBearer):
    """The bearer scheme the OpenAPI names, and the check of the roles a route declares as the
    scheme's scopes (then `also`, given the principal and the request: a check of whose
    record it is)."""

    def __init__(self, *, also: Callable[[Principal, Request], None] | None = None,
                 **scheme: Any) -> None:
        super().__init__(**scheme)
        self.also = also

    async def __call__(  # type: ignore[override]
        self, request: Request, security_scopes: SecurityScopes,
    ) -> RequestContext:
        principal = await authenticate(request)
        if not principal.has(*(Role(r) for r in security_scopes.scopes)):
            raise Forbidden(f"this route needs one of the roles: {', '.join(security_scopes.scopes)}",
                            roles=security_scopes.scopes)
        if self.also is not None:
            self.also(principal, request)
        return RequestContext(request, principal)


# How the OpenAPI names the one way in: a bearer token (a person's signed token from
# POST /api/v1/auth/login, or a device token `dvc_…`). Each operation lists, as this scheme's
# scopes, the roles that may call it (OpenAPI 3.1 allows role names there).
SCHEME: dict[str, Any] = {
    "scheme_name": "bearer", "bearerFormat": "JWT (people) or dvc_… (devices)", "auto_error": False,
    "description": "`Authorization: Bearer <token>`: a person's token from POST /api/v1/auth/login "
                   "(valid for a shift) or a device token issued by an administrator. The "
                   "operation's scopes are the roles that may call it."}
BEARER = RoleCheck(**SCHEME)


def allow(*roles: Role, scheme: RoleCheck = BEARER) -> SecurityParam:
    """The one declaration of who may call a route: the roles, checked and put in the OpenAPI
    (a route taking the check as a RequestContext parameter gets who calls and the rest)."""
    names = list(dict.fromkeys(r.value for r in roles))
    return Security(scheme, scopes=names)  # type: ignore[no-any-return]

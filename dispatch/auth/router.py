"""Log in and out; accounts and device tokens (administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import segno
from fastapi import Request
from pydantic import BaseModel, Field

from dispatch.audit.dependencies import ActorDep
from dispatch.auth import service
from dispatch.auth.dependencies import CurrentPrincipal
from dispatch.auth.permissions import admins_only, signed_in
from dispatch.auth.schemas import Role
from dispatch.db import SessionDep
from dispatch.routers import DomainRouter
from dispatch.runtime import RuntimeDep
from dispatch.schemas import StrictIn

router = DomainRouter(prefix="/api/v1", tags=["accounts"])


class LoginIn(StrictIn):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    username: str
    roles: list[str]
    unit_id: str | None
    hospital_id: str | None


class UserIn(StrictIn):
    username: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")
    password: str = Field(min_length=10, max_length=200)
    roles: list[Role] = Field(min_length=1)
    display_name: str | None = Field(default=None, max_length=100)
    unit_id: str | None = Field(default=None, max_length=32)
    hospital_id: str | None = Field(default=None, max_length=64)


class DeviceIn(StrictIn):
    kind: str = Field(pattern="^(crew|hospital|telephony)$")
    name: str = Field(min_length=1, max_length=100)
    unit_id: str | None = Field(default=None, max_length=32)
    hospital_id: str | None = Field(default=None, max_length=64)


def token_out(token: str, claims: Any) -> TokenOut:
    p = claims.principal
    return TokenOut(access_token=token, expires_at=claims.expires_at, username=p.name,
                    roles=sorted(r.value for r in p.roles), unit_id=p.unit_id,
                    hospital_id=p.hospital_id)


@router.post("/auth/login", response_model=TokenOut)
async def login(body: LoginIn, request: Request, session: SessionDep, rt: RuntimeDep) -> TokenOut:
    """Exchange a username and password for a token valid for one shift."""
    source = request.client.host if request.client else None
    token, claims = await service.login(session=session, rt=rt, username=body.username,
                                        password=body.password, source=source)
    return token_out(token, claims)


@router.post("/auth/logout", status_code=204, dependencies=[signed_in])
async def logout(request: Request, rt: RuntimeDep, principal: CurrentPrincipal) -> None:
    """Revoke the token used for this request, on every instance."""
    claims = getattr(request.state, "claims", None)
    if claims is not None:
        await service.logout(rt=rt, claims=claims)


@router.get("/auth/me", dependencies=[signed_in])
async def me(principal: CurrentPrincipal) -> dict[str, Any]:
    """Who the token belongs to and what it may do."""
    return {"username": principal.name, "roles": sorted(r.value for r in principal.roles),
            "unit_id": principal.unit_id, "hospital_id": principal.hospital_id}


@router.get("/users", dependencies=[admins_only])
async def list_users(session: SessionDep) -> list[dict[str, Any]]:
    """Accounts (never their password hashes)."""
    return [{"username": u.username, "display_name": u.display_name, "roles": u.roles,
             "unit_id": u.unit_id, "hospital_id": u.hospital_id, "active": u.active,
             "last_login_at": u.last_login_at} for u in await service.list_users(session=session)]


@router.post("/users", status_code=201, dependencies=[admins_only])
async def create_user(
    body: UserIn, session: SessionDep, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Add an account."""
    user = await service.create_user(
        session=session, rt=rt, username=body.username, password=body.password, roles=body.roles,
        now=rt.clock.now(), actor=actor, display_name=body.display_name, unit_id=body.unit_id,
        hospital_id=body.hospital_id)
    return {"username": user.username, "roles": user.roles}


@router.post("/users/{username}/disable", status_code=204, dependencies=[admins_only])
async def disable_user(username: str, session: SessionDep, rt: RuntimeDep, actor: ActorDep) -> None:
    """Disable an account; its tokens stop working at once."""
    await service.disable_user(session=session, rt=rt, username=username, actor=actor)


@router.get("/devices", dependencies=[admins_only])
async def list_devices(session: SessionDep) -> list[dict[str, Any]]:
    """Device tokens (never the tokens themselves)."""
    return [{"id": d.id, "name": d.name, "kind": d.kind, "unit_id": d.unit_id,
             "hospital_id": d.hospital_id, "created_at": d.created_at, "revoked_at": d.revoked_at}
            for d in await service.list_devices(session=session)]


def pairing(base_url: str, kind: str, token: str) -> dict[str, str]:
    """The link a tablet or terminal opens to pair itself, and the same link as a QR code."""
    screen = {"crew": "crew/", "hospital": "hospital/"}.get(kind)
    if screen is None:
        return {}
    url = f"{base_url}{screen}#token={token}"
    return {"pairing_url": url, "pairing_qr_svg": segno.make(url, error="m").svg_inline(scale=4)}


@router.post("/devices", status_code=201, dependencies=[admins_only])
async def create_device(
    body: DeviceIn, request: Request, session: SessionDep, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Issue a device token; it is shown once, only in this response."""
    device, token = await service.create_device(
        session=session, rt=rt, kind=body.kind, name=body.name, now=rt.clock.now(), actor=actor,
        unit_id=body.unit_id, hospital_id=body.hospital_id)
    return {"id": device.id, "kind": device.kind, "unit_id": device.unit_id,
            "hospital_id": device.hospital_id, "token": token,
            **pairing(str(request.base_url), device.kind, token)}


@router.post("/devices/{device_id}/revoke", status_code=204, dependencies=[admins_only])
async def revoke_device(device_id: str, session: SessionDep, rt: RuntimeDep, actor: ActorDep) -> None:
    """Revoke a device token (a lost tablet) on every instance."""
    await service.revoke_device(session=session, rt=rt, device_id=device_id, actor=actor)

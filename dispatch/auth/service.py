"""Accounts, logins and device tokens.

People log in with a password (hashed with Argon2id) and get a signed token for a shift.
Logging out, or disabling the account, takes effect on every instance: Redis keeps revoked
token ids until they would have expired, and for each person the time before which their
tokens are no longer accepted; every instance holds them in memory (`revocations.py`), so
checking a token costs no round trip. Devices carry an opaque token whose hash is stored; a
crew tablet's token is bound to one unit, a hospital terminal's to one hospital.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.auth import throttle, tokens
from dispatch.auth.models import Device, User
from dispatch.auth.revocations import EVENT_TYPE, device_key, revoked_key, valid_after_key
from dispatch.auth.schemas import Principal, Role
from dispatch.errors import Conflict, InvalidInput, NotFound, Unauthorized
from dispatch.fleet.models import Unit
from dispatch.hospitals.models import Hospital
from dispatch.realtime.hub import Watcher
from dispatch.realtime.schemas import Scope
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)
HASHER = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = HASHER.hash("not a password")
DEVICE_CACHE_SECONDS = 300
DEVICE_ROLES = {"crew": Role.CREW, "hospital": Role.HOSPITAL, "telephony": Role.TELEPHONY}


# Nobody's socket receives a revocation: only the instances read it.
INSTANCES_ONLY = Scope(console=False)


async def start(rt: Runtime) -> None:
    """Startup hook: the key that signs tokens (the same on every instance), and the revocations
    kept up to date from the event stream."""
    rt.signing_key = tokens.signing_key(rt.settings)
    revocations = rt.revocations

    async def reload() -> None:
        await revocations.load(rt.redis, rt.keys)

    rt.hub.watch(Watcher(types=(EVENT_TYPE,), apply=revocations.apply, lost=revocations.lost,
                         back=reload))


async def announce(rt: Runtime, revoked: dict[str, object]) -> None:
    """Apply a revocation here at once and tell every other instance through the stream."""
    rt.revocations.apply(revoked)
    await rt.bus.publish(rt.bus.event(EVENT_TYPE, revoked, scope=INSTANCES_ONLY))


def principal_of(user: User) -> Principal:
    return Principal(name=user.username, roles=frozenset(Role(r) for r in user.roles),
                     unit_id=user.unit_id, hospital_id=user.hospital_id)


def check_password(password: str) -> None:
    if len(password) < 10:
        raise InvalidInput.field("body.password", "at least 10 characters")


async def create_user(
    *, session: AsyncSession, rt: Runtime | None, username: str, password: str, roles: list[Role],
    now: datetime, actor: Actor, display_name: str | None = None, unit_id: str | None = None,
    hospital_id: str | None = None,
) -> User:
    """Add a person; the password is stored only as an Argon2id hash."""
    check_password(password)
    if await session.get(User, username) is not None:
        raise Conflict(f"user {username!r} already exists")
    if not roles:
        raise InvalidInput.field("body.roles", "give at least one role")
    await check_bindings(session, unit_id=unit_id, hospital_id=hospital_id)
    user = User(username=username, display_name=display_name, password_hash=HASHER.hash(password),
                roles=sorted({r.value for r in roles}), unit_id=unit_id, hospital_id=hospital_id,
                active=True, created_at=now)
    session.add(user)
    await session.flush()
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="user.create", target_type="user", target_id=username, before=None,
                       after={"roles": user.roles, "unit_id": unit_id, "hospital_id": hospital_id},
                       at=now)
    await session.commit()
    return user


async def set_password(*, session: AsyncSession, username: str, password: str, now: datetime,
                       actor: Actor) -> None:
    check_password(password)
    user = await session.get(User, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    user.password_hash = HASHER.hash(password)
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="user.password", target_type="user", target_id=username,
                       before=None, after=None, at=now)
    await session.commit()


async def login(
    *, session: AsyncSession, rt: Runtime, username: str, password: str, source: str | None
) -> tuple[str, tokens.Claims]:
    """Check a password and issue a token for the shift (throttled per account and address)."""
    await throttle.check(rt=rt, username=username, source=source)
    user = await session.get(User, username)
    try:
        HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user = None
    now = rt.clock.now()
    if user is None or not user.active:
        await audit.record(session, actor=username[:64], role=None, source=source,
                           action="auth.login_failed", target_type="user", target_id=username[:64],
                           before=None, after=None, at=now)
        for lockout in await throttle.failed(rt=rt, username=username, source=source):
            await audit.record(
                session, actor=username[:64], role=None, source=source, action="auth.lockout",
                target_type=lockout.kind, target_id=username[:64] if lockout.kind == "user"
                else source, before=None, after={"until": lockout.until.isoformat()}, at=now)
        await session.commit()
        raise Unauthorized("wrong username or password")
    await throttle.succeeded(rt=rt, username=username)
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    user.last_login_at = now
    token, claims = tokens.issue(principal_of(user), key=rt.signing_key, now=now,
                                 lifetime=timedelta(hours=rt.settings.access_token_hours))
    await audit.record(session, actor=user.username, role=None, source=source, action="auth.login",
                       target_type="user", target_id=user.username, before=None,
                       after={"token_id": claims.token_id}, at=now)
    await session.commit()
    return token, claims


async def logout(*, rt: Runtime, claims: tokens.Claims) -> None:
    """Revoke this token everywhere until it would have expired."""
    remaining = int((claims.expires_at - rt.clock.now()).total_seconds()) + 1
    await rt.redis.set(revoked_key(rt.keys, claims.token_id), "1", ex=max(remaining, 1))
    await announce(rt, {"token_id": claims.token_id, "until": claims.expires_at.timestamp()})


async def disable_user(*, session: AsyncSession, rt: Runtime, username: str, actor: Actor) -> None:
    """Disable an account: its tokens stop working on every instance now."""
    user = await session.get(User, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    now = rt.clock.now()
    user.active = False
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="user.disable", target_type="user", target_id=username,
                       before={"active": True}, after={"active": False}, at=now)
    await session.commit()
    lifetime = int(rt.settings.access_token_hours * 3600) + 60
    await rt.redis.set(valid_after_key(rt.keys, username), str(now.timestamp()), ex=lifetime)
    await announce(rt, {"username": username, "valid_after": now.timestamp()})


async def accept(*, rt: Runtime, token: str) -> tuple[Principal, tokens.Claims | None] | None:
    """The principal behind a bearer token, or None when it is not (or no longer) valid."""
    now = rt.clock.now()
    if tokens.is_device_token(token):
        device = await device_principal(rt=rt, token=token)
        return (device, None) if device else None
    claims = tokens.verify(token, key=rt.signing_key, now=now)
    if claims is None:
        return None
    if rt.revocations.current:  # kept up to date from the stream: no round trip
        if rt.revocations.refuses(token_id=claims.token_id, username=claims.principal.name,
                                  issued_at=claims.issued_at.timestamp()):
            return None
        return claims.principal, claims
    try:
        async with rt.redis.pipeline(transaction=False) as pipe:  # two slots on a Redis Cluster
            pipe.get(revoked_key(rt.keys, claims.token_id))
            pipe.get(valid_after_key(rt.keys, claims.principal.name))
            revoked, valid_after = await pipe.execute()
    except (RedisError, OSError):
        # Redis is down: a signed, unexpired token still admits its holder, so calls keep
        # being taken; revocations apply again as soon as Redis is back.
        log.warning("token revocations unreadable; accepting a valid signature")
        return claims.principal, claims
    if revoked or (valid_after and claims.issued_at.timestamp() <= float(valid_after)):
        return None
    return claims.principal, claims


async def check_bindings(session: AsyncSession, *, unit_id: str | None,
                         hospital_id: str | None) -> None:
    """A token is bound only to a unit or hospital that exists."""
    if unit_id is not None and await session.get(Unit, unit_id) is None:
        raise InvalidInput.field("body.unit_id", f"no unit {unit_id!r}")
    if hospital_id is not None and await session.get(Hospital, hospital_id) is None:
        raise InvalidInput.field("body.hospital_id", f"no hospital {hospital_id!r}")


async def create_device(
    *, session: AsyncSession, rt: Runtime | None, kind: str, name: str, now: datetime, actor: Actor,
    unit_id: str | None = None, hospital_id: str | None = None,
) -> tuple[Device, str]:
    """Issue a device token (shown once). Crew devices need a unit, hospital devices a hospital."""
    if kind not in DEVICE_ROLES:
        raise InvalidInput.field("body.kind", f"one of {', '.join(DEVICE_ROLES)}")
    if kind == "crew" and not unit_id:
        raise InvalidInput.field("body.unit_id", "a crew tablet is bound to one unit")
    if kind == "hospital" and not hospital_id:
        raise InvalidInput.field("body.hospital_id", "a hospital terminal is bound to one hospital")
    await check_bindings(session, unit_id=unit_id if kind == "crew" else None,
                         hospital_id=hospital_id if kind == "hospital" else None)
    token = tokens.new_device_token()
    device = Device(id=uuid.uuid4().hex, name=name, kind=kind,
                    unit_id=unit_id if kind == "crew" else None,
                    hospital_id=hospital_id if kind == "hospital" else None,
                    token_hash=tokens.token_hash(token), created_at=now, created_by=actor.name)
    session.add(device)
    await session.flush()
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="device.create", target_type="device", target_id=device.id,
                       before=None, after={"kind": kind, "name": name, "unit_id": device.unit_id,
                                           "hospital_id": device.hospital_id}, at=now)
    await session.commit()
    return device, token


async def revoke_device(*, session: AsyncSession, rt: Runtime, device_id: str, actor: Actor) -> None:
    device = await session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id!r}")
    now = rt.clock.now()
    device.revoked_at = now
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="device.revoke", target_type="device", target_id=device_id,
                       before=None, after={"revoked_at": now}, at=now)
    await session.commit()
    await rt.redis.delete(device_key(rt.keys, device.token_hash))
    await announce(rt, {"device": device.token_hash})


async def device_principal(*, rt: Runtime, token: str) -> Principal | None:
    """Look a device token up (cached in this instance and in Redis for a few minutes)."""
    digest = tokens.token_hash(token)
    known = rt.revocations.device(digest) if rt.revocations.current else None
    if known is not None:
        return known
    try:
        cached = await rt.redis.get(device_key(rt.keys, digest))
    except (RedisError, OSError):
        cached = None
    if cached is not None:
        data = json.loads(cached)
    else:
        async with rt.sessionmaker() as session:
            device = (await session.scalars(select(Device).where(
                Device.token_hash == digest, Device.revoked_at.is_(None)))).first()
        if device is None:
            return None
        data = {"name": f"device:{device.name}", "kind": device.kind, "unit_id": device.unit_id,
                "hospital_id": device.hospital_id}
        with contextlib.suppress(RedisError, OSError):
            await rt.redis.set(device_key(rt.keys, digest), json.dumps(data),
                               ex=DEVICE_CACHE_SECONDS)
    principal = Principal(name=data["name"], roles=frozenset({DEVICE_ROLES[data["kind"]]}),
                          unit_id=data["unit_id"], hospital_id=data["hospital_id"])
    rt.revocations.remember_device(digest, principal, ttl=DEVICE_CACHE_SECONDS)
    return principal


async def list_users(*, session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).order_by(User.username))).all())


async def list_devices(*, session: AsyncSession) -> list[Device]:
    return list((await session.scalars(select(Device).order_by(Device.created_at))).all())


async def ensure_user(*, session: AsyncSession, username: str, password: str, roles: list[Role],
                      now: datetime, unit_id: str | None = None, hospital_id: str | None = None) -> None:
    """Create the account or reset its password and roles (used by the demo)."""
    user = await session.get(User, username)
    if user is None:
        await create_user(session=session, rt=None, username=username, password=password,
                          roles=roles, now=now, actor=Actor(name="demo"), unit_id=unit_id,
                          hospital_id=hospital_id)
        return
    user.password_hash = HASHER.hash(password)
    user.roles = sorted({r.value for r in roles})
    user.unit_id, user.hospital_id, user.active = unit_id, hospital_id, True
    await session.commit()


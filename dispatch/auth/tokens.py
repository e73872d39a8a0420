"""Signed access tokens for people, opaque tokens for devices, and the key that signs them."""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jwt

from dispatch.auth.schemas import Principal, Role
from dispatch.config import Settings

ALGORITHM = "HS256"
DEVICE_PREFIX = "dvc_"


def signing_key(settings: Settings) -> str:
    """DISPATCH_SECRET_KEY, or (outside production) a key kept in the data directory."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(secrets.token_hex(32))
        temporary.chmod(0o600)
        try:
            os.link(temporary, path)  # first writer wins; later ones read its key
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


@dataclass(frozen=True, slots=True)
class Claims:
    principal: Principal
    token_id: str
    issued_at: datetime
    expires_at: datetime


def issue(principal: Principal, *, key: str, now: datetime, lifetime: timedelta) -> tuple[str, Claims]:
    """A signed token carrying who the person is and what they may do."""
    token_id = uuid.uuid4().hex
    expires = now + lifetime
    payload: dict[str, Any] = {
        "sub": principal.name, "roles": sorted(r.value for r in principal.roles),
        "jti": token_id, "iat": int(now.timestamp()), "exp": int(expires.timestamp()),
    }
    if principal.unit_id:
        payload["uid"] = principal.unit_id
    if principal.hospital_id:
        payload["hid"] = principal.hospital_id
    token = jwt.encode(payload, key, algorithm=ALGORITHM)
    return token, Claims(principal, token_id, now, expires)


@functools.lru_cache(maxsize=4096)
def _signed_payload(token: str, key: str) -> Mapping[str, Any]:
    """The payload of a token whose signature holds (remembered: every request of a console
    or tablet carries the same token, and checking the signature was a tenth of a request).
    A refusal raises, so it is not remembered: a token issued a moment "in the future" by a
    host whose clock runs ahead is accepted once this host's clock catches up."""
    payload: dict[str, Any] = jwt.decode(
        token, key, algorithms=[ALGORITHM],
        options={"require": ["sub", "exp", "iat", "jti"], "verify_exp": False})
    return MappingProxyType(payload)


def verify(token: str, *, key: str, now: datetime) -> Claims | None:
    """The token's claims if its signature and expiry hold, else None."""
    try:
        payload = _signed_payload(token, key)
    except jwt.PyJWTError:
        return None
    if payload["exp"] <= now.timestamp():
        return None
    try:
        roles = frozenset(Role(r) for r in payload.get("roles", []))
    except ValueError:
        return None
    principal = Principal(name=str(payload["sub"]), roles=roles, unit_id=payload.get("uid"),
                          hospital_id=payload.get("hid"))
    return Claims(principal, str(payload["jti"]),
                  datetime.fromtimestamp(payload["iat"], now.tzinfo),
                  datetime.fromtimestamp(payload["exp"], now.tzinfo))


def new_device_token() -> str:
    return DEVICE_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_device_token(token: str) -> bool:
    return token.startswith(DEVICE_PREFIX)

"""Revoked tokens, held in every instance's memory so that checking a token costs no round trip.

Redis keeps each revocation (a token id until it would have expired, a person's cut-off time,
a device's token digest) for every instance that starts later. An instance that revokes applies
it to itself at once and announces it on the event stream, which every instance already reads
(one reader per process); they apply it as soon as they read it, a round trip later. While an
instance cannot read the stream it is not `current`: tokens are then checked against Redis
itself, and the whole list is read again before the copy in memory is trusted once more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from dispatch.auth.schemas import Principal
from dispatch.redis import Keys

EVENT_TYPE = "auth.revoked"


def revoked_key(keys: Keys, token_id: str) -> str:
    return f"{keys.prefix}:auth:revoked:{token_id}"


def valid_after_key(keys: Keys, username: str) -> str:
    return f"{keys.prefix}:auth:valid-after:{username}"


def device_key(keys: Keys, digest: str) -> str:
    return f"{keys.prefix}:auth:device:{digest}"


@dataclass
class Revocations:
    """What this instance knows has been revoked, and whether that knowledge is up to date."""

    tokens: dict[str, float] = field(default_factory=dict)  # token id -> when it would expire
    valid_after: dict[str, float] = field(default_factory=dict)  # username -> cut-off (epoch s)
    devices: set[str] = field(default_factory=set)  # digests of revoked device tokens
    current: bool = False
    # Device tokens looked up lately: digest -> (until when, whose); dropped when revoked.
    known_devices: dict[str, tuple[float, Principal]] = field(default_factory=dict)

    def device(self, digest: str) -> Principal | None:
        """The principal of a device token looked up a moment ago (None: look it up)."""
        found = self.known_devices.get(digest)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def remember_device(self, digest: str, principal: Principal, *, ttl: float) -> None:
        if digest not in self.devices:
            if len(self.known_devices) > 10_000:
                self.known_devices.clear()
            self.known_devices[digest] = (time.monotonic() + ttl, principal)

    def refuses(self, *, token_id: str, username: str, issued_at: float) -> bool:
        """Whether a token this instance would otherwise accept has been revoked."""
        if token_id in self.tokens:
            return True
        cut_off = self.valid_after.get(username)
        return cut_off is not None and issued_at <= cut_off

    def apply(self, data: dict[str, Any]) -> None:
        """Take in one revocation (from this instance or read from the stream)."""
        if "token_id" in data:
            self.tokens[str(data["token_id"])] = float(data.get("until", 0))
        if "username" in data:
            name = str(data["username"])
            self.valid_after[name] = max(float(data["valid_after"]), self.valid_after.get(name, 0.0))
        if "device" in data:
            self.devices.add(str(data["device"]))
            self.known_devices.pop(str(data["device"]), None)
        self._forget_expired()

    def _forget_expired(self) -> None:
        if len(self.tokens) > 1000:
            now = time.time()
            self.tokens = {k: v for k, v in self.tokens.items() if v > now}

    async def load(self, redis: Redis, keys: Keys) -> None:
        """Read every revocation kept in Redis; the copy in memory is then current."""
        tokens: dict[str, float] = {}
        valid_after: dict[str, float] = {}
        revoked = revoked_key(keys, "")
        cut_off = valid_after_key(keys, "")
        found: list[str] = [str(k) async for k in redis.scan_iter(match=f"{keys.prefix}:auth:*",
                                                                   count=1000)]
        names = [k for k in found if k.startswith((revoked, cut_off))]
        values: list[Any] = []
        if names:  # one GET each in a pipeline: the keys lie in many slots on a Redis Cluster
            async with redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.get(name)
                values = await pipe.execute()
        now = time.time()
        for name, value in zip(names, values, strict=True):
            if value is None:
                continue
            if name.startswith(revoked):
                tokens[name[len(revoked):]] = now + 86_400  # kept by Redis until it would expire
            else:
                valid_after[name[len(cut_off):]] = float(value)
        self.known_devices.clear()  # a device revoked meanwhile is looked up again
        self.tokens, self.valid_after, self.current = tokens, valid_after, True

    def lost(self) -> None:
        """The stream could not be read: revocations may have been missed meanwhile."""
        self.current = False

"""Automatic call distribution in Redis: the ringing queue, positions and offers.

Every change is one Lua script (in `lua/`), so two instances can never hand the same call to
two positions. PostgreSQL stays the system of record; `rebuild` restores this state from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from dispatch.redis import Keys

SCRIPTS = ("enqueue", "answer", "release", "position", "due", "repair")


@dataclass(frozen=True, slots=True)
class Offer:
    call_id: str
    position_id: str


def _offers(flat: Sequence[Any]) -> list[Offer]:
    return [Offer(str(flat[i]), str(flat[i + 1])) for i in range(0, len(flat) - 1, 2)]


def _source(name: str) -> str:
    folder = resources.files("dispatch.calls").joinpath("lua")
    return folder.joinpath("lib.lua").read_text() + "\n" + folder.joinpath(f"{name}.lua").read_text()


@dataclass(frozen=True, slots=True)
class AnswerResult:
    status: str  # ok | not_ringing | position_<state>
    offered_to: str | None
    offers: list[Offer]


@dataclass(frozen=True, slots=True)
class PositionResult:
    status: str  # ok | unchanged | not_logged_in | busy
    previous: str
    offers: list[Offer]


class Acd:
    """The Redis side of call distribution; one per process."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self.prefix = keys.acd_prefix
        self.scripts: dict[str, AsyncScript] = {
            name: redis.register_script(_source(name)) for name in SCRIPTS
        }

    async def load(self) -> None:
        for script in self.scripts.values():
            await self.redis.script_load(script.script)

    def _keys(self, *own: str) -> list[str]:
        """KEYS of a script: the queue's (in lib.lua's order), then the script's own."""
        k = self.keys
        return [k.ringing, *k.acd_indexes, k.ready_positions, k.positions, *own]

    async def enqueue(self, call_id: str, *, rung_ms: int, priority: bool,
                      escalated: bool = False, breached: bool = False) -> list[Offer]:
        flat = await self.scripts["enqueue"](keys=self._keys(self.keys.call(call_id)), args=[
            self.prefix, call_id, rung_ms, int(priority), int(escalated), int(breached)
        ])
        return _offers(flat)

    async def answer(self, call_id: str, position_id: str, *, now_ms: int) -> AnswerResult:
        out = await self.scripts["answer"](
            keys=self._keys(self.keys.call(call_id), self.keys.position(position_id)),
            args=[self.prefix, call_id, position_id, now_ms])
        return AnswerResult(status=str(out[0]), offered_to=str(out[1]) or None,
                            offers=_offers(out[2:]))

    async def release(self, call_id: str) -> tuple[bool, list[Offer]]:
        out = await self.scripts["release"](keys=self._keys(self.keys.call(call_id)),
                                            args=[self.prefix, call_id])
        return out[0] == "ok", _offers(out[1:])

    async def set_position(self, position_id: str, state: str, *, user: str | None,
                           now_ms: int, call_id: str | None = None) -> PositionResult:
        out = await self.scripts["position"](keys=self._keys(self.keys.position(position_id)), args=[
            self.prefix, position_id, state, user or "", now_ms, call_id or ""
        ])
        return PositionResult(status=str(out[0]), previous=str(out[1]), offers=_offers(out[2:]))

    async def due(self, *, now_ms: int, escalate_ms: int, breach_ms: int) -> tuple[list[str], list[str]]:
        escalated, breached = await self.scripts["due"](keys=self._keys(), args=[
            self.prefix, now_ms, escalate_ms, breach_ms
        ])
        return [str(i) for i in escalated], [str(i) for i in breached]

    async def repair(self, call_ids: Sequence[str]) -> tuple[int, list[Offer]]:
        """Put ringing calls back in the indexes they are missing from; offer what waits."""
        if not call_ids:
            return 0, []
        out = await self.scripts["repair"](keys=self._keys(*map(self.keys.call, call_ids)),
                                           args=[self.prefix, *call_ids])
        return int(out[0]), _offers(out[1:])

    async def ringing(self) -> list[dict[str, str]]:
        ids = [str(i) for i in await self.redis.zrange(self.keys.ringing, 0, -1)]
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for call_id in ids:
                pipe.hgetall(self.keys.call(call_id))
            rows = await pipe.execute()
        return [{"id": str(i), **row} for i, row in zip(ids, rows, strict=True) if row]

    async def positions(self) -> dict[str, dict[str, str]]:
        ids = sorted(str(i) for i in await self.redis.smembers(self.keys.positions))  # type: ignore[misc]
        if not ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for position_id in ids:
                pipe.hgetall(self.keys.position(position_id))
            rows = await pipe.execute()
        return {i: row for i, row in zip(ids, rows, strict=True) if row}

    async def position(self, position_id: str) -> dict[str, str]:
        """One position's live state (empty when Redis has none)."""
        row: dict[str, str] = await self.redis.hgetall(self.keys.position(position_id))  # type: ignore[misc,assignment]
        return row

    async def add_callback(self, callback_id: str, *, created_ms: int) -> None:
        await self.redis.zadd(self.keys.callbacks, {callback_id: created_ms})

    async def remove_callback(self, callback_id: str) -> None:
        await self.redis.zrem(self.keys.callbacks, callback_id)

    async def clear(self) -> None:
        """Forget all distribution state (before a rebuild)."""
        ringing = [str(i) for i in await self.redis.zrange(self.keys.ringing, 0, -1)]
        positions = [str(i) for i in await self.redis.smembers(self.keys.positions)]  # type: ignore[misc]
        keys = [self.keys.ringing, *self.keys.acd_indexes, self.keys.ready_positions,
                self.keys.callbacks, self.keys.positions, *(self.keys.call(c) for c in ringing),
                *(self.keys.position(p) for p in positions)]
        await self.redis.delete(*keys)

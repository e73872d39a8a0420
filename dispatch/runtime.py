"""The resources a running hub shares between requests: built in the lifespan, closed there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request, WebSocket
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch.auth.rates import IntakeCounter
from dispatch.auth.revocations import Revocations
from dispatch.clock import Clock
from dispatch.config import Settings
from dispatch.metrics import Metrics
from dispatch.redis import Keys

if TYPE_CHECKING:
    from dispatch.realtime.hub import Hub
    from dispatch.realtime.service import EventBus


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    keys: Keys
    clock: Clock
    metrics: Metrics
    bus: EventBus
    hub: Hub
    intake: IntakeCounter
    revocations: Revocations = field(default_factory=Revocations)
    # Lua scripts and other per-domain objects, keyed by domain name.
    extras: dict[str, Any] = field(default_factory=dict)


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def websocket_runtime(websocket: WebSocket) -> Runtime:
    runtime: Runtime = websocket.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

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
    from dispatch.calls.acd import Acd
    from dispatch.fleet.livestate import FleetLive
    from dispatch.livestate import Rebuilder
    from dispatch.realtime.actions import Action
    from dispatch.realtime.hub import Hub
    from dispatch.realtime.service import EventBus
    from dispatch.routing.rules import CompiledRuleSet
    from dispatch.travel import TravelModel
    from dispatch.versions import VersionedCache


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
    signing_key: str = ""  # set at start-up (auth)
    # What the domains plug in (collected in create_app, set by the lifespan).
    rebuilders: list[Rebuilder] = field(default_factory=list)
    actions: dict[str, Action] = field(default_factory=dict)
    # Configuration compiled in memory, reloaded when its version moves (versions.py).
    caches: dict[str, VersionedCache[Any]] = field(default_factory=dict)
    compiled_rule_sets: dict[int, CompiledRuleSet] = field(default_factory=dict)
    # Set by the domains' start-up hooks: the call distribution and fleet scripts, the travel model.
    acd: Acd = field(init=False)
    fleet: FleetLive = field(init=False)
    travel: TravelModel = field(init=False)


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def websocket_runtime(websocket: WebSocket) -> Runtime:
    runtime: Runtime = websocket.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

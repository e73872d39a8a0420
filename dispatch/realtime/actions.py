"""Client -> hub actions over a WebSocket: each domain registers the actions it handles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dispatch.realtime.schemas import ClientMessage

if TYPE_CHECKING:
    from dispatch.auth.schemas import Principal
    from dispatch.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Connection:
    """Who is on the other end of a socket, and which channel they are on."""

    runtime: Runtime
    principal: Principal
    channel: str  # console | crew | hospital
    key: str | None  # the unit id of a crew socket, the hospital id of a hospital socket
    source: str | None = None  # client address, for the audit log


Handler = Callable[[Connection, Any], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    model: type[ClientMessage]
    handler: Handler
    channels: frozenset[str]


def action(name: str, model: type[ClientMessage], *channels: str) -> Callable[[Handler], Action]:
    """Declare a handler for `name` on the given channels."""

    def wrap(handler: Handler) -> Action:
        return Action(name=name, model=model, handler=handler, channels=frozenset(channels))

    return wrap

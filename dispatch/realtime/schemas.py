"""Event envelopes, audiences and the messages exchanged over WebSockets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from dispatch.schemas import StrictIn


@dataclass(frozen=True, slots=True)
class Scope:
    """Who sees an event: consoles, some crew tablets, some hospital terminals."""

    console: bool = True
    units: tuple[str, ...] = ()
    hospitals: tuple[str, ...] = ()
    all_crews: bool = False
    area: str | None = None  # sub-district of the event, for console area filters

    def encode(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.console:
            out["c"] = 1
        if self.units:
            out["u"] = list(self.units)
        if self.hospitals:
            out["h"] = list(self.hospitals)
        if self.all_crews:
            out["w"] = 1
        if self.area:
            out["a"] = self.area
        return out

    @classmethod
    def decode(cls, raw: dict[str, Any]) -> Scope:
        return cls(
            console=bool(raw.get("c")),
            units=tuple(raw.get("u", ())),
            hospitals=tuple(raw.get("h", ())),
            all_crews=bool(raw.get("w")),
            area=raw.get("a"),
        )


CONSOLE = Scope()


@dataclass(slots=True)
class OutgoingEvent:
    """An event recorded in PostgreSQL and waiting to be appended to the stream."""

    type: str
    at: datetime
    data: dict[str, Any]
    scope: Scope = field(default_factory=Scope)
    id: str | None = None  # the stream id, once published


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """An event read back from the stream, serialised once for every subscriber."""

    id: str
    type: str
    scope: Scope
    frame: str  # the JSON text sent to clients: {"kind":"event","id",…,"type","at","data"}
    seq: tuple[int, int]
    wire: bytes  # `frame` as one encoded WebSocket frame, the same for every client


def parse_stream_id(stream_id: str) -> tuple[int, int]:
    """Order stream ids ("1700000000000-3") numerically."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


# Client -> hub messages. Every message has an `action`; `ref` is echoed in the reply.


class ClientMessage(StrictIn):

    action: str = Field(min_length=1, max_length=40)
    ref: str | None = Field(default=None, max_length=64)


class Ping(ClientMessage):
    action: Literal["ping"]


class Subscribe(ClientMessage):
    """Narrow what this connection receives (event type prefixes, sub-districts)."""

    action: Literal["subscribe"]
    types: list[str] | None = Field(default=None, max_length=50)
    areas: list[str] | None = Field(default=None, max_length=100)

"""Append events to the Redis Stream every instance reads (the archiver copies it to PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from dispatch.clock import Clock
from dispatch.metrics import Metrics
from dispatch.realtime.direct import text_frame
from dispatch.realtime.schemas import CONSOLE, OutgoingEvent, Scope, StreamEvent, parse_stream_id
from dispatch.redis import Keys

log = logging.getLogger(__name__)

EVERYONE = Scope(console=True, all_crews=True)
StreamEntries = list[tuple[str, dict[str, str]]]
RESYNC_TYPE = "hub.resync"
MAX_PENDING = 100_000


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def encode_fields(event: OutgoingEvent) -> dict[str, str]:
    """The stream entry: the event body once serialised, and who may see it."""
    body = orjson.dumps({"type": event.type, "at": event.at, "data": event.data})
    return {"e": body.decode(), "s": dumps(event.scope.encode())}


def decode_entry(stream_id: str, fields: dict[str, str]) -> StreamEvent:
    body = fields["e"]
    # Splice the id into the body instead of parsing and serialising it again.
    frame = '{"kind":"event","id":"' + stream_id + '",' + body[1:]
    scope = Scope.decode(orjson.loads(fields.get("s", "{}")))
    return StreamEvent(id=stream_id, type=_type_of(body), scope=scope, frame=frame,
                       seq=parse_stream_id(stream_id), wire=text_frame(frame.encode()))


def _type_of(body: str) -> str:
    # encode_fields writes the type first: {"type":"<type>",…
    start = 9
    return body[start:body.index('"', start)]


class EventBus:
    """Appends events to the stream after their transaction commits; retries while Redis is down."""

    def __init__(
        self, redis: Redis, keys: Keys, *, maxlen: int, metrics: Metrics, clock: Clock
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.maxlen = maxlen
        self.metrics = metrics
        self.clock = clock
        self._pending: deque[OutgoingEvent] = deque(maxlen=MAX_PENDING)
        self._lock = asyncio.Lock()

    def event(
        self, type_: str, data: dict[str, Any], *, scope: Scope = CONSOLE,
        at: datetime | None = None,
    ) -> OutgoingEvent:
        return OutgoingEvent(type=type_, at=at or self.clock.now(), data=data, scope=scope)

    async def publish(self, *events: OutgoingEvent) -> None:
        """Append events to the stream (after the change they describe has committed).

        The archiver copies the stream into PostgreSQL. While Redis is down events are held
        here and published, after a resync notice, once it is back.
        """
        if not events:
            return
        if self._pending:
            self._pending.extend(events)
            self.metrics.events_unpublished.set(len(self._pending))
            return
        try:
            await self._append(events)
        except (RedisError, OSError) as error:
            log.warning("event stream unavailable (%s); %d event(s) held for retry",
                        type(error).__name__, len(events))
            self._pending.extend(events)
            self.metrics.events_unpublished.set(len(self._pending))

    async def emit(
        self, type_: str, data: dict[str, Any], *, scope: Scope = CONSOLE,
        at: datetime | None = None,
    ) -> OutgoingEvent:
        """Build and publish one event."""
        event = self.event(type_, data, scope=scope, at=at)
        await self.publish(event)
        return event

    async def _append(self, events: Sequence[OutgoingEvent]) -> None:
        if len(events) == 1:  # the common case: spare the pipeline's overhead
            ids = [str(await self.redis.xadd(self.keys.events, encode_fields(events[0]),  # type: ignore[arg-type]
                                             maxlen=self.maxlen, approximate=True))]
        else:
            async with self.redis.pipeline(transaction=False) as pipe:
                for event in events:
                    pipe.xadd(self.keys.events, encode_fields(event),  # type: ignore[arg-type]
                              maxlen=self.maxlen, approximate=True)
                ids = await pipe.execute()
        for event, stream_id in zip(events, ids, strict=True):
            event.id = stream_id
            self.metrics.events_published.labels(event.type).inc()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def retry_pending(self) -> bool:
        """Publish held events, preceded by a resync notice: consoles must reload what they hold."""
        if not self._pending:
            return True
        async with self._lock:
            batch = list(self._pending)
            notice = self.event(RESYNC_TYPE, {"reason": "event stream was unavailable"},
                                scope=EVERYONE)
            try:
                await self._append([notice, *batch])
            except (RedisError, OSError):
                return False
            for _ in batch:
                self._pending.popleft()
            self.metrics.events_unpublished.set(len(self._pending))
            log.info("published %d held event(s) after the stream came back", len(batch))
            return True


async def last_stream_id(redis: Redis, keys: Keys) -> str | None:
    entries = await redis.xrevrange(keys.events, count=1)
    return str(entries[0][0]) if entries else None


async def stream_has(redis: Redis, keys: Keys, stream_id: str) -> bool:
    """True when `stream_id` is still in the stream, so resuming after it leaves no gap."""
    try:
        parse_stream_id(stream_id)
    except ValueError:
        return False
    entries = await redis.xrange(keys.events, min=stream_id, max=stream_id, count=1)
    return bool(entries)


async def read_after(
    redis: Redis, keys: Keys, after: str, *, count: int = 1000
) -> list[StreamEvent]:
    """Up to `count` events after `after`, oldest first."""
    entries = cast(StreamEntries, await redis.xrange(keys.events, min="(" + after, max="+", count=count))
    return [decode_entry(str(sid), fields) for sid, fields in entries]

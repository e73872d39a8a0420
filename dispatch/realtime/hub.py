"""One stream reader per process, fanning events out to per-connection queues."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from dispatch.background import raise_if_cancelled
from dispatch.metrics import Metrics
from dispatch.realtime.direct import DirectWriter
from dispatch.realtime.schemas import StreamEvent
from dispatch.realtime.service import (
    EventBus,
    StreamEntries,
    decode_entry,
    last_stream_id,
    stream_has,
)
from dispatch.redis import Keys

log = logging.getLogger(__name__)

READ_BLOCK_MS = 2_000
# The in-process Redis does not let a blocked read be cancelled promptly: block briefly there.
EMBEDDED_READ_BLOCK_MS = 100
READ_COUNT = 500


@dataclass(eq=False)
class Subscription:
    """What one connection receives, and the bounded queue it receives it through."""

    channel: str  # console | crew | hospital
    key: str | None = None  # unit id or hospital id
    types: tuple[str, ...] | None = None  # type prefixes; None = every type
    areas: frozenset[str] | None = None  # sub-districts; None = everywhere
    queue_size: int = 2_000
    direct: DirectWriter | None = None
    queue: asyncio.Queue[StreamEvent] = field(init=False)
    gone: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    reason: str | None = None
    # Events at or before this stream position were already sent (by a replay).
    skip_until: tuple[int, int] = (0, 0)
    # True while the writer is idle and the socket keeps up: events are written directly.
    streaming: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.queue_size)

    def wants(self, event: StreamEvent) -> bool:
        if self.types is not None and not event.type.startswith(self.types):
            return False
        if self.areas is not None and event.scope.area is not None:
            return event.scope.area in self.areas
        return True

    def sees(self, event: StreamEvent) -> bool:
        """Whether the event's audience includes this connection (used when replaying)."""
        scope = event.scope
        if self.channel == "console":
            visible = scope.console
        elif self.channel == "crew":
            visible = scope.all_crews or self.key in scope.units
        else:
            visible = self.key in scope.hospitals
        return visible and self.wants(event)

    def offer(self, events: list[StreamEvent]) -> None:
        """Deliver events in order: straight to the socket when it keeps up, else queue them.

        A full queue ends the subscription; the client resumes from its last event id.
        """
        if self.gone.is_set():
            return
        wanted = [e for e in events if e.seq > self.skip_until and self.wants(e)]
        if not wanted:
            return
        if self.streaming and self.direct is not None:
            wire = wanted[0].wire if len(wanted) == 1 else b"".join(e.wire for e in wanted)
            if self.direct.write(wire):
                return
            self.streaming = False  # backed up: queue until the writer has caught up
        for event in wanted:
            try:
                self.queue.put_nowait(event)
            except asyncio.QueueFull:
                self.end("too slow: fell behind the event stream; reconnect with your last event id")
                return

    def end(self, reason: str) -> None:
        if not self.gone.is_set():
            self.reason = reason
            self.gone.set()


@dataclass(frozen=True)
class Watcher:
    """Something in this process that keeps a copy of shared state up to date from the stream
    (revoked tokens): events of `types` are applied to it; when the stream could not be read,
    `lost` is told, and `back` reloads the whole state before the reader goes on."""

    types: tuple[str, ...]
    apply: Callable[[dict[str, Any]], None]
    lost: Callable[[], None]
    back: Callable[[], Awaitable[None]]


class Hub:
    """Reads the stream once per process and hands each event to the connections that want it."""

    def __init__(
        self, redis: Redis, keys: Keys, bus: EventBus, metrics: Metrics, *, embedded: bool = False
    ) -> None:
        self.block_ms = EMBEDDED_READ_BLOCK_MS if embedded else READ_BLOCK_MS
        self.redis = redis
        self.keys = keys
        self.bus = bus
        self.metrics = metrics
        self._consoles: set[Subscription] = set()
        self._crews: dict[str, set[Subscription]] = {}
        self._hospitals: dict[str, set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self.last_id: str = "0-0"
        self.started = asyncio.Event()
        self._watchers: list[Watcher] = []
        self._stale = False

    def watch(self, watcher: Watcher) -> None:
        """Keep `watcher` up to date from the stream (register before `start`)."""
        self._watchers.append(watcher)

    async def start(self) -> None:
        self.last_id = await last_stream_id(self.redis, self.keys) or "0-0"
        try:
            for watcher in self._watchers:  # after the position is taken: nothing falls between
                await watcher.back()
        except (RedisError, OSError):
            self._stale = True  # the reader loads them once it reads the stream again
        self._task = asyncio.create_task(self._run(), name="realtime-hub-reader")
        self.started.set()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 3)
        for sub in self.subscriptions():
            sub.end("the hub is restarting; reconnect with your last event id")

    def subscriptions(self) -> Iterable[Subscription]:
        yield from list(self._consoles)
        for group in list(self._crews.values()) + list(self._hospitals.values()):
            yield from list(group)

    def subscribe(self, sub: Subscription) -> Subscription:
        if sub.channel == "console":
            self._consoles.add(sub)
        elif sub.channel == "crew" and sub.key:
            self._crews.setdefault(sub.key, set()).add(sub)
        elif sub.channel == "hospital" and sub.key:
            self._hospitals.setdefault(sub.key, set()).add(sub)
        else:
            raise ValueError(f"unknown channel {sub.channel!r}")
        self.metrics.ws_connections.labels(sub.channel).inc()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub.channel == "console":
            removed = sub in self._consoles
            self._consoles.discard(sub)
        else:
            groups = self._crews if sub.channel == "crew" else self._hospitals
            group = groups.get(sub.key or "", set())
            removed = sub in group
            group.discard(sub)
            if not group and sub.key in groups:
                del groups[sub.key or ""]
        if removed:
            self.metrics.ws_connections.labels(sub.channel).dec()

    def targets(self, event: StreamEvent) -> list[Subscription]:
        """The connections in this process that the event's audience includes."""
        scope = event.scope
        out: list[Subscription] = list(self._consoles) if scope.console else []
        if scope.all_crews:
            for group in self._crews.values():
                out.extend(group)
        else:
            for unit_id in scope.units:
                out.extend(self._crews.get(unit_id, ()))
        for hospital_id in scope.hospitals:
            out.extend(self._hospitals.get(hospital_id, ()))
        return out

    def dispatch(self, events: list[StreamEvent]) -> None:
        """Hand a batch of events (in stream order) to every connection that may see them."""
        if len(events) == 1:
            for sub in self.targets(events[0]):
                sub.offer(events)
            return
        per_sub: dict[Subscription, list[StreamEvent]] = {}
        for event in events:
            for sub in self.targets(event):
                per_sub.setdefault(sub, []).append(event)
        for sub, batch in per_sub.items():
            sub.offer(batch)

    def end_all(self, reason: str) -> None:
        for sub in self.subscriptions():
            sub.end(reason)

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            raise_if_cancelled()
            try:
                response = cast(list[tuple[str, StreamEntries]], await self.redis.xread(
                    {self.keys.events: self.last_id}, block=self.block_ms, count=READ_COUNT
                ))
                backoff = 0.1
                if self._stale:
                    for watcher in self._watchers:
                        await watcher.back()
                    self._stale = False
                for _stream, entries in response or ():
                    batch = []
                    for stream_id, fields in entries:
                        self.last_id = str(stream_id)
                        try:
                            batch.append(decode_entry(self.last_id, fields))
                        except (KeyError, ValueError):
                            log.warning("skipping malformed stream entry %s", self.last_id)
                    if batch:
                        self._notify(batch)
                        self.dispatch(batch)
                if self.bus.pending:
                    await self.bus.retry_pending()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                log.warning("event stream read failed (%s); retrying", type(error).__name__)
                self._stale = True
                for watcher in self._watchers:
                    watcher.lost()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                await self._after_outage()
            except Exception:
                log.exception("event stream reader failed; retrying")
                await asyncio.sleep(1.0)

    def _notify(self, batch: list[StreamEvent]) -> None:
        for watcher in self._watchers:
            for event in batch:
                if event.type in watcher.types:
                    watcher.apply(orjson.loads(event.frame)["data"])

    async def _after_outage(self) -> None:
        """If the stream lost what we last read (Redis restarted), clients must reload state."""
        try:
            if self.last_id == "0-0" or await stream_has(self.redis, self.keys, self.last_id):
                return
            newest = await last_stream_id(self.redis, self.keys)
        except (RedisError, OSError):
            return
        log.warning("event stream was reset; asking every connection to resync")
        self.end_all("resync: the event stream was reset; reload state and reconnect")
        self.last_id = newest or "0-0"

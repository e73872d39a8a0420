"""WebSocket endpoints for consoles, crew tablets and hospital terminals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Query, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.websockets import WebSocketState

from dispatch import livestate
from dispatch.auth.dependencies import SUBPROTOCOL, authenticate_websocket, websocket_token
from dispatch.auth.permissions import CONFIGURERS, CONSOLE, DISPATCHERS
from dispatch.auth.schemas import Principal, Role
from dispatch.errors import DispatchError, Forbidden, InvalidInput, validation_errors
from dispatch.realtime.actions import Action, Connection
from dispatch.realtime.direct import DirectWriter
from dispatch.realtime.hub import Subscription
from dispatch.realtime.schemas import ClientMessage, Ping, StreamEvent, Subscribe, parse_stream_id
from dispatch.realtime.service import read_after, stream_has
from dispatch.routers import DomainRouter
from dispatch.runtime import Runtime, websocket_runtime

log = logging.getLogger(__name__)
router = DomainRouter()

MAX_MESSAGE_BYTES = 64 * 1024
REPLAY_BATCH = 500

CLOSE_HEARTBEAT = 4000
CLOSE_TOO_SLOW = 4008
CLOSE_RESTART = 1012
CLOSE_UNKNOWN = 4404
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


def _split(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    return items or None


async def admit(websocket: WebSocket, allowed: Callable[[Principal], bool]) -> Principal | None:
    """Accept the socket, then close it with a reason unless the caller may use this channel."""
    principal = await authenticate_websocket(websocket)
    _, offered = websocket_token(websocket)
    await websocket.accept(subprotocol=SUBPROTOCOL if offered else None)
    if principal is None:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="log in: no valid token")
        return None
    if not allowed(principal):
        await websocket.close(code=CLOSE_FORBIDDEN, reason="this channel is not for your role")
        return None
    return principal


@router.websocket("/ws/console")
async def console_socket(
    websocket: WebSocket,
    since: str | None = Query(default=None, max_length=40),
    types: str | None = Query(default=None, max_length=1000),
    areas: str | None = Query(default=None, max_length=2000),
) -> None:
    """Live events for call-takers, dispatchers and supervisors."""
    principal = await admit(websocket, lambda p: p.has(*CONSOLE))
    if principal is not None:
        await serve(websocket, principal, "console", None, since=since, types=_split(types),
                    areas=_split(areas))


async def unit_known(rt: Runtime, unit_id: str) -> bool:
    """Whether the unit is in live state (looked at again once Redis is sure to have it: a
    tablet reconnecting just after Redis lost its state is not turned away)."""
    if await rt.redis.sismember(rt.keys.units, unit_id):  # type: ignore[misc]
        return True
    await livestate.ensure(rt)
    return bool(await rt.redis.sismember(rt.keys.units, unit_id))  # type: ignore[misc]


@router.websocket("/ws/crew/{unit_id}")
async def crew_socket(
    websocket: WebSocket, unit_id: str, since: str | None = Query(default=None, max_length=40)
) -> None:
    """A crew tablet: its own unit's jobs and messages, and broadcasts to every crew."""
    principal = await admit(websocket, lambda p: p.has(*DISPATCHERS)
                            or (p.has(Role.CREW) and p.unit_id == unit_id))
    if principal is None:
        return
    runtime = websocket_runtime(websocket)
    if not await unit_known(runtime, unit_id):
        await websocket.close(code=CLOSE_UNKNOWN, reason=f"unknown unit {unit_id[:32]}")
        return
    await serve(websocket, principal, "crew", unit_id, since=since)


@router.websocket("/ws/hospital/{hospital_id}")
async def hospital_socket(
    websocket: WebSocket, hospital_id: str, since: str | None = Query(default=None, max_length=40)
) -> None:
    """A hospital terminal: its pre-arrival notices, arrivals, handover clocks and capacity."""
    from dispatch.hospitals.models import Hospital

    principal = await admit(websocket, lambda p: p.has(*CONFIGURERS)
                            or (p.has(Role.HOSPITAL) and p.hospital_id == hospital_id))
    if principal is None:
        return
    runtime = websocket_runtime(websocket)
    async with runtime.sessionmaker() as session:
        known = await session.get(Hospital, hospital_id[:64]) is not None
    if not known:
        await websocket.close(code=CLOSE_UNKNOWN, reason=f"unknown hospital {hospital_id[:32]}")
        return
    await serve(websocket, principal, "hospital", hospital_id, since=since)


class Sender:
    """Serialises sends on one socket (events, replies and heartbeats share it)."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.lock = asyncio.Lock()

    async def text(self, frame: str) -> None:
        async with self.lock:
            await self.websocket.send_text(frame)

    async def json(self, value: dict[str, Any]) -> None:
        await self.text(orjson.dumps(value).decode())


async def serve(
    websocket: WebSocket,
    principal: Principal,
    channel: str,
    key: str | None,
    *,
    since: str | None,
    types: tuple[str, ...] | None = None,
    areas: tuple[str, ...] | None = None,
) -> None:
    """Run one connection: hello, replay after `since`, then live events and client actions."""
    runtime = websocket_runtime(websocket)
    sub = Subscription(
        channel=channel,
        key=key,
        types=types,
        areas=frozenset(areas) if areas else None,
        queue_size=runtime.settings.ws_queue_size,
        direct=DirectWriter.for_scope(websocket.scope),
    )
    runtime.hub.subscribe(sub)
    source = websocket.client.host if websocket.client else None
    conn = Connection(runtime=runtime, principal=principal, channel=channel, key=key,
                      source=source)
    sender = Sender(websocket)
    last_seen = [time.monotonic()]
    tasks: list[asyncio.Task[Any]] = []
    try:
        await sender.json({
            "kind": "hello",
            "channel": channel,
            "key": key,
            "last_event_id": runtime.hub.last_id,
            "heartbeat_seconds": runtime.settings.ws_heartbeat_seconds,
            "server_time": runtime.clock.now().isoformat(),
        })
        if since:
            sub.skip_until = await replay(runtime, sub, sender, since) or (0, 0)
        tasks = [
            asyncio.create_task(write_events(sub, sender)),
            asyncio.create_task(read_messages(websocket, conn, sender, sub, last_seen)),
            asyncio.create_task(heartbeat(runtime, sender, sub, last_seen)),
            asyncio.create_task(sub.gone.wait()),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if sub.gone.is_set() and websocket.client_state == WebSocketState.CONNECTED:
            await close_for(websocket, sender, sub)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        runtime.hub.unsubscribe(sub)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


async def close_for(websocket: WebSocket, sender: Sender, sub: Subscription) -> None:
    reason = sub.reason or "closed"
    if reason.startswith("too slow"):
        code = CLOSE_TOO_SLOW
        sub_metrics = websocket_runtime(websocket).metrics.ws_dropped
        sub_metrics.labels(sub.channel).inc()
    elif reason.startswith("heartbeat"):
        code = CLOSE_HEARTBEAT
    else:
        code = CLOSE_RESTART
    with contextlib.suppress(Exception):
        # The writer may be stuck on a full socket: do not wait long to say goodbye.
        await asyncio.wait_for(sender.json({"kind": "closing", "reason": reason}), 1.0)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code=code, reason=reason[:120]), 1.0)


async def replay(
    runtime: Runtime, sub: Subscription, sender: Sender, since: str
) -> tuple[int, int] | None:
    """Send what the client missed after `since`, or tell it to resync if that is gone."""
    redis, keys = runtime.redis, runtime.keys
    if not await stream_has(redis, keys, since):
        await sender.json({
            "kind": "resync",
            "reason": "your last event id is no longer held; reload state over HTTP",
            "last_event_id": runtime.hub.last_id,
        })
        return None
    cursor = since
    while True:
        batch = await read_after(redis, keys, cursor, count=REPLAY_BATCH)
        for event in batch:
            if sub.sees(event):
                await sender.text(event.frame)
        if batch:
            cursor = batch[-1].id
        if len(batch) < REPLAY_BATCH:
            return parse_stream_id(cursor)


async def write_events(sub: Subscription, sender: Sender) -> None:
    """Send queued events; when the queue is empty, let the hub write straight to the socket."""
    while True:
        if sub.queue.empty():
            sub.streaming = True
        event: StreamEvent = await sub.queue.get()
        if event.seq > sub.skip_until:
            await sender.text(event.frame)


async def heartbeat(
    runtime: Runtime, sender: Sender, sub: Subscription, last_seen: list[float]
) -> None:
    interval = runtime.settings.ws_heartbeat_seconds
    idle_limit = runtime.settings.ws_idle_timeout_seconds
    while True:
        await asyncio.sleep(interval)
        if time.monotonic() - last_seen[0] > idle_limit:
            sub.end(f"heartbeat: nothing heard from the client for {idle_limit:.0f} s")
            return
        await sender.json({
            "kind": "heartbeat",
            "at": runtime.clock.now().isoformat(),
            "last_event_id": runtime.hub.last_id,
        })


async def read_messages(
    websocket: WebSocket,
    conn: Connection,
    sender: Sender,
    sub: Subscription,
    last_seen: list[float],
) -> None:
    actions = conn.runtime.actions
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        last_seen[0] = time.monotonic()
        text = message.get("text")
        if text is None:
            await send_error(sender, None, InvalidInput.field("message", "send JSON text frames"))
            continue
        reply = await handle_message(text, conn, sub, actions)
        await sender.json(reply)


async def send_error(sender: Sender, ref: str | None, error: DispatchError) -> None:
    await sender.json({"kind": "error", "ref": ref, "problem": error.problem()})


async def handle_message(
    text: str, conn: Connection, sub: Subscription, actions: dict[str, Action]
) -> dict[str, Any]:
    """Validate one client message, run its action, and build the reply frame."""
    ref = None
    try:
        if len(text) > MAX_MESSAGE_BYTES:
            raise InvalidInput.field("message", f"longer than {MAX_MESSAGE_BYTES} bytes")
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise InvalidInput.field("message", "not valid JSON") from None
        if not isinstance(raw, dict):
            raise InvalidInput.field("message", "must be a JSON object")
        ref = raw.get("ref") if isinstance(raw.get("ref"), str) else None
        envelope = ClientMessage.model_validate(
            {"action": raw.get("action"), "ref": raw.get("ref")}
        )
        if envelope.action == "ping":
            Ping.model_validate(raw)
            return {"kind": "pong", "ref": ref}
        if envelope.action == "subscribe":
            return subscribe(sub, raw, ref)
        found = actions.get(envelope.action)
        if found is None:
            raise InvalidInput.field("action", f"unknown action {envelope.action!r}")
        if conn.channel not in found.channels:
            raise Forbidden(f"{found.name} is not allowed on the {conn.channel} channel")
        message = found.model.model_validate(raw)
        data = await found.handler(conn, message)
        return {"kind": "result", "ref": ref, "action": found.name, "data": data or {}}
    except ValidationError as error:
        errors = validation_errors(error.errors())
        fields = ", ".join(e["field"] for e in errors)
        problem = InvalidInput(f"invalid field(s): {fields}", errors=errors).problem()
        return {"kind": "error", "ref": ref, "problem": problem}
    except DispatchError as error:
        return {"kind": "error", "ref": ref, "problem": error.problem()}
    except Exception:
        log.exception("websocket action failed")
        problem = {"type": "/problems/internal", "title": "Internal error", "status": 500,
                   "detail": "the hub could not complete the action; it has been logged"}
        return {"kind": "error", "ref": ref, "problem": problem}


def subscribe(sub: Subscription, raw: dict[str, Any], ref: str | None) -> dict[str, Any]:
    message = Subscribe.model_validate(raw)
    if message.types is not None:
        sub.types = tuple(message.types) or None
    if message.areas is not None:
        sub.areas = frozenset(message.areas) or None
    return {"kind": "result", "ref": ref, "action": "subscribe",
            "data": {"types": sub.types, "areas": sorted(sub.areas) if sub.areas else None}}

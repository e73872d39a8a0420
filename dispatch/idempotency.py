"""Retried writes are applied once: a request carrying an `Idempotency-Key` header is answered
from the first attempt's response when it comes again.

A tablet that lost its connection after tapping "at hospital" cannot know whether the hub got
the request; it sends it again with the same key until it hears back. The first response with
a 2xx status is kept for a day under the key (per token, so nobody can read another's answer);
a retry while the first attempt still runs gets 409 and tries again later. Without Redis the
request runs as if it carried no key: the state machine still refuses a move made twice.
"""

from __future__ import annotations

import hashlib
import logging
import re

import orjson
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.errors import Conflict, DispatchError, InvalidInput, problem_response

log = logging.getLogger(__name__)

HEADER = b"idempotency-key"
KEY = re.compile(rb"^[A-Za-z0-9_.:-]{8,100}$")
KEEP_MS = 24 * 3600 * 1000
RUNNING_MS = 30_000
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RequestInProgress(Conflict):
    slug = "request-in-progress"
    title = "Request in progress"


def refuse(scope: Scope, error: DispatchError) -> ASGIApp:
    """The domain error as problem details (a middleware answers before any handler runs)."""
    return problem_response(error.problem(scope.get("path")))


def bad_key(message: str) -> InvalidInput:
    return InvalidInput.field("header.Idempotency-Key", message)


async def buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Read the request body, and a `receive` that gives it to the app again."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, again


class Idempotency:
    """Pure ASGI middleware: costs one header lookup on requests without a key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        key = headers.get(HEADER)
        runtime = getattr(scope["app"].state, "runtime", None) if "app" in scope else None
        if key is None or runtime is None:
            await self.app(scope, receive, send)
            return
        if not KEY.match(key):
            await refuse(scope, bad_key("8-100 letters, digits or _.:-"))(scope, receive, send)
            return
        who = hashlib.sha256(headers.get(b"authorization", b"")).hexdigest()[:16]
        slot = runtime.keys.marker(f"idem:{who}:{key.decode()}")
        body, receive = await buffered(receive)
        # The same key with another body is another request (edits made before a retry).
        request = f"{scope['method']} {scope['path']} {hashlib.sha256(body).hexdigest()[:32]}"
        redis = runtime.redis
        try:
            fresh = await redis.set(slot, orjson.dumps({"request": request}), nx=True,
                                    px=RUNNING_MS)
            kept = None if fresh else await redis.get(slot)
        except (RedisError, OSError) as error:
            log.warning("idempotency keys unavailable (%s)", type(error).__name__)
            await self.app(scope, receive, send)
            return
        if not fresh:
            await self.replay(scope, receive, send, kept, request)
            return
        await self.first(scope, receive, send, redis, slot, request)

    async def replay(self, scope: Scope, receive: Receive, send: Send, kept: bytes | None,
                     request: str) -> None:
        """Answer a retry from what the first attempt answered."""
        stored = orjson.loads(kept) if kept else {}
        if stored.get("request", request) != request:
            await refuse(scope, bad_key("used for another request (another path or body)"))(
                scope, receive, send)
            return
        if "status" not in stored:  # the first attempt is still running (or just expired)
            await refuse(scope, RequestInProgress(
                "the same request is being applied: try again in a moment"))(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": stored["status"], "headers": [
            (b"content-type", stored["type"].encode()), (b"idempotent-replayed", b"true")]})
        await send({"type": "http.response.body", "body": stored["body"].encode()})

    async def first(self, scope: Scope, receive: Receive, send: Send, redis: object, slot: str,
                    request: str) -> None:
        """Run the request and keep its answer if it succeeded; otherwise free the key."""
        started: dict[str, object] = {}
        parts: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(status=message["status"], headers=dict(message.get("headers", ())))
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
            await send(message)

        status = 500
        try:
            await self.app(scope, receive, keep)
            status = int(started.get("status", 500))  # type: ignore[call-overload]
        finally:
            try:
                if 200 <= status < 300:
                    headers: dict[bytes, bytes] = started["headers"]  # type: ignore[assignment]
                    await redis.set(slot, orjson.dumps({  # type: ignore[attr-defined]
                        "request": request, "status": status,
                        "type": headers.get(b"content-type", b"application/json").decode(),
                        "body": b"".join(parts).decode()}), px=KEEP_MS)
                else:
                    await redis.delete(slot)  # type: ignore[attr-defined]
            except (RedisError, OSError) as error:
                log.warning("could not keep an idempotent response (%s)", type(error).__name__)

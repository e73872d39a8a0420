"""Limits on what a client may send: body size, and how many calls one client reports a second."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.auth.dependencies import CurrentPrincipal
from dispatch.auth.schemas import Principal
from dispatch.errors import RateLimited, problem_response
from dispatch.runtime import RuntimeDep


class BodyLimit:
    """Refuse request bodies over `limit` bytes with a 413 problem, before reading them all."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self.refuse(scope, receive, send)
            return
        seen = 0

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counting, send)
        except BodyTooLarge:
            await self.refuse(scope, receive, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response({
            "type": "/problems/body-too-large", "title": "Request body too large", "status": 413,
            "detail": f"the hub accepts bodies of at most {self.limit} bytes",
            "instance": scope.get("path"),
        })
        await response(scope, receive, send)


class BodyTooLarge(Exception):
    pass


async def intake_rate(rt: RuntimeDep, principal: CurrentPrincipal) -> Principal:
    """At most DISPATCH_INTAKE_RATE_PER_SECOND calls a second from one telephony client."""
    second = int(time.time())
    key = f"{rt.keys.prefix}:rate:intake:{principal.name}:{second}"
    async with rt.redis.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, 2)
        count, _ = await pipe.execute()
    if int(count) > rt.settings.intake_rate_per_second:
        raise RateLimited(f"more than {rt.settings.intake_rate_per_second} calls a second from "
                          f"{principal.name}; retry in a second")
    return principal


IntakeRate = Annotated[Principal, Depends(intake_rate)]

"""Limits on what a client may send: body size, and how many calls one client reports a second."""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.auth.schemas import Principal
from dispatch.errors import RateLimited, problem_response
from dispatch.runtime import Runtime
from dispatch.schemas import CONTROL


class BodyLimit:
    """Refuse request bodies over `limit` bytes (413) and JSON that is not valid Unicode (422).

    JSON may escape half of a UTF-16 surrogate pair ("\\ud800"); such a string cannot be
    stored or sent on, so it is refused here, naming the body, before any route sees it.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        field = control_character_in_url(scope)
        if field is not None:
            response = problem_response({
                "type": "/problems/invalid-input", "title": "The request is invalid",
                "status": 422, "detail": f"{field}: holds a control character",
                "errors": [{"field": field, "message": "holds a control character"}],
            })
            await response(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self.refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self.refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = dict(scope.get("headers") or ()).get(b"content-type", b"")
        if body and b"json" in content_type and not valid_unicode(body):
            response = problem_response({
                "type": "/problems/invalid-input", "title": "The request is invalid",
                "status": 422, "detail": "body: a string holds an unpaired UTF-16 surrogate",
                "instance": scope.get("path"),
                "errors": [{"field": "body", "message": "not valid Unicode"}],
            })
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response({
            "type": "/problems/body-too-large", "title": "Request body too large", "status": 413,
            "detail": f"the hub accepts bodies of at most {self.limit} bytes",
            "instance": scope.get("path"),
        })
        await response(scope, receive, send)


def control_character_in_url(scope: Scope) -> str | None:
    """The part of the URL (path, or a query parameter) holding a control character, if any."""
    if CONTROL.search(scope.get("path", "")):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if CONTROL.search(name) or CONTROL.search(value):
            return f"query.{name if not CONTROL.search(name) else '?'}"
    return None


def valid_unicode(body: bytes) -> bool:
    """False only when the JSON parses but holds a lone surrogate (orjson refuses those)."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as error:
        return "surrogate" not in str(error)  # other syntax errors: the route explains them
    return True


def limit_intake(rt: Runtime, principal: Principal) -> None:
    """At most DISPATCH_INTAKE_RATE_PER_SECOND calls a second from one telephony client
    (counted without a round trip: see rates.py)."""
    if rt.intake.count(principal.name) > rt.settings.intake_rate_per_second:
        raise RateLimited(f"more than {rt.settings.intake_rate_per_second} calls a second from "
                          f"{principal.name}; retry in a second")

"""HTTP clients for the hub's API: telephony, console and fleet calls, errors counted by kind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from dispatch.replay.http import HttpError, HttpPool
from dispatch.replay.record import Recorder

RETRY_STATUSES = {429, 502, 503, 504}
ROLES = ("telephony", "console", "fleet")


@dataclass(frozen=True)
class Tokens:
    """Who the simulation acts as: telephony, the consoles, dispatchers and each crew."""

    telephony: str
    console: str
    dispatcher: str
    crew: Callable[[str], str]

    @classmethod
    def single(cls, token: str) -> Tokens:
        return cls(token, token, token, lambda _unit: token)

    @classmethod
    def minted(cls, key: str, *, run: str, hours: float = 24.0) -> Tokens:
        """Tokens signed with the hub's key (for a hub the replay started itself)."""
        from dispatch.auth import tokens
        from dispatch.auth.schemas import Principal, Role

        now = datetime.now(UTC)
        life = timedelta(hours=hours)

        def mint(name: str, *roles: Role, unit: str | None = None) -> str:
            token, _ = tokens.issue(Principal(name=name, roles=frozenset(roles), unit_id=unit),
                                    key=key, now=now, lifetime=life)
            return token

        cache: dict[str, str] = {}

        def crew(unit: str) -> str:
            if unit not in cache:
                cache[unit] = mint(f"replay-crew-{unit}", Role.CREW, unit=unit)
            return cache[unit]

        return cls(telephony=mint(f"replay-cti-{run}", Role.TELEPHONY),
                   # The simulated call-takers share one token: it acts for every position.
                   console=mint(f"replay-console-{run}", Role.CALL_TAKER, Role.SUPERVISOR),
                   dispatcher=mint(f"replay-dispatcher-{run}", Role.DISPATCHER), crew=crew)


class Response:
    """Status and body of one request (status 0: no answer at all)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def problem(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("detail") or self.body.get("title") or "")[:120]
        return ""


class HubClient:
    """Connection pools per role (telephony, consoles, fleet), as separate systems would have:
    a flood of rings does not queue the call-takers' requests. Failures are recorded by kind."""

    def __init__(self, base_url: str, tokens: Tokens, recorder: Recorder, *,
                 connections: int = 32, retries: int = 5) -> None:
        self.pools = {role: HttpPool(base_url, size=connections) for role in ROLES}
        self.tokens = tokens
        self.recorder = recorder
        self.retries = retries

    async def close(self) -> None:
        for pool in self.pools.values():
            await pool.close()

    async def request(self, op: str, method: str, path: str, *, token: str, json: Any = None,
                      quiet: tuple[int, ...] = (), role: str = "fleet") -> Response:
        """Send one request, retrying refusals that say "later" (429, 5xx from a proxy).

        Statuses in `quiet` are expected outcomes the caller handles (not errors)."""
        headers = {"Authorization": f"Bearer {token}"}
        pool = self.pools[role]
        payload = orjson.dumps(json) if json is not None else None
        for attempt in range(self.retries + 1):
            try:
                status, raw = await pool.request(method, path, headers=headers, body=payload)
            except (HttpError, TimeoutError) as error:
                self.recorder.error(f"{op}: {type(error).__name__}")
                if attempt == self.retries:
                    return Response(0, None)
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            try:
                body = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                body = None
            if status in RETRY_STATUSES and attempt < self.retries:
                self.recorder.error(f"{op}: {status} (retried)")
                await asyncio.sleep(0.25 * (attempt + 1))
                continue
            response = Response(status, body)
            if not response.ok and status not in quiet:
                detail = f" {response.problem()[:60]}" if status >= 500 else ""
                self.recorder.error(f"{op}: {status}{detail}")
            return response
        return Response(0, None)

    async def telephony(self, op: str, method: str, path: str, **options: Any) -> Response:
        return await self.request(op, method, path, token=self.tokens.telephony, role="telephony",
                                  **options)

    async def console(self, op: str, method: str, path: str, **options: Any) -> Response:
        return await self.request(op, method, path, token=self.tokens.console, role="console",
                                  **options)

    async def post_call(self, body: dict[str, Any]) -> Response:
        return await self.telephony("ring", "POST", "/api/v1/calls", json=body)

    async def abandoned(self, call_id: str) -> Response:
        return await self.telephony("abandon", "POST", f"/api/v1/calls/{call_id}/abandoned",
                                    json={}, quiet=(409,))

    async def ended(self, call_id: str) -> Response:
        return await self.telephony("end", "POST", f"/api/v1/calls/{call_id}/ended", json={})

    async def get_call(self, ref: str) -> Response:
        return await self.console("verify", "GET", f"/api/v1/calls/{ref}", quiet=(404,))

    async def ringing(self) -> Response:
        return await self.console("ringing", "GET", "/api/v1/calls")

    async def positions(self) -> Response:
        return await self.console("positions", "GET", "/api/v1/positions")

    async def login(self, position_id: str, user: str) -> Response:
        return await self.console("login", "POST", f"/api/v1/positions/{position_id}/login",
                                  json={"user": user, "ready": True}, quiet=(409,))

    async def set_state(self, position_id: str, state: str) -> Response:
        return await self.console("position", "PUT", f"/api/v1/positions/{position_id}/state",
                                  json={"state": state}, quiet=(409,))

    async def answer(self, call_id: str, position_id: str) -> Response:
        return await self.console("answer", "POST", f"/api/v1/calls/{call_id}/answer",
                                  json={"position_id": position_id}, quiet=(409,))

    async def create_incident(self, body: dict[str, Any]) -> Response:
        return await self.console("incident", "POST", "/api/v1/incidents", json=body)

    async def openapi_paths(self) -> dict[str, Any]:
        response = await self.console("openapi", "GET", "/openapi.json")
        paths = response.body.get("paths") if isinstance(response.body, dict) else None
        return paths if isinstance(paths, dict) else {}

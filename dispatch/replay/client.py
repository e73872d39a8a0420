"""HTTP clients for the hub's API: telephony, console and fleet calls, errors counted by kind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from dispatch.replay.record import Recorder

RETRY_STATUSES = {429, 502, 503, 504}


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
                   console=mint(f"replay-console-{run}", Role.CALL_TAKER),
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
    """One HTTP connection pool; every request is counted and failures recorded by kind."""

    def __init__(self, base_url: str, tokens: Tokens, recorder: Recorder, *,
                 connections: int = 100, retries: int = 5) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.http = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30)
        self.tokens = tokens
        self.recorder = recorder
        self.retries = retries

    async def close(self) -> None:
        await self.http.aclose()

    async def request(self, op: str, method: str, path: str, *, token: str,
                      json: Any = None, quiet: tuple[int, ...] = ()) -> Response:
        """Send one request, retrying refusals that say "later" (429, 5xx from a proxy).

        Statuses in `quiet` are expected outcomes the caller handles (not errors)."""
        headers = {"Authorization": f"Bearer {token}"}
        for attempt in range(self.retries + 1):
            try:
                raw = await self.http.request(method, path, json=json, headers=headers)
            except httpx.HTTPError as error:
                self.recorder.error(f"{op}: {type(error).__name__}")
                if attempt == self.retries:
                    return Response(0, None)
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            try:
                body = raw.json() if raw.content else None
            except ValueError:
                body = None
            if raw.status_code in RETRY_STATUSES and attempt < self.retries:
                self.recorder.error(f"{op}: {raw.status_code} (retried)")
                await asyncio.sleep(float(raw.headers.get("retry-after", "0") or 0) or
                                    0.25 * (attempt + 1))
                continue
            response = Response(raw.status_code, body)
            if not response.ok and raw.status_code not in quiet:
                self.recorder.error(f"{op}: {raw.status_code}")
            return response
        return Response(0, None)

    # Telephony
    async def post_call(self, body: dict[str, Any]) -> Response:
        return await self.request("ring", "POST", "/api/v1/calls", token=self.tokens.telephony,
                                  json=body)

    async def abandoned(self, call_id: str) -> Response:
        return await self.request("abandon", "POST", f"/api/v1/calls/{call_id}/abandoned",
                                  token=self.tokens.telephony, json={}, quiet=(409,))

    async def ended(self, call_id: str) -> Response:
        return await self.request("end", "POST", f"/api/v1/calls/{call_id}/ended",
                                  token=self.tokens.telephony, json={})

    # Consoles
    async def get_call(self, ref: str) -> Response:
        return await self.request("verify", "GET", f"/api/v1/calls/{ref}",
                                  token=self.tokens.console, quiet=(404,))

    async def ringing(self) -> Response:
        return await self.request("ringing", "GET", "/api/v1/calls", token=self.tokens.console)

    async def positions(self) -> Response:
        return await self.request("positions", "GET", "/api/v1/positions", token=self.tokens.console)

    async def login(self, position_id: str, user: str) -> Response:
        return await self.request("login", "POST", f"/api/v1/positions/{position_id}/login",
                                  token=self.tokens.console, json={"user": user, "ready": True},
                                  quiet=(409,))

    async def set_state(self, position_id: str, state: str) -> Response:
        return await self.request("position", "PUT", f"/api/v1/positions/{position_id}/state",
                                  token=self.tokens.console, json={"state": state}, quiet=(409,))

    async def create_incident(self, body: dict[str, Any]) -> Response:
        return await self.request("incident", "POST", "/api/v1/incidents",
                                  token=self.tokens.console, json=body)

    async def openapi_paths(self) -> dict[str, Any]:
        response = await self.request("openapi", "GET", "/openapi.json", token=self.tokens.console)
        paths = response.body.get("paths") if isinstance(response.body, dict) else None
        return paths if isinstance(paths, dict) else {}

"""A request is matched only against the router of its resource, and to the same route as
without that check."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Match

from dispatch.config import Settings
from dispatch.main import create_app
from dispatch.routers import DomainRouter, literal_start


def sample_path(path: str) -> str:
    """A path the route's pattern matches: each parameter filled in."""
    return re.sub(r"\{[^}:]+(:int)?\}", lambda m: "1" if m.group(1) else "X1", path)


def scope_of(method: str, path: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [],
            "query_string": b""}


def test_every_hub_route_matches_as_without_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Settings())
    included = [r for r in app.router.routes if hasattr(r, "original_router")]
    domains = [r for r in included if isinstance(r.original_router, DomainRouter)]
    assert len(domains) >= 10  # every domain's router is one
    requests = {(method, sample_path(route.path))
                for r in included for route in r.original_router.routes
                for method in (getattr(route, "methods", None) or {"GET"})}
    requests |= {("GET", "/api/v1/nothing-here"), ("DELETE", "/api/v1/calls")}

    def outcome() -> list[tuple[int, ...]]:
        return [tuple(r.matches(scope_of(m, p))[0] for r in included) for m, p in sorted(requests)]

    checked = outcome()
    monkeypatch.setattr(DomainRouter, "starts", lambda self: ("",))
    assert checked == outcome()
    # and the check declines at once a path that is not the router's
    fleet = next(r for r in domains if any(getattr(x, "path", "") == "/api/v1/units/{unit_id}/status"
                                          for x in r.original_router.routes))
    monkeypatch.undo()
    assert fleet.matches(scope_of("POST", "/api/v1/calls"))[0] == Match.NONE
    assert fleet.matches(scope_of("POST", "/api/v1/units/U1/status"))[0] == Match.FULL


def test_literal_start() -> None:
    router = DomainRouter(prefix="/api/v1")

    @router.get("/units/{unit_id}/job")
    async def job(unit_id: str) -> dict:
        return {}

    assert literal_start(router.routes[0]) == "/api/v1/units/"


async def test_wrong_method_unknown_path_and_routes_added_later() -> None:
    first, second = DomainRouter(prefix="/a"), DomainRouter(prefix="/b")

    @first.get("/things/{thing}")
    async def thing(thing: str) -> dict:
        return {"thing": thing}

    @second.post("/items")
    async def item() -> dict:
        return {"item": True}

    app = FastAPI()
    app.include_router(first)
    app.include_router(second)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://hub") as client:
        assert (await client.get("/a/things/7")).json() == {"thing": "7"}
        assert (await client.post("/b/items")).json() == {"item": True}
        assert (await client.get("/b/items")).status_code == 405
        assert (await client.get("/c/items")).status_code == 404

        @second.get("/later")  # a route added after the first requests
        async def later() -> dict:
            return {"later": True}

        assert (await client.get("/b/later")).json() == {"later": True}


async def test_no_hub_route_is_shadowed_by_one_before_it() -> None:
    """Each route's own path reaches that route (routes of a call's life are listed first)."""
    app = create_app(Settings())
    reached = []
    for router in [r.original_router for r in app.router.routes if hasattr(r, "original_router")]:
        for route in router.routes:
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                path = sample_path(route.path)
                first = next(r for r in router.routes if r.path_regex.fullmatch(path)
                             and method in (getattr(r, "methods", None) or {"GET"}))
                reached.append((route.path, method, first is route))
    assert len(reached) > 100
    assert [r for r in reached if not r[2]] == []

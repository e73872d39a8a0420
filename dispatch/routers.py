"""The routers of the hub's domains: a request is matched only against the router of its
resource.

FastAPI matches a request against every route of every router included before the one that
holds it, each route at a cost of microseconds (≈50–100 µs a request for a crew's status
report, behind the calls and incidents routers). A route can only match a path that begins
with the literal text of its path before its first parameter, so a router first checks the
request's path against those beginnings (one `str.startswith`) and passes on the others at
once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

NOT_MINE: tuple[Match, Scope] = (Match.NONE, {})


def literal_start(route: BaseRoute) -> str:
    """The text every path the route matches begins with ('' when any path might match)."""
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not hasattr(route, "path_regex"):
        return ""  # a mount, an included router, a host: anything may be theirs
    return path.split("{", 1)[0]


class DomainRouter(APIRouter):
    """An APIRouter that declines, in one string comparison, a path none of its routes can
    match (the routes are FastAPI's own: everything else about them is unchanged)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._starts: tuple[str, ...] = ()
        self._starts_of = -1  # how many routes the beginnings were worked out for

    def starts(self) -> tuple[str, ...]:
        """The beginnings of the routes' paths, worked out again when routes are added."""
        if self._starts_of != len(self.routes):
            self._starts = tuple({literal_start(route) for route in self.routes})
            self._starts_of = len(self.routes)
        return self._starts

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not get_route_path(scope).startswith(self.starts()):
            return NOT_MINE
        return super().matches(scope)

"""The application factory."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from dispatch.audit import router as audit_router
from dispatch.auth import router as auth_router
from dispatch.auth.limits import BodyLimit
from dispatch.auth.service import start as auth_start
from dispatch.calls import actions as call_actions
from dispatch.calls import generator as call_generator
from dispatch.calls import router as calls_router
from dispatch.calls import timers as call_timers
from dispatch.clock import Clock
from dispatch.config import Settings, load_settings
from dispatch.db import CloseSessions
from dispatch.errors import install_error_handlers, problem_openapi
from dispatch.fleet import actions as fleet_actions
from dispatch.fleet import router as fleet_router
from dispatch.fleet import service as fleet_service
from dispatch.fleet import timers as fleet_timers
from dispatch.handovers import actions as handover_actions
from dispatch.handovers import router as handovers_router
from dispatch.handovers import timers as handover_timers
from dispatch.hospitals import router as hospitals_router
from dispatch.idempotency import Idempotency
from dispatch.incidents import router as incidents_router
from dispatch.lifespan import Wiring, build_lifespan
from dispatch.links import add_links
from dispatch.messages import router as messages_router
from dispatch.ops import router as ops_router
from dispatch.paths import project_dir
from dispatch.places import router as places_router
from dispatch.quality import router as quality_router
from dispatch.quality import timers as quality_timers
from dispatch.realtime import archive
from dispatch.realtime import router as realtime_router
from dispatch.realtime.direct import CaptureRawSend
from dispatch.replay.adapters import sf
from dispatch.routing import router as routing_router
from dispatch.routing import service as routing_service
from dispatch.runtime import Runtime
from dispatch.zones import router as zones_router


async def demo_calls(rt: Runtime) -> None:
    """The demo's callers, following the bundled SF week's hours of the day."""
    await call_generator.run(rt, hourly=sf.medical_hour_weights)


def wiring() -> Wiring:
    """What each domain contributes: live-state rebuilders, timers, WebSocket actions."""
    return Wiring(
        rebuilders=[fleet_service.rebuild, call_timers.rebuild],
        timers=[archive.run, call_timers.run, handover_timers.run, fleet_timers.run,
                demo_calls, quality_timers.run],
        startup=[auth_start, call_actions.start, fleet_service.start,
                 routing_service.install_default_rule_set],
        actions=[*call_actions.ACTIONS, *handover_actions.ACTIONS, *fleet_actions.ACTIONS],
    )


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    database_bind: AsyncConnection | None = None,
) -> FastAPI:
    """Build the hub: settings, routes, error handlers and the lifespan that owns resources."""
    settings = settings or load_settings()
    app = FastAPI(
        title="120 dispatch hub",
        version="0.1.0",
        summary="Real-time dispatch of 120 emergency medical calls",
        lifespan=build_lifespan(settings, wiring(), clock, database_bind),
        docs_url=None, redoc_url=None,  # served from the hub's own copy below, not a CDN
        # The hub's metrics are Prometheus's (/metrics); FastAPI's own OpenTelemetry spans and
        # metrics, with no exporter configured, would only cost CPU on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(CloseSessions)
    app.add_middleware(Idempotency)
    app.add_middleware(RequestMetrics)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(CaptureRawSend)
    # A request is matched against the routes in this order: the busiest domains first.
    routers = (calls_router, fleet_router, incidents_router, handovers_router, ops_router,
               auth_router, audit_router, hospitals_router, zones_router, places_router,
               routing_router, messages_router, realtime_router, quality_router)
    for module in routers:
        app.include_router(module.router)
    mount_static(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(problem_openapi(get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes)))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def mount_static(app: FastAPI) -> None:
    static = project_dir("static", "console")
    app.mount("/console", StaticFiles(directory=static / "console", html=True), name="console")
    app.mount("/crew", StaticFiles(directory=static / "crew", html=True), name="crew")
    app.mount("/hospital", StaticFiles(directory=static / "hospital", html=True), name="hospital")
    app.mount("/common", StaticFiles(directory=static / "common"), name="common")
    if (static / "vendor").is_dir():
        app.mount("/vendor", StaticFiles(directory=static / "vendor"), name="vendor")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/")

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:  # browsers ask for it on every page the hub serves
        return FileResponse(swagger_ui_path / "favicon-32x32.png", media_type="image/png")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="120 dispatch hub · API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")


class RequestMetrics:
    """Count and time HTTP requests by route template (pure ASGI: cheap on the hot path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            runtime = getattr(scope["app"].state, "runtime", None) if "app" in scope else None
            if runtime is not None:
                method = scope["method"]
                runtime.metrics.http_requests.labels(label, method, str(status[0])).inc()
                runtime.metrics.http_latency.labels(label, method).observe(
                    time.perf_counter() - started
                )

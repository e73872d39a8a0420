"""A compressed shift, in the browser and through the API, as a centre lives it: dozens of
calls, a crew that declines, one that never acknowledges, a tablet offline in a dead spot (and
reloaded there), a hospital that is not on the system, and the hub restarted in the middle.
At the end nothing a person did is lost or stuck.

Runs on PostgreSQL + Redis, and shorter on the embedded default of `make demo` (whose restart
also loses the in-process Redis, so live state is rebuilt from the SQLite file).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dispatch.audit.schemas import Actor
from dispatch.auth import service as auth_service
from dispatch.calls.models import Call, Callback
from dispatch.config import Settings
from dispatch.fleet import states
from dispatch.fleet.models import Assignment, Unit, UnitEvent
from dispatch.handovers.models import Handover
from dispatch.incidents.models import Incident
from dispatch.main import create_app
from dispatch.replay.ownhub import free_port
from dispatch.routing.models import RoutingDecision
from tests import factories, test_browser
from tests.conftest import AUTH, TEST_SECRET, running, serve
from tests.test_browser import (
    CONSOLE_SIZE,
    CREW_SIZE,
    NETWORK_DOWN,
    Log,
    log_in_position,
    new_page,
    ready,
    shot,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
browser = test_browser.browser  # the session's Chromium
log = test_browser.log

TABLET_UNIT = "GX-01"
SHIFT = {"background_tasks": True, "ack_timeout_seconds": 4.0, "ws_heartbeat_seconds": 1.0,
         "escalation_seconds": 6.0}
ZHANGBA = (34.1905, 108.8795)
OPEN_JOB = frozenset(s.value for s in states.ON_JOB)


@dataclass
class Shift:
    """The hub the shift runs on; restartable on the same address."""

    settings: Settings
    port: int = field(default_factory=free_port)
    app: Any = None
    http: httpx.AsyncClient | None = None
    stack: contextlib.AsyncExitStack | None = None
    rung: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, *, load: bool) -> None:
        self.stack = contextlib.AsyncExitStack()
        self.app = create_app(self.settings)
        await self.stack.enter_async_context(running(self.app))
        if load:
            await factories.load_builtin(self.app)
        await self.stack.enter_async_context(serve(self.app, self.port))
        self.http = await self.stack.enter_async_context(
            httpx.AsyncClient(base_url=self.url, headers=AUTH, timeout=10))

    async def stop(self) -> None:
        if self.stack is not None:
            stack, self.stack = self.stack, None
            await stack.aclose()

    async def api(self, method: str, path: str, body: Any = None, status: int | None = None) -> Any:
        assert self.http is not None
        reply = await self.http.request(method, path, json=body)
        assert reply.status_code == status if status else reply.status_code < 300, (path, reply.text)
        return reply.json()

    async def crew_token(self, unit_id: str) -> str:
        rt = self.app.state.runtime
        async with rt.sessionmaker() as session:
            _, token = await auth_service.create_device(
                session=session, rt=rt, kind="crew", name=f"tablet {unit_id}",
                now=rt.clock.now(), actor=Actor(name="shift-test"), unit_id=unit_id)
        return token

    async def ring(self) -> dict[str, Any]:
        self.rung += 1
        return await self.api("POST", "/api/v1/calls", {
            "telephony_call_id": f"shift-{uuid.uuid4().hex[:10]}", "caller_number": "13900000000",
            "line": f"L{self.rung}", "rung_at": datetime.now(UTC).isoformat()}, status=201)

    async def take_call(self, position: str, *, severity: str = "urgent") -> dict[str, Any]:
        """Ring, answer at `position`, record the incident and end the call; the incident."""
        call = await self.ring()
        await self.api("POST", f"/api/v1/calls/{call['id']}/answer", {"position_id": position})
        lat, lon = ZHANGBA[0] + (self.rung % 7) * 0.002, ZHANGBA[1] + (self.rung % 5) * 0.002
        incident = await self.api("POST", "/api/v1/incidents", {
            "call_id": call["id"], "location": {"lat": lat, "lon": lon,
                                                "address": f"锦业路 {self.rung} 号"},
            "severity": severity, "category": "ordinary", "complaint": "胸闷"}, status=201)
        await self.api("POST", f"/api/v1/calls/{call['id']}/ended", {})
        await self.api("PUT", f"/api/v1/positions/{position}/state", {"state": "ready"})
        return dict(incident)

    async def send(self, incident_id: str, unit_id: str | None = None) -> dict[str, Any]:
        if unit_id is None:
            best = await self.api("GET", f"/api/v1/incidents/{incident_id}/recommendations")
            # The tablet's unit is kept for the job the test works on the tablet itself.
            unit_id = next(c["unit_id"] for c in best["candidates"] if c["unit_id"] != TABLET_UNIT)
        return dict(await self.api("POST", "/api/v1/assignments",
                                   {"incident_id": incident_id, "unit_id": unit_id}, status=201))

    async def run_job(self, job: dict[str, Any]) -> None:
        """A crew working its job from acknowledgement to available, through the API."""
        unit = job["unit_id"]
        await self.api("POST", f"/api/v1/assignments/{job['id']}/acknowledge", {})
        for to in ("en_route", "on_scene", "transporting", "at_hospital"):
            await self.api("POST", f"/api/v1/units/{unit}/status", {"status": to})
        await self.api("POST", f"/api/v1/units/{unit}/status",
                       {"status": "handover_done", "reason": "handed_over_in_person"})
        now = (await self.api("GET", f"/api/v1/units/{unit}"))
        for to in (["disinfecting"] if "available" not in now["next_statuses"] else []):
            await self.api("POST", f"/api/v1/units/{unit}/status", {"status": to})
        await self.api("POST", f"/api/v1/units/{unit}/status", {"status": "available"})

    async def calls(self, count: int, position: str) -> None:
        """Ordinary calls taken, dispatched and worked; every fifth caller hangs up first and
        is called back."""
        for n in range(count):
            if n % 5 == 4:
                call = await self.ring()
                await self.api("POST", f"/api/v1/calls/{call['id']}/ended", {})
                callbacks = await self.api("GET", "/api/v1/callbacks")
                [due] = [c for c in callbacks if c["call_id"] == call["id"]]
                await self.api("POST", f"/api/v1/callbacks/{due['id']}/take",
                               {"position_id": position})
                await self.api("POST", f"/api/v1/callbacks/{due['id']}/outcome",
                               {"outcome": "reached"})
                await self.api("PUT", f"/api/v1/positions/{position}/state", {"state": "ready"})
                continue
            incident = await self.take_call(position)
            await self.run_job(await self.send(incident["id"]))


async def wait_for(condition: Any, seconds: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while not (found := await condition()):
        assert asyncio.get_running_loop().time() < deadline, "it never happened"
        await asyncio.sleep(0.1)
    return found


async def console_alert(console: Any, text: str) -> Any:
    alert = console.locator(".alert.sticky", has_text=text)
    await alert.wait_for(timeout=10000)
    return alert


async def the_shift(shift: Shift, browser: Any, log: Log, *, calls: int,
                    screenshots: bool) -> None:
    try:
        await a_shift(shift, browser, log, calls=calls, screenshots=screenshots)
    finally:
        await shift.stop()


async def a_shift(shift: Shift, browser: Any, log: Log, *, calls: int, screenshots: bool) -> None:
    await shift.start(load=True)
    await shift.api("POST", "/api/v1/positions/P02/login", {"user": "wang.fang", "ready": True})
    console = await new_page(browser, shift, "/console/", size=CONSOLE_SIZE, log=log)
    await ready(console)
    await log_in_position(console, "P01", "li.na")
    tablet_token = await shift.crew_token(TABLET_UNIT)
    crew = await new_page(browser, shift, f"/crew/#token={tablet_token}", size=CREW_SIZE,
                          log=log, token=None)
    await ready(crew)
    await shift.calls(calls // 2, "P02")

    # A crew declines a critical patient: the console says so, names the next unit and sends
    # it with one click; the alert stays until then.
    incident = await shift.take_call("P02", severity="critical")
    declined = await shift.send(incident["id"], "GX-05")
    await shift.api("POST", f"/api/v1/assignments/{declined['id']}/decline",
                    {"reason": "vehicle fault"})
    alert = await console_alert(console, "高新05")
    assert "declined" in await alert.inner_text()
    if screenshots:
        await shot(console, "console-decline-alert.png")
    await alert.locator("button.act").click()
    await alert.wait_for(state="detached")
    [sent] = [a for a in await shift.api("GET", f"/api/v1/assignments?incident_id={incident['id']}")
              if a["status"] == "confirmed"]
    assert sent["unit_id"] != "GX-05"
    await shift.run_job(sent)

    # A crew that never acknowledges is released at the deadline; the same alert follows.
    incident = await shift.take_call("P02")
    silent = await shift.send(incident["id"], "GX-06")
    alert = await console_alert(console, "did not acknowledge")
    await alert.locator("button.act").click()
    await alert.wait_for(state="detached")
    jobs = await shift.api("GET", f"/api/v1/assignments?incident_id={incident['id']}")
    assert [j["status"] for j in jobs if j["id"] == silent["id"]] == ["timed_out"]
    await shift.run_job(next(j for j in jobs if j["status"] == "confirmed"))

    # The tablet's job: worked on the tablet itself.
    incident = await shift.take_call("P02")
    tablet_job = await shift.send(incident["id"], TABLET_UNIT)
    await crew.wait_for_selector("#ack:not([hidden])")
    await crew.click("#ack-button")
    for to in ("en_route", "on_scene", "transporting"):
        await crew.click(f"#statuses button[data-status={to}]")
        await crew.wait_for_selector(f"#unit-status.{to}")
    await wait_for(lambda: unit_status(shift, "transporting"))

    # A dead spot: "at hospital" is tapped offline, the tablet is reloaded there, and the hub
    # restarts meanwhile. The change waits on the tablet and goes out once, with its tap time.
    with log.expecting(NETWORK_DOWN):
        await crew.context.set_offline(True)
        await crew.wait_for_selector("#offline:not([hidden])", timeout=8000)
        await crew.click("#statuses button[data-status=at_hospital]")
        await crew.wait_for_selector("#outbox:not([hidden])")
        tapped = await crew.evaluate("window.dispatchCrew.state.outbox[0].tapped_at")
        await shift.stop()  # the hub restarts while the tablet is away
        await crew.reload()
        await ready(crew)
        assert "Waiting to send" in await crew.inner_text("#outbox")
        assert "At hospital" in await crew.inner_text("#outbox")
        assert await crew.inner_text("#unit-status") == "At hospital"
        if screenshots:
            await shot(crew, "crew-outbox.png")
        await shift.start(load=False)
        await asyncio.sleep(1.0)
        await crew.context.set_offline(False)
        await crew.wait_for_selector("#outbox", state="hidden", timeout=40000)
    await wait_for(lambda: unit_status(shift, "at_hospital"))

    # The hospital is not on the system: nobody confirms, the crew says why and closes it.
    await crew.click("#statuses button[data-status=handover_done]")
    await crew.wait_for_selector("#statuses [data-reason=hospital_not_on_system]")
    if screenshots:
        await shot(crew, "crew-handover-reason.png")
    await crew.click("#statuses [data-reason=hospital_not_on_system]")
    await crew.wait_for_selector("#unit-status.handover_done")
    await wait_for(lambda: unit_status(shift, "handover_done"))
    await crew.wait_for_selector("#statuses button[data-status=disinfecting]")
    await crew.click("#statuses button[data-status=available]")
    await wait_for(lambda: unit_status(shift, "available"))
    await console.wait_for_selector(f"#board tr[data-unit='{TABLET_UNIT}'] .status.available",
                                    timeout=15000)

    await shift.calls(calls - calls // 2, "P02")
    await check_nothing_lost(shift, tablet_job, tapped)
    assert log.errors == []


async def unit_status(shift: Shift, status: str) -> bool:
    rt = shift.app.state.runtime
    async with rt.sessionmaker() as session:
        return await session.scalar(select(Unit.status).where(Unit.id == TABLET_UNIT)) == status


async def check_nothing_lost(shift: Shift, job: dict[str, Any], tapped: str) -> None:
    rt = shift.app.state.runtime
    async with rt.sessionmaker() as session:
        assignment = await session.get(Assignment, uuid.UUID(job["id"]))
        assert assignment is not None
        calls = (await session.scalars(select(Call))).all()
        callbacks = {c.call_id: c for c in (await session.scalars(select(Callback))).all()}
        history = (await session.scalars(select(UnitEvent).where(
            UnitEvent.unit_id == TABLET_UNIT, UnitEvent.type == "status",
            UnitEvent.at >= assignment.proposed_at, UnitEvent.at <= assignment.ended_at)
            .order_by(UnitEvent.at, UnitEvent.id))).all()
        units = (await session.scalars(select(Unit))).all()
        open_jobs = set((await session.scalars(select(Assignment.unit_id).where(
            Assignment.status.in_(["confirmed", "acknowledged"])))).all())
        undecided = await session.scalar(select(func.count()).select_from(Incident).where(
            ~select(RoutingDecision.id).where(RoutingDecision.incident_id == Incident.id).exists()))
        handover = (await session.scalars(select(Handover).where(
            Handover.assignment_id == assignment.id))).one()
    # Every call answered, or its caller called back.
    for call in calls:
        assert call.answered_at is not None or (
            call.id in callbacks and callbacks[call.id].outcome == "reached"), call.status
    # Every tap of the tablet is in PostgreSQL once, in order, at the time it was tapped.
    assert [e.to_status for e in history] == [
        "assigned", "acknowledged", "en_route", "on_scene", "transporting", "at_hospital",
        "handover_done"]
    at_hospital = next(e for e in history if e.to_status == "at_hospital")
    tapped_at = datetime.fromisoformat(tapped.replace("Z", "+00:00"))
    assert abs((at_hospital.at.replace(tzinfo=UTC) - tapped_at).total_seconds()) < 1.0
    assert handover.status == "handed_over"
    assert handover.done_by_crew_reason == "hospital_not_on_system"
    # No unit left working without a job, no incident without a decision.
    assert [u.id for u in units if u.status in OPEN_JOB and u.id not in open_jobs] == []
    assert undecided == 0


@pytest.mark.committed
async def test_a_shift_on_postgresql_and_redis(settings: Settings, redis: Any, committed: Any,
                                               browser: Any, log: Log) -> None:
    shift = Shift(settings.model_copy(update=SHIFT))
    await the_shift(shift, browser, log, calls=24, screenshots=True)


async def test_a_shorter_shift_on_the_embedded_default(tmp_path: Path, browser: Any,
                                                       log: Log) -> None:
    shift = Shift(Settings(data_dir=tmp_path, secret_key=TEST_SECRET, **SHIFT))
    assert shift.settings.embedded
    await the_shift(shift, browser, log, calls=6, screenshots=False)

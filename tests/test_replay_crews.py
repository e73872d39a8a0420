"""The replay's crews against a stand-in for the fleet API as planned (units, recommendations,
assignments, unit status): the real fleet routes are not in this branch yet."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from dispatch.replay.client import HubClient, Tokens
from dispatch.replay.config import ReplayConfig
from dispatch.replay.crews import Crews, fleet_available, missing_steps
from dispatch.replay.record import Recorder
from dispatch.replay.stream import CallRecord
from tests.conftest import serve

pytestmark = pytest.mark.timeout(30)


def fleet_stand_in() -> tuple[FastAPI, list[tuple[str, str]]]:
    """Records every status change; pushes each assignment to the unit's tablet socket."""
    app = FastAPI()
    tablets: dict[str, WebSocket] = {}
    statuses: list[tuple[str, str]] = []

    @app.get("/api/v1/incidents/{incident_id}/recommendations")
    async def recommendations(incident_id: str) -> list[dict[str, Any]]:
        busy = {unit for unit, status in statuses if status != "available"} - {
            unit for unit, status in statuses if status == "available"}
        return [{"unit_id": u, "eta_s": 300} for u in ("A1", "A2") if u not in busy]

    @app.post("/api/v1/assignments", status_code=201)
    async def assign(body: dict[str, str]) -> dict[str, str]:
        assignment = str(uuid.uuid4())
        statuses.append((body["unit_id"], "assigned"))
        await tablets[body["unit_id"]].send_json({
            "kind": "event", "id": "1-0", "type": "assignment.confirmed", "at": "",
            "data": {"assignment_id": assignment, "unit_id": body["unit_id"],
                     "incident_id": body["incident_id"]}})
        return {"id": assignment, "unit_id": body["unit_id"], "status": "confirmed"}

    @app.post("/api/v1/assignments/{assignment_id}/acknowledge")
    async def acknowledge(assignment_id: str) -> dict[str, str]:
        return {"id": assignment_id, "status": "acknowledged"}

    @app.post("/api/v1/units/{unit_id}/status")
    async def status(unit_id: str, body: dict[str, str]) -> dict[str, str]:
        statuses.append((unit_id, body["status"]))
        return {"id": unit_id, "status": body["status"]}

    @app.post("/api/v1/units/{unit_id}/position")
    async def position(unit_id: str, body: dict[str, float]) -> dict[str, str]:
        return {"id": unit_id}

    @app.websocket("/ws/crew/{unit_id}")
    async def tablet(websocket: WebSocket, unit_id: str) -> None:
        await websocket.accept(subprotocol="dispatch.v1")
        await websocket.send_json({"kind": "hello", "last_event_id": "0-0"})
        tablets[unit_id] = websocket
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            tablets.pop(unit_id, None)

    return app, statuses


async def test_crews_follow_the_stream_through_the_unit_state_machine() -> None:
    app, statuses = fleet_stand_in()
    call = CallRecord.model_validate({
        "id": "c1", "rung_at": "2017-01-01T00:00:00-08:00", "severity": "critical",
        "location": {"lat": 37.78, "lon": -122.41}, "entered_s": 60,
        "units": [{"id": "62", "dispatched_s": 90, "en_route_s": 100, "on_scene_s": 400,
                   "transporting_s": 1300, "at_hospital_s": 2000, "available_s": 3800}]})
    recorder = Recorder()
    config = ReplayConfig(url="", speed=3600, human_time="scaled")
    async with serve(app) as address:
        client = HubClient(f"http://{address}", Tokens.single("t"), recorder)
        assert await fleet_available(client)
        crews = Crews(config, recorder, client, ["A1", "A2"], random.Random(1))
        await crews.start(f"ws://{address}")
        crews.serve(call, "incident-1", recorder.now())
        for _ in range(100):
            if ("A1", "available") in statuses:
                break
            await asyncio.sleep(0.05)
        await crews.close()
        await client.close()
    assert [s for u, s in statuses if u == "A1"] == [
        "assigned", "en_route", "on_scene", "transporting", "at_hospital", "handover_done",
        "available"]
    assert crews.missing_on_tablets() == 0
    assert len(recorder.latencies["assignment_to_crew"]) == 1
    assert sum(recorder.events["unit_status"].values()) == 7  # acknowledged + six statuses
    assert sum(recorder.events["assignment"].values()) == 1
    assert recorder.errors == {}


async def test_crews_are_off_on_a_hub_without_the_fleet_routes() -> None:
    app = FastAPI()

    @app.get("/api/v1/units")
    async def units() -> list[dict[str, str]]:
        return []

    async with serve(app) as address:
        client = HubClient(f"http://{address}", Tokens.single("t"), Recorder())
        assert not await fleet_available(client)
        await client.close()


def test_steps_the_stream_skips_are_filled_in() -> None:
    assert missing_steps("acknowledged", "transporting") == ["en_route", "on_scene"]
    assert missing_steps("en_route", "on_scene") == []
    assert missing_steps("transporting", "available") == ["at_hospital", "handover_done"]
    assert missing_steps("on_scene", "available") == []  # treated on the spot

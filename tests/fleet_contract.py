"""The planned fleet API, kept in memory: the web apps' side of the contract, until fleet lands.

Only the browser tests use it, and only on a hub without the real fleet routes. It follows the
contract the console and the crew tablet are written against:

    GET  /api/v1/units/{id}/job -> {"job": null | {assignment_id, status, ack_deadline,
                                    incident{...}, destination, transport_mode, closed_loop,
                                    crew_notes, infectious}}
    POST /api/v1/units/{id}/status {"status"}      POST /api/v1/units/{id}/position {lat, lon}
    GET  /api/v1/incidents/{id}/recommendations
    POST /api/v1/assignments {incident_id, unit_id}
    POST /api/v1/assignments/{id}/acknowledge | /decline
    events: assignment.proposed / confirmed / acknowledged, unit.status, unit.position
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict

from dispatch.fleet.livestate import read_units
from dispatch.incidents import service as incident_service
from dispatch.realtime.schemas import Scope
from dispatch.runtime import Runtime

ACTIVE = ("confirmed", "acknowledged")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignmentIn(Strict):
    incident_id: uuid.UUID
    unit_id: str


class StatusIn(Strict):
    status: str


class PositionIn(Strict):
    lat: float
    lon: float


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 12742 * math.asin(math.sqrt(h))


def install(app: FastAPI) -> None:
    """Add the contract's routes to an app that has not started yet."""
    router = APIRouter(prefix="/api/v1", tags=["fleet contract (test stub)"])
    assignments: dict[str, dict[str, Any]] = {}

    def runtime(request: Request) -> Runtime:
        rt: Runtime = request.app.state.runtime
        return rt

    async def publish(rt: Runtime, type_: str, unit_id: str, data: dict[str, Any]) -> None:
        scope = Scope(console=True, units=(unit_id,))
        await rt.bus.publish(rt.bus.event(type_, {"unit_id": unit_id, **data}, scope=scope))

    async def set_status(rt: Runtime, unit_id: str, status: str) -> None:
        await rt.redis.hset(rt.keys.unit(unit_id), "status", status)  # type: ignore[misc]
        await publish(rt, "unit.status", unit_id, {"status": status})

    async def incident_of(rt: Runtime, incident_id: str) -> Any:
        async with rt.sessionmaker() as session:
            found = await incident_service.find_incident(session, uuid.UUID(incident_id))
            return await incident_service.incident_out(session, found)

    def found(assignment_id: str) -> dict[str, Any]:
        if assignment_id not in assignments:
            raise HTTPException(404, f"no assignment {assignment_id}")
        return assignments[assignment_id]

    @router.get("/units/{unit_id}/job")
    async def job(unit_id: str, request: Request) -> dict[str, Any]:
        current = next((a for a in assignments.values()
                        if a["unit_id"] == unit_id and a["status"] in ACTIVE), None)
        if current is None:
            return {"job": None}
        incident = await incident_of(runtime(request), current["incident_id"])
        decision = incident.decision or {}
        return {"job": {
            "assignment_id": current["id"], "status": current["status"],
            "ack_deadline": current["ack_deadline"],
            "incident": incident.model_dump(mode="json", include={
                "id", "address", "lat", "lon", "severity", "category", "infection_status",
                "complaint", "notes"}),
            "destination": decision.get("destination"),
            "transport_mode": decision.get("transport_mode"),
            "closed_loop": decision.get("closed_loop", False),
            "crew_notes": decision.get("crew_notes", []),
            "infectious": incident.infection_status != "none",
        }}

    @router.get("/incidents/{incident_id}/recommendations")
    async def recommendations(incident_id: str, request: Request) -> dict[str, Any]:
        incident = await incident_of(runtime(request), incident_id)
        units = [u for u in await read_units(runtime(request).redis, runtime(request).keys)
                 if u["status"] == "available" and u.get("lat")]
        ranked = sorted(units, key=lambda u: km((incident.lat, incident.lon),
                                                (float(u["lat"]), float(u["lon"]))))
        candidates = []
        for unit in ranked:
            distance = km((incident.lat, incident.lon), (float(unit["lat"]), float(unit["lon"])))
            candidates.append({"unit_id": unit["id"], "call_sign": unit["call_sign"],
                               "kind": unit["kind"], "distance_km": round(distance, 2),
                               "eta_seconds": round(distance / 40 * 3600)})
        return {"incident_id": incident_id, "candidates": candidates, "excluded": []}

    @router.post("/assignments", status_code=201)
    async def assign(body: AssignmentIn, request: Request) -> dict[str, Any]:
        rt = runtime(request)
        assignment = {
            "id": uuid.uuid4().hex, "incident_id": str(body.incident_id), "unit_id": body.unit_id,
            "status": "confirmed",
            "ack_deadline": (rt.clock.now() + timedelta(seconds=60)).isoformat(),
        }
        assignments[assignment["id"]] = assignment
        await set_status(rt, body.unit_id, "assigned")
        await publish(rt, "assignment.confirmed", body.unit_id,
                      {"assignment_id": assignment["id"], "incident_id": assignment["incident_id"]})
        return assignment

    @router.post("/assignments/{assignment_id}/{verb}")
    async def answer(assignment_id: str, verb: str, request: Request) -> dict[str, Any]:
        if verb not in ("acknowledge", "decline"):
            raise HTTPException(404, f"no action {verb}")
        rt, assignment = runtime(request), found(assignment_id)
        assignment["status"] = "acknowledged" if verb == "acknowledge" else "declined"
        await set_status(rt, assignment["unit_id"], assignment["status"]
                         if verb == "acknowledge" else "available")
        await publish(rt, f"assignment.{assignment['status']}", assignment["unit_id"],
                      {"assignment_id": assignment_id, "incident_id": assignment["incident_id"]})
        return assignment

    @router.post("/units/{unit_id}/status")
    async def status(unit_id: str, body: StatusIn, request: Request) -> dict[str, Any]:
        await set_status(runtime(request), unit_id, body.status)
        if body.status == "available":
            for assignment in assignments.values():
                if assignment["unit_id"] == unit_id and assignment["status"] in ACTIVE:
                    assignment["status"] = "completed"
        return {"unit_id": unit_id, "status": body.status}

    @router.post("/units/{unit_id}/position")
    async def position(unit_id: str, body: PositionIn, request: Request) -> dict[str, Any]:
        rt = runtime(request)
        await rt.redis.hset(rt.keys.unit(unit_id),  # type: ignore[misc]
                            mapping={"lat": repr(body.lat), "lon": repr(body.lon)})
        await publish(rt, "unit.position", unit_id, {"lat": body.lat, "lon": body.lon})
        return {"unit_id": unit_id}

    app.include_router(router)

"""Factories for scenarios and other test data."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from dispatch.incidents.models import Incident
from dispatch.runtime import Runtime
from dispatch.scenarios import service as scenario_service
from dispatch.scenarios.schemas import Scenario, ScenarioSummary
from dispatch.workflows import scenario as scenario_workflow

SQUARE = [[108.80, 34.10], [108.90, 34.10], [108.90, 34.20], [108.80, 34.20], [108.80, 34.10]]

BASE: dict[str, Any] = {
    "name": "test-town",
    "title": "Test town",
    "coordinates_approximate": True,
    "centre": {"lat": 34.15, "lon": 108.85},
    "sub_districts": [
        {"id": "north", "name": "North", "population": 100000,
         "location": {"lat": 34.18, "lon": 108.85}},
        {"id": "south", "name": "South", "population": 50000,
         "location": {"lat": 34.12, "lon": 108.85}},
    ],
    "posts": [
        {"id": "post-n", "name": "North post", "location": {"lat": 34.18, "lon": 108.85},
         "sub_districts": ["north"], "crews": 2, "paired_hospital": "general"},
        {"id": "post-s", "name": "South post", "location": {"lat": 34.12, "lon": 108.85},
         "sub_districts": ["south"], "crews": 1},
    ],
    "hospitals": [
        {"id": "general", "name": "General Hospital", "location": {"lat": 34.16, "lon": 108.86},
         "level": "tertiary", "capabilities": ["emergency", "icu", "obstetrics", "dialysis"],
         "designations": ["guarantee", "pregnant", "dialysis"]},
        {"id": "closed", "name": "Closed Hospital", "location": {"lat": 34.15, "lon": 108.85},
         "level": "tertiary", "capabilities": ["emergency"], "status": "suspended",
         "status_reason": "test"},
    ],
    "units": [
        {"id": "A1", "call_sign": "Alpha 1", "kind": "ambulance",
         "capabilities": ["ambulance", "als"], "post": "post-n"},
        {"id": "A2", "call_sign": "Alpha 2", "kind": "negative_pressure_ambulance",
         "capabilities": ["ambulance", "negative_pressure", "als"], "post": "post-n"},
        {"id": "B1", "call_sign": "Bravo 1", "kind": "ambulance",
         "capabilities": ["ambulance"], "post": "post-s"},
    ],
    "positions": [
        {"id": "P1", "name": "Position 1"},
        {"id": "P2", "name": "Position 2"},
        {"id": "SUP", "name": "Supervisor", "supervisor": True},
    ],
    "zones": [
        {"id": "sealed-1", "name": "Sealed block", "status": "sealed", "sub_district": "north",
         "geometry": {"type": "Polygon", "coordinates": [SQUARE]}},
    ],
}


def small_scenario(**changes: Any) -> dict[str, Any]:
    """A two-post, three-unit scenario; keyword arguments replace top-level entries."""
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


@dataclass
class LoadedScenario:
    scenario: Scenario
    summary: ScenarioSummary


async def load(app: Any, data: dict[str, Any]) -> LoadedScenario:
    rt: Runtime = app.state.runtime
    scenario = Scenario.model_validate(data)
    assert not scenario.reference_errors()
    async with rt.sessionmaker() as session:
        summary = await scenario_workflow.load_scenario(
            session=session, redis=rt.redis, keys=rt.keys, scenario=scenario,
            checksum="test", now=rt.clock.now(),
        )
    return LoadedScenario(scenario=scenario, summary=summary)


async def load_builtin(app: Any, name: str = "xian-high-tech-zone") -> LoadedScenario:
    """Load a built-in scenario (e.g. the Xi'an High-tech Zone of seed 000) into the app."""
    rt: Runtime = app.state.runtime
    scenario, checksum = scenario_service.read_scenario(name)
    async with rt.sessionmaker() as session:
        summary = await scenario_workflow.load_scenario(
            session=session, redis=rt.redis, keys=rt.keys, scenario=scenario,
            checksum=checksum, now=rt.clock.now(),
        )
    return LoadedScenario(scenario=scenario, summary=summary)


async def add_incident(app: Any, **values: Any) -> uuid.UUID:
    """Insert an incident as a call-taker would have recorded it; return its id."""
    rt: Runtime = app.state.runtime
    now = rt.clock.now()
    row = Incident(id=uuid.uuid4(), created_at=now, updated_at=now, created_by="test",
                   **{"severity": "urgent", "category": "ordinary", "flags": {}, **values})
    async with rt.sessionmaker() as session:
        session.add(row)
        await session.commit()
    return row.id

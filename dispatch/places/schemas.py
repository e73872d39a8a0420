"""API shapes of community care places."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dispatch.incidents.enums import Severity
from dispatch.places.enums import PlaceStatus
from dispatch.schemas import StrictIn

MAX_ZONE_POPULATION = 5_000_000  # 500 temporary medical points: more is a city, not a zone


class PlaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    name: str
    name_zh: str | None
    lat: float
    lon: float
    location_approximate: bool
    address: str | None
    phone: str | None
    hours: str | None = Field(description='"24h", local windows "08:00-17:30", or null when not known')
    timezone: str
    status: str
    status_reason: str | None
    status_changed_at: datetime | None
    services: list[str]
    paired_hospital_id: str | None
    parent_id: str | None
    served_sub_district_ids: list[str]
    served_zone_id: str | None
    population_served: int | None
    unit_id: str | None
    source: str | None
    notes: str | None
    updated_at: datetime
    updated_by: str | None


class PlaceStatusChange(StrictIn):

    status: PlaceStatus
    reason: str | None = Field(default=None, max_length=300)


class MedicalPointPlanIn(StrictIn):

    zone_id: str = Field(min_length=1, max_length=64)
    population: int | None = Field(
        default=None, gt=0, le=MAX_ZONE_POPULATION,
        description="people in the zone, when known; estimated from its sub-district otherwise")


class MedicalPointPlanOut(BaseModel):
    zone_id: str
    zone_status: str
    population: int
    population_estimated: bool
    people_per_point: int
    needed: int
    existing: list[str]
    created: list[str]
    units_created: list[str]


class EscalateIn(StrictIn):
    """A home-visit GP found the patient needs more than a home visit (003 封控区内 2)."""

    severity: Severity = Field(description="the GP's finding: urgent or critical")
    finding: str | None = Field(default=None, max_length=300)


class EscalationOut(BaseModel):
    incident_id: uuid.UUID
    home_visit_decision_id: uuid.UUID
    home_visit_place_id: str | None
    home_visit_unit_id: str | None
    decision_id: uuid.UUID
    outcome: str
    transport_mode: str | None
    required_unit_capabilities: list[str]
    destination_hospital_id: str | None
    decision: dict[str, Any]

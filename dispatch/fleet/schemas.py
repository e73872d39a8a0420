"""API shapes of units and posts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dispatch.fleet.enums import UnitStatus
from dispatch.schemas import Latitude, Longitude, StrictIn


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    call_sign: str
    kind: str
    capabilities: list[str]
    post_id: str | None
    status: str
    lat: float | None
    lon: float | None
    position_at: datetime | None = None
    status_at: datetime | None = None
    assignment_id: str | None = None
    incident_id: str | None = None
    infectious_load: bool = False
    active: bool = True
    position_stale: bool = False
    next_statuses: list[str] = Field(default_factory=list, description="what the crew may report next")


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    name_zh: str | None
    lat: float
    lon: float
    location_approximate: bool
    sub_district_ids: list[str]
    crews: int
    paired_hospital_id: str | None


class StatusIn(StrictIn):
    status: UnitStatus
    reason: str | None = Field(default=None, max_length=300,
                               description="why (needed for handover_done before the hospital confirms)")
    at: AwareDatetime | None = Field(
        default=None, description="when the crew tapped it; a tablet that was offline sends it late")


class PositionIn(StrictIn):
    lat: Latitude
    lon: Longitude
    at: AwareDatetime | None = Field(default=None, description="when the tablet took the fix")


class PositionAck(BaseModel):
    unit_id: str
    accepted: bool
    ignored: str | None = None


class AssignmentIn(StrictIn):
    incident_id: uuid.UUID
    unit_id: str = Field(min_length=1, max_length=32)
    override_reason: str | None = Field(
        default=None, max_length=300,
        description="why a unit lacking the decision's capabilities is sent anyway")


class ReasonIn(StrictIn):
    reason: str | None = Field(default=None, max_length=300)


class AssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    incident_id: uuid.UUID
    unit_id: str
    status: str
    decision_id: uuid.UUID | None
    destination_hospital_id: str | None
    proposed_at: datetime
    confirmed_at: datetime | None
    confirmed_by: str | None
    ack_deadline: datetime | None
    acknowledged_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    override_reason: str | None
    escalated_from_id: uuid.UUID | None = None


class CandidateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    unit_id: str
    call_sign: str
    kind: str
    capabilities: list[str]
    post_id: str | None
    eta_seconds: float
    distance_km: float
    position_stale: bool


class ExcludedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    unit_id: str
    call_sign: str
    reason: str


class RecommendationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    incident_id: uuid.UUID
    required_capabilities: list[str]
    candidates: list[CandidateOut]
    excluded: list[ExcludedOut]
    excluded_counts: dict[str, int]
    travel_source: str
    warnings: list[str]
    considered: int = Field(description="units looked at, nearest first, until no farther one "
                                        "could arrive sooner")
    fleet_size: int


class JobOut(BaseModel):
    job: dict[str, Any] | None = Field(description="the unit's open job, or null")


class CoverageArea(BaseModel):
    id: str
    posts: list[str]
    sub_districts: list[str]
    population: int
    crews: int
    population_per_crew: int | None
    units: int
    available: int
    population_per_available_unit: int | None
    uncovered: bool


class CoverageOut(BaseModel):
    areas: list[CoverageArea]
    uncovered: list[str]


class EscalateIn(StrictIn):
    """The home-visit GP found the patient needs an ambulance (seed 003)."""

    severity: Literal["urgent", "critical"] = Field(description="the GP's finding")
    finding: str | None = Field(default=None, max_length=300)
    unit_id: str | None = Field(default=None, max_length=32,
                                description="the ambulance to send; the fastest one if omitted")


class EscalatedOut(BaseModel):
    escalation: dict[str, Any]
    assignment: AssignmentOut | None
    home_visit_assignment_id: uuid.UUID | None
    warnings: list[str]

"""Routing decisions and the API shapes around them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dispatch.fleet.enums import UnitCapability
from dispatch.incidents.enums import InfectionStatus, PatientCategory, Severity
from dispatch.incidents.schemas import Flags
from dispatch.incidents.triage import Triage
from dispatch.schemas import Latitude, Longitude, StrictIn
from dispatch.zones.enums import ZoneStatus


class Outcome(StrEnum):
    """What happens to the patient."""

    TRANSPORT = "transport"  # to a hospital
    REFER = "refer"  # the caller goes to a named community place (fever clinic, oxygen station)
    HOME_VISIT = "home_visit"  # a temporary medical point's team goes to the patient (003)
    CALLBACK_BY_DOCTOR = "callback_by_doctor"  # a family doctor calls the patient back


class TransportMode(StrEnum):
    AMBULANCE = "ambulance"  # 120 ambulance
    NEGATIVE_PRESSURE_AMBULANCE = "negative_pressure_ambulance"  # 负压救护车
    CLOSED_LOOP_VEHICLE = "closed_loop_vehicle"  # volunteer/community car, point to point
    SELF_TRAVEL = "self_travel"  # on foot or own car (防范区普通/慢性病患者)
    HOME_VISIT = "home_visit"  # nobody travels but the medical point's team (上门服务)
    NONE = "none"  # nobody travels: the doctor calls back


# Facts about the patient that community care rules read; each must be true or false.
COMMUNITY_FLAGS = ("fever", "danger_signs", "needs_oxygen", "prescription_refill")
FlagValue = bool | int | float | str


class Paperwork(StrEnum):
    COMMUNITY_CERTIFICATE = "community_certificate"  # 社区（村居委会）出具的人员身份证明


class HospitalChoice(BaseModel):
    hospital_id: str
    name: str
    name_zh: str | None
    distance_km: float
    reason: str = Field(description="why this hospital: Chinese and English as crews read them")
    reason_zh: str | None = Field(default=None, description="the reason in Chinese only")
    reason_en: str | None = Field(default=None, description="the reason in English only")
    full: bool = False  # full for the patient's category (ranked last, never refused)


class ZoneRef(BaseModel):
    id: str | None
    name: str | None
    name_zh: str | None = None
    status: ZoneStatus


class PlaceChoice(BaseModel):
    """The place a caller is sent to (or whose team comes), with what the caller needs to know."""

    place_id: str | None = Field(description="null when a hospital's own fever clinic is meant")
    hospital_id: str | None = None
    kind: str
    name: str
    name_zh: str | None
    phone: str | None
    hours: str | None = Field(description='"24h", local windows "08:00-17:30", or null when not known')
    address: str | None = None
    lat: float
    lon: float
    location_approximate: bool
    distance_km: float
    bearing_deg: float
    direction: str = Field(description="compass point from the patient: N, NE, E, SE, S, SW, W, NW")
    directions: str = Field(description="what to tell the caller: distance, direction, address")
    unit_id: str | None = Field(default=None, description="the medical point team's unit (home visits)")
    served_zone_id: str | None = None
    reason: str
    reason_zh: str | None = Field(default=None, description="the reason in Chinese only")
    reason_en: str | None = Field(default=None, description="the reason in English only")


class MatchedRule(BaseModel):
    id: str
    why: str
    seed: str | None = None
    decided: list[str] = Field(default_factory=list)  # which parts of the decision it set
    description: str | None = Field(default=None, description="what the rule does, in plain words")
    description_zh: str | None = Field(default=None, description="the same in Chinese")


class PathwayRef(BaseModel):
    """The patient's clinical pathway and what it asked of the hospital and the unit."""

    id: str
    label_zh: str
    label_en: str
    seed: str
    hospital_needs: list[str]
    hospital_needs_words: str = Field(description="the capabilities in plain words, both languages")
    unit_needs: list[str]
    outside_rule_set: bool = Field(
        description="the deciding rule's first set (e.g. the yellow-code hospital) had open "
                    "hospitals but none with the care: the destination was looked for outside it")
    onset_minutes: int | None = Field(default=None, description="minutes since last known well")
    onset: str | None = Field(default=None, description="last known well, for the crew and the team")


class Decision(BaseModel):
    """Where and how a patient goes, and which rules said so (JSON-serialisable)."""

    outcome: Outcome = Outcome.TRANSPORT
    destination: HospitalChoice | None
    referral: PlaceChoice | None = Field(
        default=None, description="refer / home_visit / callback_by_doctor: the place, its phone and hours")
    alternatives: list[HospitalChoice] = Field(default_factory=list)
    transport_mode: TransportMode
    required_unit_capabilities: list[UnitCapability]
    closed_loop: bool
    paperwork: list[str] = Field(default_factory=list)
    crew_notes: list[str] = Field(default_factory=list)
    pathway: PathwayRef | None = None
    zone: ZoneRef
    matched_rules: list[MatchedRule] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    rule_set_version: int
    at: datetime


class EvaluateRequest(StrictIn):
    """A hypothetical patient: where the hub would send them, and why."""

    lat: Latitude
    lon: Longitude
    severity: Severity
    category: PatientCategory = PatientCategory.ORDINARY
    infection_status: InfectionStatus = InfectionStatus.NONE
    isolation: bool = False
    has_certificate: bool = False
    registered_hospital_id: str | None = Field(default=None, max_length=64)
    treating_hospital_id: str | None = Field(default=None, max_length=64)
    referred_by: str | None = Field(
        default=None, max_length=64,
        description="the community health centre referring the patient upward (a place id)")
    flags: Flags = Field(default_factory=Flags, description="as an incident records them")
    triage: Triage | None = None
    at: AwareDatetime | None = None
    zone_status: ZoneStatus | None = Field(
        default=None, description="Pretend the point is in a zone of this status (what-if)."
    )
    rule_set_version: int | None = Field(
        default=None, ge=1, le=2_147_483_647,
        description="Evaluate with this rule set instead of the active one.",
    )



class DecideRequest(StrictIn):

    incident_id: uuid.UUID


class RoutingDecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    incident_id: uuid.UUID | None
    rule_set_version: int
    decided_at: datetime
    decided_by: str | None
    outcome: str
    destination_hospital_id: str | None
    transport_mode: str | None
    required_capabilities: list[str]
    matched_rules: list[str]
    decision: dict[str, Any]


class RuleSetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    name: str
    checksum: str
    active: bool
    created_at: datetime
    created_by: str | None
    activated_at: datetime | None
    activated_by: str | None


class RuleSetDetail(RuleSetOut):
    source: str
    rules: list[str] = Field(default_factory=list)


class RuleSetUpload(StrictIn):

    source: str = Field(min_length=1, max_length=1_000_000, description="The rule set as YAML.")


class ValidationReport(BaseModel):
    valid: bool
    name: str
    rules: list[str]

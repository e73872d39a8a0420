"""API shapes of incidents: where, who, how bad."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch.incidents.enums import InfectionStatus, PatientCategory, Severity
from dispatch.incidents.triage import Triage
from dispatch.schemas import Latitude, Longitude, StrictIn


class Location(StrictIn):
    address: str | None = Field(default=None, max_length=300)
    lat: Latitude | None = None
    lon: Longitude | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.lat is None and not self.address:
            raise ValueError("give an address or lat/lon")
        return self


class Flags(StrictIn):
    """Facts about the patient that change where and how they travel (true or false, strictly)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    isolation: bool = Field(default=False, description="under isolation or medical observation")
    has_certificate: bool = Field(default=False, description="holds the community identity certificate")
    in_labour: bool = False
    fever: bool = False
    danger_signs: bool = Field(default=False, description="e.g. breathing difficulty, low SpO2")
    needs_oxygen: bool = False
    prescription_refill: bool = False
    referred_by: str | None = Field(default=None, max_length=64,
                                    description="the community health centre referring upward")


class IncidentIn(StrictIn):
    call_id: uuid.UUID
    location: Location
    severity: Severity
    category: PatientCategory = PatientCategory.ORDINARY
    infection_status: InfectionStatus = InfectionStatus.NONE
    flags: Flags = Field(default_factory=Flags)
    complaint: str | None = Field(default=None, max_length=300)
    triage: Triage | None = None
    notes: str | None = Field(default=None, max_length=2000)
    registered_hospital_id: str | None = Field(default=None, min_length=1, max_length=64)
    treating_hospital_id: str | None = Field(default=None, min_length=1, max_length=64)


class IncidentUpdate(StrictIn):
    """A partial update: only the fields given change."""

    location: Location | None = None
    severity: Severity | None = None
    category: PatientCategory | None = None
    infection_status: InfectionStatus | None = None
    flags: Flags | None = None
    complaint: str | None = Field(default=None, max_length=300)
    triage: Triage | None = None
    notes: str | None = Field(default=None, max_length=2000)
    registered_hospital_id: str | None = Field(default=None, min_length=1, max_length=64)
    treating_hospital_id: str | None = Field(default=None, min_length=1, max_length=64)
    status: str | None = Field(default=None, pattern="^(open|closed|cancelled)$")


class LinkCallIn(StrictIn):
    call_id: uuid.UUID


class ReopenIn(StrictIn):
    reason: str = Field(min_length=1, max_length=300, description="why it is opened again")


class IncidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None = Field(default=None, description="the day's sequence, e.g. 20261207-0042")
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    status: str
    address: str | None
    lat: float | None
    lon: float | None
    severity: str
    category: str
    infection_status: str
    flags: dict[str, Any]
    complaint: str | None
    triage: dict[str, Any] | None = None
    notes: str | None
    registered_hospital_id: str | None
    treating_hospital_id: str | None
    zone_id: str | None
    zone_status: str | None
    sub_district_id: str | None
    call_ids: list[uuid.UUID] = Field(default_factory=list)
    decision: dict[str, Any] | None = Field(
        default=None, description="the latest routing decision: where and how the patient goes, and why")
    unit_id: str | None = Field(default=None, description="the unit on its latest job (lists only)")

"""API shapes of hospitals."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dispatch.hospitals.enums import Designation, HospitalCapability, HospitalStatus
from dispatch.incidents.enums import PatientCategory
from dispatch.schemas import Latitude, Longitude, StrictIn, never_null

Level = Literal["tertiary", "secondary", "primary", "specialist", "makeshift"]


class HospitalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    name_zh: str | None
    lat: float
    lon: float
    location_approximate: bool
    level: str
    capabilities: list[str]
    designations: list[str]
    status: str
    full_categories: list[str]
    status_reason: str | None
    status_changed_at: datetime | None
    phone: str | None
    notes: str | None = None


class HospitalCreate(StrictIn):

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    name_zh: str | None = Field(default=None, max_length=200)
    lat: Latitude
    lon: Longitude
    location_approximate: bool = False
    level: Level = "secondary"
    capabilities: list[HospitalCapability] = Field(default_factory=list)
    # Patient groups it is designated for (seed 000), in the order they should be listed.
    designations: list[Designation] = Field(default_factory=list)
    status: HospitalStatus = HospitalStatus.OPEN
    status_reason: str | None = Field(default=None, max_length=300)
    # Patient categories it has no room for now: ranked last for non-critical patients.
    full_categories: list[PatientCategory] = Field(default_factory=list)
    phone: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=500)


NOT_NULL = ("name", "lat", "lon", "location_approximate", "level", "capabilities",
            "designations", "status", "full_categories")
# What a hospital's own terminal may change about itself: never its status (a supervisor
# suspends and reopens it).
OWN_FIELDS = frozenset({"full_categories"})


class HospitalUpdate(StrictIn):
    """Fields to change; absent fields keep their value."""

    model_config = ConfigDict(json_schema_extra=never_null(*NOT_NULL))

    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_zh: str | None = Field(default=None, max_length=200)
    lat: Latitude | None = None
    lon: Longitude | None = None
    location_approximate: bool | None = None
    level: Level | None = None
    capabilities: list[HospitalCapability] | None = None
    designations: list[Designation] | None = None
    status: HospitalStatus | None = None
    status_reason: str | None = Field(default=None, max_length=300)
    full_categories: list[PatientCategory] | None = None
    phone: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=500)

    @field_validator(*NOT_NULL)
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value

"""API shapes of units and posts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
    position_stale: bool = False


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

"""API shapes of hospitals."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


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

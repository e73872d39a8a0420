"""API shapes of the quality indicators (definitions and sources: docs/quality.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from dispatch.calls.schemas import SloWindow


class Durations(BaseModel):
    """Nearest-rank quantiles of a set of intervals, in seconds."""

    count: int
    p50_s: float | None
    p90_s: float | None
    p95_s: float | None


class Turnout(Durations):
    within_target: int = Field(description="incidents whose first unit left within the target")
    share_within_target: float | None
    stood_down: int = Field(description="dispatched incidents no unit left for (not counted)")


class Handovers(BaseModel):
    arrived: int = Field(description="patients who arrived at a hospital")
    decided: int = Field(description="handed over, or waiting past the target at the window's end")
    within_target: int
    share_within_target: float | None
    refusals: int = Field(description="arrivals the hospital did not take over itself")
    minutes: Durations


class CommunityCare(BaseModel):
    calls_with_incident: int
    resolved: int = Field(description="calls whose incident went to community care")
    share: float | None
    by_outcome: dict[str, int]


class AreaFigures(BaseModel):
    """The chain's main figures in one sub-district."""

    sub_district_id: str | None
    incidents: int
    turnout_share_within_target: float | None
    response_p50_s: float | None
    response_p90_s: float | None


class Indicator(BaseModel):
    """One figure as the supervisor's panel shows it."""

    key: str
    value: float | None
    unit: str = Field(description="ratio or s")
    target: float | None
    comparison: str | None = Field(description="'>=' or '<=': how the value meets the target")
    holds: bool | None = Field(description="None when there is no target or no data")
    count: int = Field(description="how many calls, incidents or handovers the figure rests on")


class QualityOut(BaseModel):
    window: str = Field(description="15m, 1h, 24h or a month YYYY-MM")
    start: datetime
    end: datetime
    zone_id: str | None
    sub_district_id: str | None
    incidents: int
    dispatched: int
    cancelled: int
    answer: SloWindow
    answer_to_dispatch: Durations
    turnout: Turnout
    response: Durations
    response_by_zone_status: dict[str, Durations]
    response_by_severity: dict[str, Durations]
    on_scene: Durations
    transport: Durations
    handover: Handovers
    community_care: CommunityCare
    by_sub_district: list[AreaFigures]
    indicators: list[Indicator]


class AreaCover(BaseModel):
    sub_district_id: str
    name: str = Field(description="the sub-district's Chinese name (its English one if none)")
    name_en: str = Field(default="", description="its English name")
    population: int
    radius_km: float = Field(description="the service radius that applies: urban or rural")
    covered_share: float = Field(
        description="share of its population within the radius of an available ambulance")
    out_of_cover: bool = Field(description="less than half of its population is covered")


class CoverageOut(BaseModel):
    """Who an available ambulance can reach within the service radius right now, and the fleet's
    mix (national guidance: at least 40 % negative-pressure ambulances)."""

    at: datetime
    population: int
    covered_population: int
    covered_share: float | None
    areas: list[AreaCover]
    out_of_cover: list[str]
    ambulances: int
    negative_pressure: int
    negative_pressure_share: float | None
    available: int
    available_negative_pressure: int
    available_negative_pressure_share: float | None
    negative_pressure_target: float

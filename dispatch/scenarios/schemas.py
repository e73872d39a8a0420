"""The scenario file: zones, hospitals, posts, units and call-taker positions of one area."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dispatch.fleet.enums import UnitCapability, UnitKind
from dispatch.hospitals.enums import Designation, HospitalCapability, HospitalStatus
from dispatch.places import hours
from dispatch.places.enums import PlaceKind, PlaceService, PlaceStatus
from dispatch.places.medical_points import PEOPLE_PER_POINT
from dispatch.places.schemas import MAX_ZONE_POPULATION
from dispatch.schemas import Latitude, Longitude
from dispatch.zones.schemas import ZoneIn

Id = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
UnitId = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LatLon(Strict):
    lat: Latitude
    lon: Longitude


class SubDistrictIn(Strict):
    id: str = Id
    name: str = Field(min_length=1, max_length=100)
    name_zh: str | None = Field(default=None, max_length=100)
    population: int = Field(gt=0)
    location: LatLon
    radius_km: float = Field(default=3.0, gt=0, le=100)


class PostIn(Strict):
    id: str = Id
    name: str = Field(min_length=1, max_length=200)
    name_zh: str | None = Field(default=None, max_length=200)
    location: LatLon
    sub_districts: list[str] = Field(default_factory=list)
    crews: int = Field(default=1, ge=0, le=100)
    paired_hospital: str | None = None


class HospitalIn(Strict):
    id: str = Id
    name: str = Field(min_length=1, max_length=200)
    name_zh: str | None = Field(default=None, max_length=200)
    location: LatLon
    level: Literal["tertiary", "secondary", "primary", "specialist", "makeshift"] = "secondary"
    capabilities: list[HospitalCapability] = Field(default_factory=list)
    designations: list[Designation] = Field(default_factory=list)
    status: HospitalStatus = HospitalStatus.OPEN
    status_reason: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=500)


class UnitIn(Strict):
    id: str = UnitId
    call_sign: str = Field(min_length=1, max_length=64)
    kind: UnitKind
    capabilities: list[UnitCapability] = Field(default_factory=list)
    post: str
    crew: list[str] = Field(default_factory=list, max_length=8)


class PlaceIn(Strict):
    """A community care place; `post` places it at an ambulance post's community health centre."""

    id: str = Id
    kind: PlaceKind
    name: str = Field(min_length=1, max_length=200)
    name_zh: str | None = Field(default=None, max_length=200)
    location: LatLon | None = None
    post: str | None = Field(default=None, description="at this post (its location; a centre's pairing)")
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=32)
    hours: str | None = Field(default=None, max_length=100)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    status: PlaceStatus = PlaceStatus.OPEN
    status_reason: str | None = Field(default=None, max_length=300)
    services: list[PlaceService] = Field(default_factory=list)
    paired_hospital: str | None = None
    parent: str | None = Field(default=None, description="the community health centre running it")
    served_sub_districts: list[str] = Field(default_factory=list)
    source: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=500)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        hours.parse(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        hours.zone_info(value)
        return value

    @model_validator(mode="after")
    def _somewhere(self) -> PlaceIn:
        if self.location is None and self.post is None:
            raise ValueError("give a location or the post it is at")
        return self


ZoneKept = Literal["sealed", "controlled"]


def _sealed_only() -> list[ZoneKept]:
    return ["sealed"]


class MedicalPointsIn(Strict):
    """Size temporary medical points for the scenario's zones when it loads (003)."""

    people_per_point: int = Field(default=PEOPLE_PER_POINT, gt=0, le=1_000_000)
    zone_statuses: list[ZoneKept] = Field(default_factory=_sealed_only)
    # People living in a zone, where known; otherwise estimated from its sub-district.
    zone_population: dict[str, Annotated[int, Field(gt=0, le=MAX_ZONE_POPULATION)]] = Field(
        default_factory=dict)


class PositionIn(Strict):
    id: str = UnitId
    name: str = Field(min_length=1, max_length=100)
    name_zh: str | None = Field(default=None, min_length=1, max_length=100)
    supervisor: bool = False


class Scenario(Strict):
    name: str = Id
    title: str = Field(min_length=1, max_length=200)
    description: str | None = None
    sources: list[str] = Field(default_factory=list)
    coordinates_approximate: bool = False
    centre: LatLon
    sub_districts: list[SubDistrictIn] = Field(default_factory=list)
    posts: list[PostIn] = Field(default_factory=list)
    hospitals: list[HospitalIn] = Field(default_factory=list)
    units: list[UnitIn] = Field(default_factory=list)
    positions: list[PositionIn] = Field(default_factory=list)
    zones: list[ZoneIn] = Field(default_factory=list)
    places: list[PlaceIn] = Field(default_factory=list)
    medical_points: MedicalPointsIn | None = None

    def reference_errors(self) -> list[str]:
        """Duplicate ids and references to things the file does not define."""
        errors: list[str] = []
        for kind in ("sub_districts", "posts", "hospitals", "units", "positions", "zones", "places"):
            seen: set[str] = set()
            for index, item in enumerate(getattr(self, kind)):
                if item.id in seen:
                    errors.append(f"{kind}[{index}].id: duplicate id {item.id!r}")
                seen.add(item.id)
        sub_districts = {s.id for s in self.sub_districts}
        posts = {p.id for p in self.posts}
        hospitals = {h.id for h in self.hospitals}
        for i, post in enumerate(self.posts):
            for sd in post.sub_districts:
                if sd not in sub_districts:
                    errors.append(f"posts[{i}] ({post.id}).sub_districts: unknown sub-district {sd!r}")
            if post.paired_hospital and post.paired_hospital not in hospitals:
                errors.append(
                    f"posts[{i}] ({post.id}).paired_hospital: unknown hospital {post.paired_hospital!r}"
                )
        for i, unit in enumerate(self.units):
            if unit.post not in posts:
                errors.append(f"units[{i}] ({unit.id}).post: unknown post {unit.post!r}")
        for i, zone in enumerate(self.zones):
            if zone.sub_district and zone.sub_district not in sub_districts:
                errors.append(
                    f"zones[{i}] ({zone.id}).sub_district: unknown sub-district {zone.sub_district!r}"
                )
            if zone.valid_to and zone.valid_to <= zone.valid_from:
                errors.append(f"zones[{i}] ({zone.id}).valid_to: must be after valid_from")
        return errors + self._place_errors(sub_districts, posts, hospitals)

    def _place_errors(self, sub_districts: set[str], posts: set[str], hospitals: set[str]) -> list[str]:
        errors: list[str] = []
        centres = {p.id for p in self.places if p.kind == PlaceKind.COMMUNITY_HEALTH_CENTRE}
        for i, place in enumerate(self.places):
            where = f"places[{i}] ({place.id})"
            if place.post and place.post not in posts:
                errors.append(f"{where}.post: unknown post {place.post!r}")
            if place.paired_hospital and place.paired_hospital not in hospitals:
                errors.append(f"{where}.paired_hospital: unknown hospital {place.paired_hospital!r}")
            if place.parent and place.parent not in centres:
                errors.append(f"{where}.parent: no community health centre {place.parent!r}")
            errors += [f"{where}.served_sub_districts: unknown sub-district {sd!r}"
                       for sd in place.served_sub_districts if sd not in sub_districts]
        zones = {z.id for z in self.zones}
        if self.medical_points is not None:
            errors += [f"medical_points.zone_population.{z}: unknown zone"
                       for z in self.medical_points.zone_population if z not in zones]
        return errors


class ScenarioSummary(BaseModel):
    name: str
    title: str
    sub_districts: int
    posts: int
    hospitals: int
    units: int
    positions: int
    zones: int
    places: int = 0
    medical_points: int = 0

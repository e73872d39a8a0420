"""An immutable picture of every community care place, as routing reads it; pure (no I/O)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from dispatch.hospitals.snapshot import EARTH_RADIUS_KM, HospitalSnapshot, HospitalView
from dispatch.places import hours as hours_mod
from dispatch.places.enums import PlaceStatus

if TYPE_CHECKING:  # only the type: building a view needs no ORM
    from dispatch.places.models import Place

# The version counter every instance follows (see dispatch/versions.py).
PLACES = "places"
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
# Hospital fever clinics are open around the clock (001 二(一)1: 24小时接诊, 应开尽开).
HOSPITAL_FEVER_CLINIC_HOURS = "24h"


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def compass(degrees: float) -> str:
    return COMPASS[round(degrees / 45.0) % 8]


@dataclass(frozen=True, slots=True)
class Area:
    """A sub-district a family-doctor team serves, as a circle."""

    sub_district_id: str
    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class PlaceView:
    id: str
    kind: str
    name: str
    name_zh: str | None
    lat: float
    lon: float
    location_approximate: bool = True
    address: str | None = None
    phone: str | None = None
    hours_text: str | None = None
    hours: hours_mod.Hours = hours_mod.UNKNOWN
    timezone: str = "Asia/Shanghai"
    status: str = PlaceStatus.OPEN
    services: frozenset[str] = frozenset()
    paired_hospital_id: str | None = None
    served_zone_id: str | None = None
    areas: tuple[Area, ...] = ()
    unit_id: str | None = None
    hospital_id: str | None = None  # a hospital's fever clinic, standing in as a place

    def open_at(self, at: datetime) -> bool:
        return self.status == PlaceStatus.OPEN and hours_mod.open_at(self.hours, self.timezone, at)

    def serves(self, lat: float, lon: float, zone_ids: tuple[str, ...]) -> str | None:
        """What of the patient's this place serves (their zone or sub-district), if anything."""
        if self.served_zone_id is not None and self.served_zone_id in zone_ids:
            return f"zone {self.served_zone_id}"
        for area in self.areas:
            if km(lat, lon, area.lat, area.lon) <= area.radius_km:
                return f"sub-district {area.sub_district_id}"
        return None

    @classmethod
    def of(cls, place: Place, areas: dict[str, Area]) -> PlaceView:
        return cls(
            id=place.id, kind=place.kind, name=place.name, name_zh=place.name_zh, lat=place.lat,
            lon=place.lon, location_approximate=place.location_approximate, address=place.address,
            phone=place.phone, hours_text=place.hours, hours=hours_mod.parse(place.hours),
            timezone=place.timezone, status=place.status, services=frozenset(place.services),
            paired_hospital_id=place.paired_hospital_id, served_zone_id=place.served_zone_id,
            areas=tuple(areas[s] for s in place.served_sub_district_ids if s in areas),
            unit_id=place.unit_id,
        )

    @classmethod
    def of_hospital(cls, hospital: HospitalView) -> PlaceView:
        return cls(
            id=f"hospital:{hospital.id}", kind="fever_clinic", name=hospital.name,
            name_zh=hospital.name_zh, lat=hospital.lat, lon=hospital.lon,
            phone=hospital.phone, hours_text=HOSPITAL_FEVER_CLINIC_HOURS,
            hours=hours_mod.parse(HOSPITAL_FEVER_CLINIC_HOURS),
            status=PlaceStatus.OPEN if hospital.open else PlaceStatus.CLOSED,
            hospital_id=hospital.id,
        )


@dataclass(frozen=True, slots=True)
class Found:
    """The place chosen for a patient, how far and which way, and why: what of the patient's
    it serves (`zone z1`, `sub-district zhangba`; None: the nearest open one) and the closer
    places passed over as closed or out of hours."""

    place: PlaceView
    distance_km: float
    bearing_deg: float
    serving: str | None
    closed_closer: tuple[PlaceView, ...] = ()


@dataclass
class PlaceSnapshot:
    places: tuple[PlaceView, ...]
    by_id: dict[str, PlaceView] = field(init=False)
    by_kind: dict[str, tuple[PlaceView, ...]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {p.id: p for p in self.places}
        kinds: dict[str, list[PlaceView]] = {}
        for p in self.places:
            kinds.setdefault(p.kind, []).append(p)
        self.by_kind = {k: tuple(v) for k, v in kinds.items()}

    @classmethod
    def build(cls, places: Iterable[PlaceView]) -> PlaceSnapshot:
        return cls(places=tuple(sorted(places, key=lambda p: p.id)))

    def find(
        self, kind: str, *, lat: float, lon: float, at: datetime, zone_ids: tuple[str, ...] = (),
        offering: frozenset[str] = frozenset(), hospitals: HospitalSnapshot | None = None,
        hospitals_with: frozenset[str] = frozenset(), serving_only: bool = False,
    ) -> Found | None:
        """The open place of `kind` serving the patient's zone or area, else the nearest open one.

        With `hospitals_with`, open hospitals having those capabilities count as places of
        `kind` too (a hospital's fever clinic, 001 二(一)1); with `serving_only`, only a place
        serving the patient's zone or area will do.
        """
        pool = [p for p in self.by_kind.get(kind, ()) if offering <= p.services]
        if hospitals is not None and hospitals_with:
            pool += [PlaceView.of_hospital(h) for h in hospitals.hospitals
                     if hospitals_with <= h.capabilities]
        ranked = sorted(((km(lat, lon, p.lat, p.lon), p) for p in pool), key=lambda dp: (dp[0], dp[1].id))
        chosen: tuple[float, PlaceView, str | None] | None = None
        for distance, place in ranked:
            if not place.open_at(at):
                continue
            serving = place.serves(lat, lon, zone_ids)
            if serving is not None:
                chosen = (distance, place, serving)
                break
            if chosen is None and not serving_only:
                chosen = (distance, place, None)
        if chosen is None:
            return None
        distance, place, serving = chosen
        skipped = tuple(p for d, p in ranked if d < distance and not p.open_at(at))
        return Found(place=place, distance_km=round(distance, 2),
                     bearing_deg=round(bearing(lat, lon, place.lat, place.lon), 1), serving=serving,
                     closed_closer=skipped[:3])


EMPTY = PlaceSnapshot.build(())

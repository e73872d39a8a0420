"""Point-in-zone lookup over an STRtree; pure (no I/O, the time is passed in)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict
from shapely.geometry import shape

from dispatch.travel import haversine_km
from dispatch.zones.enums import ZONE_STRICTNESS, ZoneStatus


class ZoneMatch(BaseModel):
    """The zone in force at a point and time (status `normal` and no id when none is)."""

    model_config = ConfigDict(frozen=True)

    id: str | None = None
    name: str | None = None
    name_zh: str | None = None
    status: ZoneStatus = ZoneStatus.NORMAL
    sub_district: str | None = None
    community: str | None = None
    # Every zone in force at the point, strictest first (the first one decides).
    overlapping: tuple[str, ...] = ()


NO_ZONE = ZoneMatch()


@dataclass(frozen=True, slots=True)
class IndexedZone:
    id: str
    name: str
    status: ZoneStatus
    sub_district: str | None
    community: str | None
    valid_from: datetime
    valid_to: datetime | None
    geometry: dict[str, Any]
    name_zh: str | None = None

    def in_force(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    def order(self) -> tuple[int, float, str]:
        # Strictest status first; among equals the most recently started, then by id.
        return ZONE_STRICTNESS[self.status], -self.valid_from.timestamp(), self.id


@dataclass(frozen=True, slots=True)
class SubDistrictDisc:
    """A sub-district as the scenario gives it: a centre and a radius."""

    id: str
    lat: float
    lon: float
    radius_km: float


class ZoneIndex:
    """Zones (in force or not) indexed by their bounding boxes, and the sub-districts."""

    def __init__(self, zones: Iterable[IndexedZone],
                 sub_districts: Iterable[SubDistrictDisc] = ()) -> None:
        self.zones = list(zones)
        self.sub_districts = list(sub_districts)
        self._geoms = np.array([shape(z.geometry) for z in self.zones], dtype=object)
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)

    def __len__(self) -> int:
        return len(self.zones)

    def lookup(self, lat: float, lon: float, at: datetime) -> ZoneMatch:
        """The strictest zone in force at (lat, lon) at `at`; boundaries count as inside."""
        if not self.zones:
            return NO_ZONE
        candidates = self._tree.query(shapely.Point(lon, lat))
        if len(candidates) == 0:
            return NO_ZONE
        inside = candidates[shapely.intersects_xy(self._geoms[candidates], lon, lat)]
        hits = [z for z in (self.zones[i] for i in inside) if z.in_force(at)]
        if not hits:
            return NO_ZONE
        hits.sort(key=IndexedZone.order)
        top = hits[0]
        return ZoneMatch.model_construct(  # from validated zones: no need to validate again
            id=top.id, name=top.name, name_zh=top.name_zh, status=top.status,
            sub_district=top.sub_district,
            community=top.community, overlapping=tuple(z.id for z in hits),
        )

    def sub_district(self, lat: float, lon: float, zone: ZoneMatch = NO_ZONE) -> str | None:
        """The sub-district of (lat, lon): the one its zone names, else the one whose disc holds
        the point (the nearest centre when discs overlap); None outside every sub-district."""
        if zone.sub_district is not None:
            return zone.sub_district
        best: tuple[float, str] | None = None
        for area in self.sub_districts:
            distance = haversine_km(lat, lon, area.lat, area.lon)
            if distance <= area.radius_km and (best is None or (distance, area.id) < best):
                best = (distance, area.id)
        return None if best is None else best[1]

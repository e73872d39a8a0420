"""An immutable picture of every hospital, as routing reads it; pure (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from dispatch.hospitals.enums import HospitalStatus

if TYPE_CHECKING:  # only the type: building a view needs no ORM
    from dispatch.hospitals.models import Hospital

EARTH_RADIUS_KM = 6371.0088
Indices = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class HospitalView:
    id: str
    name: str
    name_zh: str | None
    lat: float
    lon: float
    level: str
    capabilities: frozenset[str]
    designations: tuple[str, ...]
    status: str
    full_categories: frozenset[str] = frozenset()
    phone: str | None = None

    @property
    def open(self) -> bool:
        return self.status == HospitalStatus.OPEN

    def full_for(self, category: str) -> bool:
        return category in self.full_categories

    @classmethod
    def of(cls, hospital: Hospital) -> HospitalView:
        return cls(
            id=hospital.id, name=hospital.name, name_zh=hospital.name_zh, lat=hospital.lat,
            lon=hospital.lon, level=hospital.level, capabilities=frozenset(hospital.capabilities),
            designations=tuple(hospital.designations), status=hospital.status,
            full_categories=frozenset(hospital.full_categories), phone=hospital.phone,
        )


@dataclass
class HospitalSnapshot:
    """Hospitals by position, id, designation and capability (queries memoised per snapshot)."""

    hospitals: tuple[HospitalView, ...]
    index_of: dict[str, int] = field(init=False)
    by_id: dict[str, HospitalView] = field(init=False)
    by_designation: dict[str, tuple[HospitalView, ...]] = field(init=False)
    _lat: npt.NDArray[np.float64] = field(init=False, repr=False)
    _lon: npt.NDArray[np.float64] = field(init=False, repr=False)
    _cos: npt.NDArray[np.float64] = field(init=False, repr=False)
    _queries: dict[object, Indices] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.index_of = {h.id: i for i, h in enumerate(self.hospitals)}
        self.by_id = {h.id: h for h in self.hospitals}
        groups: dict[str, list[HospitalView]] = {}
        for h in self.hospitals:
            for d in h.designations:
                groups.setdefault(d, []).append(h)
        self.by_designation = {d: tuple(hs) for d, hs in groups.items()}
        self._lat = np.radians(np.array([h.lat for h in self.hospitals], dtype=np.float64))
        self._lon = np.radians(np.array([h.lon for h in self.hospitals], dtype=np.float64))
        self._cos = np.cos(self._lat)

    @classmethod
    def build(cls, hospitals: Iterable[HospitalView]) -> HospitalSnapshot:
        return cls(hospitals=tuple(sorted(hospitals, key=lambda h: h.id)))

    def distances_km(self, lat: float, lon: float) -> npt.NDArray[np.float64]:
        """Great-circle (haversine) distance from a point to every hospital, in snapshot order."""
        lat_r, lon_r = np.radians(lat), np.radians(lon)
        a = (np.sin((self._lat - lat_r) / 2) ** 2
             + np.cos(lat_r) * self._cos * np.sin((self._lon - lon_r) / 2) ** 2)
        result: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))
        return result

    def with_capabilities(
        self, required: frozenset[str], exclude: frozenset[str] = frozenset()
    ) -> Indices:
        """Positions of hospitals (open or not) with every `required` capability, none of `exclude`."""
        key = ("caps", required, exclude)
        found = self._queries.get(key)
        if found is None:
            found = self._queries[key] = np.array(
                [i for i, h in enumerate(self.hospitals)
                 if required <= h.capabilities and not (exclude & h.capabilities)], dtype=np.intp)
        return found

    def designated(self, group: str) -> Indices:
        """Positions of hospitals designated for `group` (open or not)."""
        key = ("designated", group)
        found = self._queries.get(key)
        if found is None:
            found = self._queries[key] = np.array(
                [i for i, h in enumerate(self.hospitals) if group in h.designations], dtype=np.intp)
        return found

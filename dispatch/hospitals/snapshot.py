"""An immutable picture of every hospital, as routing reads it; pure (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dispatch.hospitals.models import Hospital, HospitalStatus


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
            full_categories=frozenset(hospital.full_categories),
        )


@dataclass
class HospitalSnapshot:
    """Hospitals by id, by designation and by capability (memoised per query)."""

    hospitals: tuple[HospitalView, ...]
    by_id: dict[str, HospitalView] = field(init=False)
    by_designation: dict[str, tuple[HospitalView, ...]] = field(init=False)
    _with: dict[tuple[frozenset[str], frozenset[str]], tuple[HospitalView, ...]] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self.by_id = {h.id: h for h in self.hospitals}
        groups: dict[str, list[HospitalView]] = {}
        for h in self.hospitals:
            for d in h.designations:
                groups.setdefault(d, []).append(h)
        self.by_designation = {d: tuple(hs) for d, hs in groups.items()}

    @classmethod
    def build(cls, hospitals: Iterable[HospitalView]) -> HospitalSnapshot:
        return cls(hospitals=tuple(sorted(hospitals, key=lambda h: h.id)))

    def with_capabilities(
        self, required: frozenset[str], exclude: frozenset[str] = frozenset()
    ) -> tuple[HospitalView, ...]:
        """Hospitals (open or not) having every `required` capability and none of `exclude`."""
        key = (required, exclude)
        found = self._with.get(key)
        if found is None:
            found = self._with[key] = tuple(
                h for h in self.hospitals
                if required <= h.capabilities and not (exclude & h.capabilities)
            )
        return found

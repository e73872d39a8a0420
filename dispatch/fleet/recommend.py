"""Which units may go to a patient, ranked by estimated time of arrival, and why others may not."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from dispatch.fleet.models import UnitStatus
from dispatch.fleet.travel import Origin, TravelModel

MAX_EXCLUDED_LISTED = 50


@dataclass(frozen=True, slots=True)
class Candidate:
    unit_id: str
    call_sign: str
    kind: str
    capabilities: list[str]
    post_id: str | None
    eta_seconds: float
    distance_km: float
    position_stale: bool


@dataclass(frozen=True, slots=True)
class Excluded:
    unit_id: str
    call_sign: str
    reason: str


@dataclass(slots=True)
class Recommendation:
    candidates: list[Candidate]
    excluded: list[Excluded]
    excluded_counts: dict[str, int]
    required_capabilities: list[str]
    travel_source: str
    warnings: list[str]


def exclusion(row: dict[str, str], required: Collection[str], skip: Collection[str]) -> str | None:
    """Why a unit cannot be recommended, or None when it can."""
    if row["id"] in skip:
        return "declined or did not acknowledge this incident"
    if row.get("active") != "1":
        return "not in service"
    if row["status"] != UnitStatus.AVAILABLE:
        return f"status {row['status']}"
    caps = set(filter(None, row.get("caps", "").split(",")))
    missing = [c for c in required if c not in caps]
    if missing:
        return "lacks " + ", ".join(missing)
    if not row.get("lat") or not row.get("lon"):
        return "position unknown"
    return None


async def recommend(
    rows: Sequence[dict[str, str]], *, lat: float, lon: float, required: Sequence[str],
    travel: TravelModel, now_ms: int, stale_after_ms: int, skip: Collection[str] = (),
    limit: int = 5,
) -> Recommendation:
    """Rank the units that satisfy `required` and are available by ETA to (lat, lon)."""
    origins: list[Origin] = []
    by_id: dict[str, dict[str, str]] = {}
    excluded: list[Excluded] = []
    counts: dict[str, int] = {}
    for row in rows:
        reason = exclusion(row, required, skip)
        if reason is None:
            origins.append(Origin(row["id"], row["kind"], float(row["lat"]), float(row["lon"])))
            by_id[row["id"]] = row
            continue
        key = reason.split(" ", 1)[0] if reason.startswith("status") else reason
        counts[key] = counts.get(key, 0) + 1
        excluded.append(Excluded(row["id"], row.get("call_sign", row["id"]), reason))
    estimates = await travel.estimate(origins, lat, lon)
    candidates = []
    for origin in origins:
        row, estimate = by_id[origin.unit_id], estimates.by_unit[origin.unit_id]
        pos_at = int(row["pos_at"]) if row.get("pos_at") else None
        candidates.append(Candidate(
            unit_id=origin.unit_id, call_sign=row.get("call_sign", origin.unit_id),
            kind=origin.kind, capabilities=list(filter(None, row.get("caps", "").split(","))),
            post_id=row.get("post") or None, eta_seconds=round(estimate.seconds, 1),
            distance_km=round(estimate.distance_km, 2),
            position_stale=pos_at is None or now_ms - pos_at > stale_after_ms,
        ))
    candidates.sort(key=lambda c: (c.eta_seconds, c.unit_id))
    excluded.sort(key=lambda e: e.unit_id)
    warnings = list(estimates.warnings)
    if not candidates:
        warnings.append("no unit can go: " + (", ".join(f"{n} {why}" for why, n in sorted(counts.items()))
                                              or "the fleet is empty"))
    return Recommendation(
        candidates=candidates[:limit], excluded=excluded[:MAX_EXCLUDED_LISTED],
        excluded_counts=counts, required_capabilities=list(required),
        travel_source=estimates.source, warnings=warnings,
    )

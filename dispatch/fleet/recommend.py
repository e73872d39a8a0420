"""Which units may go to a patient, ranked by estimated time of arrival, and why others may not."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from dispatch.fleet.livestate import FleetLive
from dispatch.travel import Origin, Osrm, StraightLine, TravelModel

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
    considered: int  # units looked at, nearest first
    fleet_size: int


async def recommend(
    fleet: FleetLive, *, lat: float, lon: float, required: Sequence[str], travel: TravelModel,
    now_ms: int, stale_after_ms: int, skip: Collection[str] = (), limit: int = 5,
) -> Recommendation:
    """Rank the available units having `required` by ETA to (lat, lon).

    Redis ranks by straight-line ETA in one script, looking at units nearest first until no
    farther one could arrive sooner; with a routing server the nearest few are ranked again by
    road time. Excluded units are listed nearest first: why not the closer one?
    """
    router = travel if isinstance(travel, Osrm) else None
    straight = router.fallback if router else travel
    assert isinstance(straight, StraightLine)
    ranked = await fleet.rank(
        lat, lon, required=required, skip=skip,
        limit=max(limit, router.max_origins) if router else limit,
        road_factor=straight.road_factor, speeds=straight.speeds_kmh,
        default_speed=straight.default_speed_kmh, listed=MAX_EXCLUDED_LISTED)
    rows = {r[0]: r for r in ranked.candidates}
    eta = {r[0]: (float(r[8]), float(r[9])) for r in ranked.candidates}
    warnings: list[str] = []
    source = "straight_line"
    if router is not None and rows:
        routed = await router.estimate(
            [Origin(r[0], r[2], float(r[6]), float(r[7])) for r in ranked.candidates], lat, lon)
        eta = {u: (e.distance_km, e.seconds) for u, e in routed.by_unit.items()}
        source, warnings = routed.source, list(routed.warnings)
    order = sorted(rows, key=lambda u: (eta[u][1], u))[:limit]
    candidates = []
    for unit_id in order:
        _, call_sign, kind, caps, post, pos_at, *_ = rows[unit_id]
        candidates.append(Candidate(
            unit_id=unit_id, call_sign=call_sign, kind=kind,
            capabilities=[c for c in caps.split(",") if c], post_id=post or None,
            eta_seconds=round(eta[unit_id][1], 1), distance_km=round(eta[unit_id][0], 2),
            position_stale=bool(pos_at) and now_ms - int(pos_at) > stale_after_ms,
        ))
    if not candidates:
        warnings.append("no unit can go: " + (", ".join(
            f"{n} {why}" for why, n in sorted(ranked.counts.items())) or "the fleet is empty"))
    return Recommendation(
        candidates=candidates, excluded=[Excluded(*e) for e in ranked.excluded],
        excluded_counts=ranked.counts, required_capabilities=list(required),
        travel_source=source, warnings=warnings, considered=ranked.considered,
        fleet_size=ranked.fleet,
    )

"""A scenario matching a stream's area: its extent, its areas and the units that served it.

What the stream does not say is made up and marked so: sub-district populations are in
proportion to their calls, hospitals sit at the centres of the busiest areas and can take every
kind of patient, and posts sit at the centre of the area each unit served most.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from statistics import median
from typing import Any

from dispatch.replay.stream import CallStream
from dispatch.scenarios.schemas import Scenario

HOSPITAL_CAPABILITIES = ["emergency", "icu", "obstetrics", "neonatal", "paediatrics", "dialysis",
                         "oncology", "fever_clinic", "designated_infectious", "yellow_code",
                         "trauma", "stroke", "chest_pain"]
DESIGNATIONS = ["guarantee", "pregnant", "newborn", "dialysis", "cancer"]
PEOPLE_PER_CALL = 1000
PEOPLE_PER_AMBULANCE = 10_000  # seed 004's county standard
MIN_HOSPITAL_SPACING_KM = 2.0


def slug(text: str) -> str:
    """An id for an area name; a name without Latin letters (新城区) by its digest."""
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not value and text.strip():
        value = "area-" + hashlib.sha256(text.strip().encode()).hexdigest()[:10]
    return (value or "area")[:56]


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance; plenty for a city."""
    lat = math.radians((a[0] + b[0]) / 2)
    dx = math.radians(b[1] - a[1]) * math.cos(lat)
    dy = math.radians(b[0] - a[0])
    return 6371.0 * math.hypot(dx, dy)


def _areas(stream: CallStream) -> dict[str, list[tuple[float, float]]]:
    points: dict[str, list[tuple[float, float]]] = {}
    for call in stream.calls:
        if call.location is not None:
            key = slug(call.area) if call.area else "unnamed"
            points.setdefault(key, []).append((call.location.lat, call.location.lon))
    return points


def area_of(call_area: str | None) -> str:
    return slug(call_area) if call_area else "unnamed"


def fleet_size(stream: CallStream) -> int:
    """Ambulances for the stream's area: one per 10,000 of its (call-proportional) people."""
    people = sum(len(group) for group in _areas(stream).values()) * PEOPLE_PER_CALL
    return max(2, math.ceil(people / PEOPLE_PER_AMBULANCE))


def build_scenario(stream: CallStream, *, positions: int, name: str = "replay",
                   hospitals: int = 6, fleet: int | None = None) -> dict[str, Any]:
    """Scenario data (validated) for replaying `stream` with `positions` call-taker positions.

    A stream without units gets `fleet` ambulances (default `fleet_size`), spread over posts
    at the busiest areas."""
    points = _areas(stream)
    if not points:
        raise ValueError("the stream has no call with a location: give a scenario instead")
    every = [p for group in points.values() for p in group]
    centre = (median(p[0] for p in every), median(p[1] for p in every))
    labels = {area_of(c.area): c.area or "Unnamed" for c in stream.calls}
    centroids = {k: (sum(p[0] for p in v) / len(v), sum(p[1] for p in v) / len(v))
                 for k, v in points.items()}
    sub_districts = []
    for key, group in sorted(points.items()):
        spread = sorted(km(centroids[key], p) for p in group)
        radius = spread[int(0.9 * (len(spread) - 1))]
        sub_districts.append({
            "id": key, "name": labels.get(key, key)[:100], "population": len(group) * PEOPLE_PER_CALL,
            "location": {"lat": centroids[key][0], "lon": centroids[key][1]},
            "radius_km": round(min(max(radius, 0.5), 100.0), 2),
        })
    homes: dict[str, Counter[str]] = {}
    kinds: dict[str, bool] = {}
    for call in stream.calls:
        for unit in call.units:
            homes.setdefault(unit.id, Counter())[area_of(call.area)] += 1
            kinds[unit.id] = kinds.get(unit.id, False) or unit.als
    if not homes:  # a stream without units: a fleet spread over the busiest areas
        busiest = [k for k, _ in Counter({k: len(v) for k, v in points.items()}).most_common()]
        homes = {f"U{i:03d}": Counter({busiest[i % len(busiest)]: 1})
                 for i in range(fleet or fleet_size(stream))}
        kinds = dict.fromkeys(homes, True)  # a 120 ambulance carries a doctor: advanced life support
    unit_home = {u: c.most_common(1)[0][0] for u, c in homes.items()}
    unit_home = {u: (a if a in centroids else next(iter(centroids))) for u, a in unit_home.items()}
    crews = Counter(unit_home.values())
    posts = [{"id": f"post-{area}"[:64], "name": f"Post {labels.get(area, area)}"[:200],
              "location": {"lat": centroids[area][0], "lon": centroids[area][1]},
              "sub_districts": [area], "crews": count}
             for area, count in sorted(crews.items())]
    units = []
    for index, (unit_id, area) in enumerate(sorted(unit_home.items())):
        negative = index % 10 == 0
        caps = ["ambulance", "negative_pressure"] if negative else ["ambulance"]
        if kinds.get(unit_id):
            caps.append("als")
        units.append({"id": re.sub(r"[^A-Za-z0-9_.-]", "-", unit_id)[:32],
                      "call_sign": f"Unit {unit_id}"[:64],
                      "kind": "negative_pressure_ambulance" if negative else "ambulance",
                      "capabilities": caps, "post": f"post-{area}"[:64]})
    data: dict[str, Any] = {
        "name": slug(name)[:64], "title": f"Replay of {stream.header.name}"[:200],
        "description": "Built from the call stream's own extent and units; populations and "
                       "hospitals are synthetic.",
        "sources": [stream.header.source or stream.header.name],
        "coordinates_approximate": True,
        "centre": {"lat": centre[0], "lon": centre[1]},
        "sub_districts": sub_districts, "posts": posts,
        "hospitals": synthetic_hospitals(points, centroids, hospitals),
        "units": units,
        "positions": [{"id": f"P{i:03d}", "name": f"Replay position {i}"} for i in range(positions)],
    }
    scenario = Scenario.model_validate(data)
    problems = scenario.reference_errors()
    if problems:
        raise ValueError("; ".join(problems))
    return data


def synthetic_hospitals(points: dict[str, list[tuple[float, float]]],
                        centroids: dict[str, tuple[float, float]], count: int) -> list[dict[str, Any]]:
    """Hospitals at the centres of the busiest areas, at least a little apart."""
    chosen: list[tuple[float, float]] = []
    for area in sorted(points, key=lambda k: -len(points[k])):
        spot = centroids[area]
        if all(km(spot, other) >= MIN_HOSPITAL_SPACING_KM for other in chosen):
            chosen.append(spot)
        if len(chosen) == count:
            break
    return [{"id": f"replay-hospital-{i + 1}", "name": f"Replay hospital {i + 1} (synthetic)",
             "location": {"lat": lat, "lon": lon}, "level": "tertiary",
             "capabilities": HOSPITAL_CAPABILITIES, "designations": DESIGNATIONS}
            for i, (lat, lon) in enumerate(chosen)]

"""Build the console's street base map (static/vendor/osm-xian/streets.geojson).

The source is OpenStreetMap road data for Xi'an as the public xian3d project stores it
(public/data/roads.json: per road its class index `c`, name `n` and points `p` in metres east and
south of the Bell Tower, on its local Mercator plane), either that whole file or lines
`class|name|x,z,x,z,...` taken from it. The output keeps motorways to tertiary roads inside the
demo area, simplified to a few metres, as GeoJSON in longitude and latitude, under the ODbL.

    python -m dispatch.scenarios.streets SOURCE [SOURCE ...] > static/vendor/osm-xian/streets.geojson

The lines the bundled file was built from are static/vendor/osm-xian/roads.txt.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CLASSES = ["motorway", "trunk", "primary", "secondary", "tertiary", "residential", "service",
           "unclassified", "motorway_link", "trunk_link", "primary_link", "secondary_link",
           "pedestrian", "footway"]
KEEP = {"motorway", "trunk", "primary", "secondary", "tertiary"}
# The xian3d plane: Web Mercator scaled by cos(latitude) at its origin, the Bell Tower.
ORIGIN_LAT, ORIGIN_LON, EARTH = 34.2610119, 108.9423419, 6378137.0
SCALE = math.cos(math.radians(ORIGIN_LAT))
ORIGIN_X = EARTH * math.radians(ORIGIN_LON)
ORIGIN_Y = EARTH * math.log(math.tan(math.pi / 4 + math.radians(ORIGIN_LAT) / 2))
# Demo area (west, south, east, north): the High-tech Zone's posts and the city's hospitals.
AREA = (108.42, 34.00, 109.06, 34.36)
TOLERANCE_M = 6.0
ATTRIBUTION = ('Streets: <a href="https://www.openstreetmap.org/copyright">'
               '© OpenStreetMap contributors</a> (ODbL)')


def to_lonlat(x: float, z: float) -> tuple[float, float]:
    """A point of the plane (metres east, metres south) as longitude and latitude."""
    mx, my = x / SCALE + ORIGIN_X, -z / SCALE + ORIGIN_Y
    return math.degrees(mx / EARTH), math.degrees(2 * math.atan(math.exp(my / EARTH)) - math.pi / 2)


def simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker on plane points (metres)."""
    if len(points) < 3:
        return points
    (ax, ay), (bx, by) = points[0], points[-1]
    length = math.hypot(bx - ax, by - ay)
    worst, index = 0.0, 0
    for i, (px, py) in enumerate(points[1:-1], start=1):
        if length == 0:
            distance = math.hypot(px - ax, py - ay)
        else:
            distance = abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length
        if distance > worst:
            worst, index = distance, i
    if worst <= tolerance:
        return [points[0], points[-1]]
    return simplify(points[: index + 1], tolerance)[:-1] + simplify(points[index:], tolerance)


def roads(path: Path) -> Iterator[tuple[str, str, list[tuple[float, float]]]]:
    """(class, name, plane points) of each road in a source file."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        classes = data.get("classes", CLASSES)
        for road in data["features"]:
            flat = road["p"]
            yield classes[road["c"]], road.get("n", ""), list(zip(flat[::2], flat[1::2], strict=True))
        return
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, name, flat_text = line.split("|")
        flat = [float(v) for v in flat_text.split(",")]
        yield CLASSES[int(kind)], name.strip(), list(zip(flat[::2], flat[1::2], strict=True))


def inside(lon: float, lat: float) -> bool:
    west, south, east, north = AREA
    return west <= lon <= east and south <= lat <= north


def build(paths: list[Path]) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for path in paths:
        for kind, name, points in roads(path):
            if kind not in KEEP or len(points) < 2:
                continue
            key = (kind, name, tuple(points))
            if key in seen:
                continue
            seen.add(key)
            line = [to_lonlat(x, z) for x, z in simplify(points, TOLERANCE_M)]
            if not any(inside(lon, lat) for lon, lat in line):
                continue
            features.append({
                "type": "Feature",
                "properties": {"class": kind, **({"name": name} if name else {})},
                "geometry": {"type": "LineString",
                             "coordinates": [[round(lon, 5), round(lat, 5)] for lon, lat in line]},
            })
    order = {kind: i for i, kind in enumerate(CLASSES)}
    features.sort(key=lambda f: (order[f["properties"]["class"]], f["properties"].get("name", "")))
    return {"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": features}


def main() -> None:
    collection = build([Path(arg) for arg in sys.argv[1:]])
    json.dump(collection, sys.stdout, ensure_ascii=False, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

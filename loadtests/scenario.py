"""A benchmark scenario: many call-taker positions and units around one city centre."""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from loadtests.common import ROOT, hub_env


def bench_scenario(*, positions: int = 60, units: int = 60, centre: tuple[float, float] = (34.2, 108.9),
                   name: str = "bench-city") -> dict[str, Any]:
    lat0, lon0 = centre
    posts = []
    for i in range(10):
        angle = 2 * math.pi * i / 10
        posts.append({
            "id": f"post-{i}", "name": f"Post {i}",
            "location": {"lat": lat0 + 0.05 * math.sin(angle), "lon": lon0 + 0.06 * math.cos(angle)},
            "sub_districts": ["centre"], "crews": max(1, units // 10),
        })
    return {
        "name": name, "title": "Benchmark city", "coordinates_approximate": True,
        "centre": {"lat": lat0, "lon": lon0},
        "sub_districts": [{"id": "centre", "name": "Centre", "population": 1_000_000,
                           "location": {"lat": lat0, "lon": lon0}, "radius_km": 10}],
        "posts": posts,
        "hospitals": [
            {"id": f"h{i}", "name": f"Hospital {i}",
             "location": {"lat": lat0 + 0.03 * math.cos(i), "lon": lon0 + 0.03 * math.sin(i)},
             "level": "tertiary",
             "capabilities": ["emergency", "icu", "obstetrics", "neonatal", "paediatrics", "dialysis",
                              "oncology", "fever_clinic", "designated_infectious", "yellow_code"],
             "designations": ["guarantee", "pregnant", "newborn", "dialysis", "cancer"]}
            for i in range(6)
        ],
        "units": [
            {"id": f"U{i:03d}", "call_sign": f"Unit {i}",
             "kind": "negative_pressure_ambulance" if i % 5 == 0 else "ambulance",
             "capabilities": ["ambulance", "negative_pressure"] if i % 5 == 0 else ["ambulance", "als"],
             "post": f"post-{i % 10}"}
            for i in range(units)
        ],
        "positions": [{"id": f"P{i:03d}", "name": f"Position {i}"} for i in range(positions)],
    }


def load_bench_scenario(**kwargs: Any) -> dict[str, Any]:
    """Write the scenario to a file and load it into the benchmark database and Redis."""
    data = bench_scenario(**kwargs)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        subprocess.run([sys.executable, "-m", "dispatch.cli", "scenario", "load", str(path)],
                       env=hub_env(), cwd=ROOT, check=True, capture_output=True)
    return data

"""The routing benchmark runs and writes its figures (a small run; the real one is 20,000)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests import bench_routing


def test_benchmark_writes_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "routing.json"
    bench_routing.main(["--iterations", "300", "--zones", "200", "--hospitals", "50", "--paced", "5",
                        "--out", str(out)])
    printed = capsys.readouterr().out
    assert "p99" in printed
    assert "machine" in printed
    result = json.loads(out.read_text())
    assert result["setup"]["zones"] == 200
    assert result["evaluate"]["count"] == 300
    assert result["evaluate"]["p50_ms"] <= result["evaluate"]["p99_ms"] <= result["evaluate"]["max_ms"]
    assert result["machine"]["cpus"] >= 1
    assert result["evaluate_paced"]["count"] == 5

"""`dispatch replay --write-map export.csv`: a mapping drafted from a CSV's header and values.

Columns are guessed from their names (English and Chinese) and values; the time format from
the first ring times; call types are listed most frequent first, for a person to give each a
severity. What cannot be guessed is left `TODO`, which validation refuses until filled in.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from dispatch.replay.mapping import TODO

SAMPLE_ROWS = 2000
TOP_TYPES = 12
# Field → words a column name of it contains (lower case).
NAMES: dict[str, tuple[str, ...]] = {
    "call_id": ("call id", "call number", "call_id", "incident number", "event id", "编号", "单号",
                "流水号", "事件id"),
    "rung_at": ("received", "call time", "timestamp", "datetime", "date", "time", "来电", "呼入",
                "受理时间", "时间"),
    "lat": ("latitude", "lat", "纬度"),
    "lon": ("longitude", "lon", "lng", "经度"),
    "area": ("neighborhood", "district", "township", "area", "zone", "区县", "街道", "区域", "辖区"),
    "call_type": ("call type", "type", "title", "nature", "complaint", "类型", "类别", "呼救", "原因", "病情",
                  "主诉"),
    "priority": ("priority", "level", "等级", "级别", "优先"),
    "unit_id": ("unit", "vehicle", "车辆", "车号"),
}
# Words of a call type that say what it is, for a first guess a person checks.
CRITICAL_WORDS = ("心脏骤停", "心跳", "呼吸", "昏迷", "意识", "胸痛", "卒中", "大出血", "抽搐", "溺水",
                  "cardiac", "arrest", "breath", "unconscious", "stroke", "chest pain", "choking")
NOT_MEDICAL_WORDS = ("火", "报警", "咨询", "fire", "alarm", "smoke", "gas leak")
FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
           "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
           "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%z", "%Y年%m月%d日 %H:%M:%S",
           "%Y年%m月%d日 %H:%M")


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def time_format(values: list[str]) -> str | None:
    """The first format every sample value reads with."""
    samples = [v.strip() for v in values if v.strip()][:50]
    for candidate in FORMATS:
        try:
            for value in samples:
                datetime.strptime(value, candidate)
        except ValueError:
            continue
        return candidate if samples else None
    return None


def guess_columns(header: list[str], rows: list[dict[str, str]]) -> dict[str, str | None]:
    """Each field's column by name, checked against its values; None when nothing fits."""
    def fits(field: str, column: str) -> bool:
        values = [r.get(column, "").strip() for r in rows if r.get(column, "").strip()]
        if not values:
            return False
        numbers = [_number(v) for v in values]
        if field in ("lat", "lon"):
            limit = 90 if field == "lat" else 180
            return all(n is not None and abs(n) <= limit for n in numbers)
        if field == "rung_at":
            return time_format(values) is not None
        return True

    taken: set[str] = set()
    out: dict[str, str | None] = {}
    for field, words in NAMES.items():
        found = None
        for word in words:  # the most telling word first
            found = next((c for c in header if c not in taken and word in c.lower()
                          and fits(field, c)), None)
            if found:
                break
        out[field] = found
        if found:
            taken.add(found)
    return out


def type_rule(kind: str) -> dict[str, Any]:
    """A rule for one call type, its severity guessed from telling words (else left to its
    priority or the default)."""
    text = kind.lower()
    if any(word in text for word in NOT_MEDICAL_WORDS):
        return {"type": kind, "medical": False}
    critical = any(word in text for word in CRITICAL_WORDS)
    return {"type": kind, "severity": "critical" if critical else None, "medical": True}


def draft(path: Path) -> dict[str, Any]:
    """A mapping for the CSV at `path`, with TODO where a person must decide."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = [row for _, row in zip(range(SAMPLE_ROWS), reader, strict=False)]
    columns = guess_columns(header, rows)
    rung = columns["rung_at"]
    fmt = time_format([r.get(rung, "") for r in rows]) if rung else None
    kinds: Counter[str] = Counter(r.get(columns["call_type"] or "", "").strip() for r in rows)
    kinds.pop("", None)
    priorities = Counter(r.get(columns["priority"] or "", "").strip() for r in rows)
    priorities.pop("", None)
    return {
        "name": re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem)[:100] or TODO,
        "source": path.name,
        "columns": {
            "call_id": columns["call_id"], "rung_at": rung or TODO,
            "lat": columns["lat"], "lon": columns["lon"], "area": columns["area"],
            "call_type": columns["call_type"] or TODO, "priority": columns["priority"],
            "unit_id": columns["unit_id"],
        },
        "times": {"format": fmt or TODO, "timezone": TODO, "spread": "even"},
        "priorities": {p: None for p, _ in priorities.most_common(TOP_TYPES)},
        "types": [type_rule(kind) for kind, _ in kinds.most_common(TOP_TYPES)],
        "default": {"severity": "urgent", "category": "ordinary", "medical": True},
    }


def render(mapping: dict[str, Any], path: Path) -> str:
    """The draft as YAML, with a note on what to fill in."""
    head = (f"# Mapping drafted from {path.name}: check the columns (null: the export has none),\n"
            f"# replace every {TODO}, check each type's guess. severity: critical | urgent |\n"
            f"# non_urgent; null: by its priority's severity, else the default. Types may be\n"
            f"# regular expressions: - {{pattern: '胸痛|心脏', severity: critical}}.\n")
    return head + yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False, width=100)


def write_draft(csv_path: Path, out: Path) -> Path:
    if not csv_path.is_file():
        raise ValueError(f"--write-map: {csv_path}: no such file")
    if out.exists():
        raise ValueError(f"--write-map: {out} exists; give another --map FILE to draft into")
    out.write_text(render(draft(csv_path), csv_path), encoding="utf-8")
    return out

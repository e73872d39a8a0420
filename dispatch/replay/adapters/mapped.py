"""Any city's CSV export → call stream, as a mapping file says (`dispatch.replay.mapping`).

Rows sharing a call id are one call (each row with a unit id one unit's response); without a
call id column every row is a call. Ids that are not plain ASCII (Chinese case numbers) are
replaced by the row number. Times written to the minute are spread over their minute, evenly
or at random, so that a minute's calls do not ring on the same second.
"""

from __future__ import annotations

import csv
import random
import re
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from dispatch.replay.mapping import Mapping, MappingError
from dispatch.replay.stream import (
    CallRecord,
    CallStream,
    LatLon,
    StreamHeader,
    UnitTimes,
    seconds_between,
)

ID_CHARS = re.compile(r"^[A-Za-z0-9._:@-]{1,48}$")


def _cell(row: dict[str, str], column: str | None) -> str | None:
    if column is None:
        return None
    value = (row.get(column) or "").strip()
    return value or None


def _location(row: dict[str, str], mapping: Mapping) -> LatLon | None:
    lat, lon = _cell(row, mapping.columns.lat), _cell(row, mapping.columns.lon)
    if lat is None or lon is None:
        return None
    point = LatLon(lat=float(lat), lon=float(lon))
    return None if point.lat == 0 and point.lon == 0 else point


def _unit(row: dict[str, str], mapping: Mapping, rung: datetime) -> UnitTimes | None:
    unit_id = _cell(row, mapping.columns.unit_id)
    if unit_id is None:
        return None
    values: dict[str, float] = {}
    floor = 0.0
    for milestone, column in mapping.columns.milestones.items():
        offset = seconds_between(mapping.times.parse(row.get(column, "")), rung)
        if offset is not None and offset >= floor:  # one earlier than its predecessor: an error
            values[f"{milestone}_s"] = offset
            floor = offset
    return UnitTimes(id=unit_id[:32], **values)


def _call(number: int, raw_id: str, rows: list[dict[str, str]], mapping: Mapping,
          rung: datetime) -> CallRecord:
    first = rows[0]
    call_type = _cell(first, mapping.columns.call_type) or ""
    priority = _cell(first, mapping.columns.priority)
    own_id = raw_id if ID_CHARS.match(raw_id) else f"row{number}"
    units = [u for u in (_unit(r, mapping, rung) for r in rows) if u is not None]
    return CallRecord(
        id=f"{mapping.id_prefix}{own_id}",
        rung_at=rung,
        location=_location(first, mapping),
        area=(_cell(first, mapping.columns.area) or "")[:100] or None,
        severity=mapping.severity(call_type, priority),
        category=mapping.category(call_type),
        medical=mapping.medical(call_type),
        complaint=call_type[:100] or None,
        source_priority=priority[:16] if priority else None,
        entered_s=seconds_between(mapping.times.parse(_cell(first, mapping.columns.entered) or ""),
                                  rung),
        units=tuple(units),
    )


def spread(times: list[datetime], mapping: Mapping, seed: int) -> list[datetime]:
    """Calls written with the same time are spread over the span that time stands for."""
    step = mapping.times.resolution_s
    if step == 1 or mapping.times.spread == "none":
        return times
    rng = random.Random(seed)
    same: dict[datetime, list[int]] = {}
    for index, at in enumerate(times):
        same.setdefault(at, []).append(index)
    out = list(times)
    for at, indices in same.items():
        for k, index in enumerate(indices):
            offset = (k + 0.5) * step / len(indices) if mapping.times.spread == "even" \
                else rng.uniform(0, step)
            out[index] = at + timedelta(seconds=round(offset, 3))
    return out


def read(path: Path, mapping: Mapping, *, seed: int = 120) -> CallStream:
    """Read the export as the mapping says; problems name the row and column."""
    if not path.is_file():
        raise MappingError(str(path), ["no such file"])
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = mapping.missing_columns(list(reader.fieldnames or []))
        if missing:
            raise MappingError(path.name, missing)
        grouped: dict[str, list[tuple[int, dict[str, str]]]] = {}
        for number, row in enumerate(reader, start=2):
            key = _cell(row, mapping.columns.call_id) or f"row{number}"
            grouped.setdefault(key, []).append((number, row))
    rung: list[datetime] = []
    for rows in grouped.values():
        number, row = rows[0]
        try:
            at = mapping.times.parse(row[mapping.columns.rung_at])
        except ValueError as error:
            raise MappingError(path.name, [f"row {number}: columns.rung_at "
                                           f"({mapping.columns.rung_at}): {error}"]) from None
        if at is None:
            raise MappingError(path.name, [f"row {number}: columns.rung_at: empty"])
        rung.append(at)
    calls = []
    for (key, rows), at in zip(grouped.items(), spread(rung, mapping, seed), strict=True):
        number = rows[0][0]
        try:
            calls.append(_call(number, key, [r for _, r in rows], mapping, at))
        except (ValueError, ValidationError) as error:
            raise MappingError(path.name, [f"row {number}: {_first_line(error)}"]) from None
    header = StreamHeader(name=mapping.name, source=mapping.source or path.name,
                          license=mapping.license, timezone=mapping.times.timezone,
                          notes="read through a mapping file")
    step = mapping.times.resolution_s
    spread_note = (f"ring times within each {step} s the export writes, spread "
                   f"{mapping.times.spread}",) if step > 1 and mapping.times.spread != "none" else ()
    return CallStream.of(header, calls, spread_note)


def _first_line(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(error).splitlines()[0]

"""San Francisco Fire Department "Calls for Service" (DataSF nuek-vuh3) → call stream.

The export has one row per unit response; rows sharing a `Call Number` are one call. Times are
local Pacific time without a zone. Addresses are read by nobody: only the block-level
`Location` point and the neighbourhood are kept.

Mapping (the hub's words on the right):
- medical: `Call Type` "Medical Incident", or an ambulance (MEDIC, PRIVATE) responded. Other
  calls (fires, alarms) still ring and are answered, but no incident is recorded for them.
- severity: final priority 3 (lights and siren) in the "Potentially Life-Threatening" group →
  critical; other priority 3 → urgent; priority 2 and the rest → non_urgent.
- category: ordinary (the export says nothing about pregnancy, dialysis and the like).
- units: ambulances only, with their dispatch, en route (`Response DtTm`), on scene,
  transport, hospital and available times as seconds after the call was received.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dispatch.calls.pattern import hourly_weights
from dispatch.incidents.enums import PatientCategory, Severity
from dispatch.replay.stream import (
    CallRecord,
    CallStream,
    LatLon,
    StreamError,
    StreamHeader,
    UnitTimes,
    seconds_between,
)

NAME = "sf"
FILE = "sf_fire_calls_2016-12-31_to_2017-01-07.csv"
ZONE = ZoneInfo("America/Los_Angeles")
REQUIRED = ("Call Number", "Unit ID", "Unit Type", "Received DtTm", "Location", "Call Type")
AMBULANCES = {"MEDIC", "PRIVATE"}
UNIT_COLUMNS = (
    ("dispatched_s", "Dispatch DtTm"), ("en_route_s", "Response DtTm"),
    ("on_scene_s", "On Scene DtTm"), ("transporting_s", "Transport DtTm"),
    ("at_hospital_s", "Hospital DtTm"), ("available_s", "Available DtTm"),
)


def default_path() -> Path:
    """The copy in the repository, else the shared data folder beside the checkout."""
    root = Path(__file__).resolve().parents[3]
    for folder in (root / "loadtests" / "data" / "callstreams", root.parent / "shared" / "data" /
                   "callstreams", Path.cwd() / "loadtests" / "data" / "callstreams"):
        if (folder / FILE).is_file():
            return folder / FILE
    return root / "loadtests" / "data" / "callstreams" / FILE


def detect(columns: Iterable[str]) -> bool:
    """True when a CSV header is this export's."""
    return set(REQUIRED) <= set(columns)


def parse_time(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    return datetime.strptime(value, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=ZONE)


def parse_location(value: str) -> LatLon | None:
    text = value.strip().strip("()")
    if "," not in text:
        return None
    lat, lon = (float(part) for part in text.split(",", 1))
    if lat == 0 and lon == 0:
        return None
    return LatLon(lat=lat, lon=lon)


def severity(row: dict[str, str]) -> Severity:
    priority = (row.get("Final Priority") or row.get("Priority") or "").strip()
    if priority == "3":
        if row.get("Call Type Group", "").strip() == "Potentially Life-Threatening":
            return Severity.CRITICAL
        return Severity.URGENT
    return Severity.NON_URGENT


def unit_times(row: dict[str, str], received: datetime) -> UnitTimes:
    """A unit's milestones; one earlier than the milestone before it is dropped as an error."""
    values: dict[str, float] = {}
    floor = 0.0
    for field, column in UNIT_COLUMNS:
        offset = seconds_between(parse_time(row.get(column, "")), received)
        if offset is not None and offset >= floor:
            values[field] = offset
            floor = offset
    return UnitTimes(id=row["Unit ID"].strip(), kind="ambulance",
                     als=row.get("ALS Unit", "").strip().lower() == "true", **values)


def to_call(rows: list[dict[str, str]]) -> CallRecord:
    first = rows[0]
    received = parse_time(first["Received DtTm"])
    if received is None:
        raise ValueError("no Received DtTm")
    ambulances = sorted((r for r in rows if r.get("Unit Type", "").strip() in AMBULANCES),
                        key=lambda r: (parse_time(r.get("Dispatch DtTm", "")) or received))
    area = (first.get("Neighborhood  District") or first.get("Station Area") or "").strip()
    return CallRecord(
        id=f"sf-{first['Call Number'].strip()}",
        rung_at=received,
        location=parse_location(first.get("Location", "")),
        area=area or None,
        severity=severity(first),
        category=PatientCategory.ORDINARY,
        medical=first["Call Type"].strip() == "Medical Incident" or bool(ambulances),
        complaint=first["Call Type"].strip()[:100] or None,
        source_priority=(first.get("Final Priority") or "").strip() or None,
        entered_s=seconds_between(parse_time(first.get("Entry DtTm", "")), received),
        units=tuple(unit_times(r, received) for r in ambulances),
    )


def read(path: Path) -> CallStream:
    """Read the export and group its unit rows into calls."""
    if not path.is_file():
        raise StreamError(f"{path}: no such file")
    grouped: dict[str, list[dict[str, str]]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not detect(reader.fieldnames or ()):
            raise StreamError(f"{path.name}: not a San Francisco Calls for Service export "
                              f"(needs columns {', '.join(REQUIRED)})")
        for row in reader:
            grouped.setdefault(row["Call Number"].strip(), []).append(row)
    calls = []
    for number, rows in grouped.items():
        try:
            calls.append(to_call(rows))
        except ValueError as error:
            raise StreamError(f"{path.name}: call {number}: {error}") from None
    header = StreamHeader(
        name=path.stem[:100],
        source="San Francisco Fire Department Calls for Service (DataSF nuek-vuh3), " + path.name,
        license="ODC Public Domain Dedication and License",
        timezone="America/Los_Angeles",
        notes="ambulance units only; severity from final priority and call type group",
    )
    return CallStream.of(header, calls)


def medical_hour_weights(path: Path | None = None) -> tuple[float, ...] | None:
    """The medical calls' hourly weights of the bundled SF week (the demo's callers follow them);
    None if it is not there."""
    try:
        stream = read(path or default_path())
    except StreamError:
        return None
    return hourly_weights((c.rung_at for c in stream.calls if c.medical),
                          ZoneInfo(stream.header.timezone or "UTC"))


"""The call-stream format: one record per call, read and written as JSON Lines.

See `docs/callstream.md`. A stream is the replay's only input; adapters turn a city's own
export (one file per city, in `adapters/`) into it.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from dispatch.incidents.enums import PatientCategory, Severity

FORMAT = "dispatch-callstream"
VERSION = 1
# Unit milestones, in the order the unit state machine passes them.
MILESTONES = ("dispatched_s", "en_route_s", "on_scene_s", "transporting_s", "at_hospital_s",
              "available_s")


class StreamError(Exception):
    """A stream that cannot be read; the message names the line and field."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LatLon(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class UnitTimes(Strict):
    """One unit's part in a call: seconds after the first ring at which it reached each state."""

    id: str = Field(min_length=1, max_length=32)
    kind: str = Field(default="ambulance", max_length=32)
    als: bool = False
    dispatched_s: float | None = Field(default=None, ge=0)
    en_route_s: float | None = Field(default=None, ge=0)
    on_scene_s: float | None = Field(default=None, ge=0)
    transporting_s: float | None = Field(default=None, ge=0)
    at_hospital_s: float | None = Field(default=None, ge=0)
    available_s: float | None = Field(default=None, ge=0)


class CallRecord(Strict):
    """One call as the emergency centre received it."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@-]+$")
    rung_at: AwareDatetime
    location: LatLon | None = None
    area: str | None = Field(default=None, max_length=100)
    severity: Severity
    category: PatientCategory = PatientCategory.ORDINARY
    medical: bool = True
    complaint: str | None = Field(default=None, max_length=100)
    source_priority: str | None = Field(default=None, max_length=16)
    entered_s: float | None = Field(default=None, ge=0, description="call-taking finished")
    units: tuple[UnitTimes, ...] = ()


class StreamHeader(Strict):
    format: Literal["dispatch-callstream"] = "dispatch-callstream"
    version: Literal[1] = 1
    name: str = Field(min_length=1, max_length=100)
    source: str | None = None
    license: str | None = None
    timezone: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class CallStream:
    header: StreamHeader
    calls: tuple[CallRecord, ...]  # by ring time
    simulated: tuple[str, ...] = ()  # what the replay made up, for the report

    @classmethod
    def of(cls, header: StreamHeader, calls: Iterable[CallRecord],
           simulated: tuple[str, ...] = ()) -> CallStream:
        return cls(header, tuple(sorted(calls, key=lambda c: (c.rung_at, c.id))), simulated)

    @property
    def start(self) -> datetime:
        return self.calls[0].rung_at

    @property
    def span_seconds(self) -> float:
        if not self.calls:
            return 0.0
        return (self.calls[-1].rung_at - self.calls[0].rung_at).total_seconds()

    def window(self, start: datetime | None = None, hours: float | None = None) -> CallStream:
        """The calls ringing from `start` (default: the first call) for `hours`."""
        if not self.calls:
            return self
        begin = start or self.start
        end = begin + timedelta(hours=hours) if hours is not None else None
        kept = [c for c in self.calls if c.rung_at >= begin and (end is None or c.rung_at < end)]
        return replace(self, calls=tuple(kept))

    def busiest_hour(self) -> datetime:
        """The ring time of the call that starts the busiest sliding hour."""
        best, best_count, j = 0, 0, 0
        times = [c.rung_at for c in self.calls]
        for i in range(len(times)):
            while times[i] - times[j] >= timedelta(hours=1):
                j += 1
            if i - j + 1 > best_count:
                best, best_count = j, i - j + 1
        return times[best] if times else self.start


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A call placed on the replay's timeline."""

    at: float  # seconds of stream time after the replay's start
    call: CallRecord
    telephony_id: str


def schedule(stream: CallStream, *, run: str, overlay: int = 1) -> list[Scheduled]:
    """Place every call on the timeline; with `overlay` > 1, lay that many copies on top of one
    another, copy k rotated by k/overlay of the span, so their peaks do not coincide."""
    if not stream.calls:
        return []
    span = max(stream.span_seconds, 1.0)
    out = []
    for copy in range(overlay):
        shift = span * copy / overlay
        for call in stream.calls:
            at = (call.rung_at - stream.start).total_seconds()
            at = (at + shift) % span if overlay > 1 else at
            suffix = f"-{copy}" if overlay > 1 else ""
            out.append(Scheduled(at, call, f"{call.id}{suffix}-{run}"))
    out.sort(key=lambda s: s.at)
    return out


def peak_rate(times: list[float], window: float) -> float:
    """Most events in any sliding `window` seconds, per second."""
    ordered = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(ordered):
        while t - ordered[j] >= window:
            j += 1
        best = max(best, i - j + 1)
    return best / window if ordered else 0.0


def _open(path: Path, mode: Literal["rb", "wb"]) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, mode)  # type: ignore[return-value]
    return path.open(mode)


def read_stream(path: Path) -> CallStream:
    """Read a stream file (JSON Lines, optionally gzipped); errors name the line."""
    calls: list[CallRecord] = []
    header: StreamHeader | None = None
    with _open(path, "rb") as raw:
        for number, line in enumerate(raw, start=1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
                if header is None:
                    header = StreamHeader.model_validate(value)
                else:
                    calls.append(CallRecord.model_validate(value))
            except orjson.JSONDecodeError as error:
                raise StreamError(f"{path.name}:{number}: not JSON ({error})") from None
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "(record)"
                raise StreamError(f"{path.name}:{number}: {where}: {first['msg']}") from None
    if header is None:
        raise StreamError(f"{path.name}: empty, expected a header line")
    return CallStream.of(header, calls)


def dump_lines(stream: CallStream) -> Iterator[bytes]:
    yield orjson.dumps(stream.header.model_dump(mode="json", exclude_none=True)) + b"\n"
    for call in stream.calls:
        yield orjson.dumps(call.model_dump(mode="json", exclude_none=True,
                                           exclude_defaults=True)) + b"\n"


def write_stream(stream: CallStream, path: Path) -> None:
    with _open(path, "wb") as out:
        for line in dump_lines(stream):
            out.write(line)


def seconds_between(later: datetime | None, earlier: datetime) -> float | None:
    """`later - earlier` in seconds, or None if unknown, negative or not finite."""
    if later is None:
        return None
    value = (later - earlier).total_seconds()
    return value if value >= 0 and math.isfinite(value) else None

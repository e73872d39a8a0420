"""A mapping file: how a city's CSV export becomes a call stream, without writing an adapter.

See `docs/callstream.md`. The YAML names the CSV's columns, how its times read, and the
severity, category and medical flag of each call type (exact or a regular expression).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from dispatch.incidents.enums import PatientCategory, Severity
from dispatch.replay.stream import StreamError, Strict

Milestone = Literal["dispatched", "en_route", "on_scene", "transporting", "at_hospital", "available"]
TODO = "TODO"


class MappingError(StreamError):
    """A mapping file that cannot be used; `problems` name each bad field, one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def _not_todo(value: str | None) -> str | None:
    if value is not None and value.strip().upper().startswith(TODO):
        raise ValueError("still TODO: fill it in")
    return value


class Columns(Strict):
    """Which CSV column holds what; null when the export has none."""

    call_id: str | None = None  # null: every row is one call
    rung_at: str
    lat: str | None = None
    lon: str | None = None
    area: str | None = None
    call_type: str
    priority: str | None = None
    entered: str | None = None  # when call-taking finished, a time in the same format
    unit_id: str | None = None
    milestones: dict[Milestone, str] = Field(default_factory=dict)

    _todo = field_validator("call_id", "rung_at", "lat", "lon", "area", "call_type", "priority",
                            "entered", "unit_id")(_not_todo)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Columns:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.milestones and self.unit_id is None:
            raise ValueError("milestones need a unit_id column")
        return self

    def named(self) -> list[tuple[str, str]]:
        """(field, column) for every column the mapping reads."""
        fields = [(f, getattr(self, f)) for f in ("call_id", "rung_at", "lat", "lon", "area",
                                                  "call_type", "priority", "entered", "unit_id")]
        fields += [(f"milestones.{m}", c) for m, c in self.milestones.items()]
        return [(f, c) for f, c in fields if c is not None]


class Times(Strict):
    format: str = Field(description="strptime format of the ring time, e.g. %Y-%m-%d %H:%M")
    timezone: str = Field(description="IANA zone of times without an offset, e.g. Asia/Shanghai")
    # Times without seconds put every call of a minute on the same second: spread them over it.
    spread: Literal["even", "random", "none"] = "even"

    _todo = field_validator("format", "timezone")(_not_todo)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"no time zone {value!r} (an IANA name, e.g. Asia/Shanghai)") from None
        return value

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    @property
    def resolution_s(self) -> int:
        """Seconds one written time stands for."""
        if "%S" in self.format or "%T" in self.format:
            return 1
        return 60 if "%M" in self.format else 3600

    def parse(self, value: str) -> datetime | None:
        value = value.strip()
        if not value:
            return None
        at = datetime.strptime(value, self.format)
        return at if at.tzinfo is not None else at.replace(tzinfo=self.zone)


class TypeRule(Strict):
    """What a call type means for the hub; `type` matches exactly, `pattern` as a regex."""

    type: str | None = None
    pattern: str | None = None
    severity: Severity | None = None  # None: by priority, else the default
    category: PatientCategory | None = None
    medical: bool | None = None

    @model_validator(mode="after")
    def _one_matcher(self) -> TypeRule:
        if (self.type is None) == (self.pattern is None):
            raise ValueError("give either type or pattern")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(f"pattern {self.pattern!r}: {error}") from None
        return self

    def matches(self, call_type: str) -> bool:
        if self.type is not None:
            return call_type == self.type
        return re.search(self.pattern or "", call_type) is not None


class Default(Strict):
    severity: Severity = Severity.URGENT
    category: PatientCategory = PatientCategory.ORDINARY
    medical: bool = True


class Mapping(Strict):
    name: str = Field(min_length=1, max_length=100)
    source: str | None = None
    license: str | None = None
    id_prefix: str = Field(default="", max_length=16, pattern=r"^[A-Za-z0-9._:@-]*$")
    columns: Columns
    times: Times
    priorities: dict[str, Severity | None] = Field(default_factory=dict)  # None: the default
    types: list[TypeRule] = Field(default_factory=list)
    default: Default = Field(default_factory=Default)

    _todo = field_validator("name")(_not_todo)

    @field_validator("priorities", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value

    def rule(self, call_type: str) -> TypeRule | None:
        """The first rule matching the call type."""
        return next((r for r in self.types if r.matches(call_type)), None)

    def severity(self, call_type: str, priority: str | None) -> Severity:
        rule = self.rule(call_type)
        if rule is not None and rule.severity is not None:
            return rule.severity
        by_priority = self.priorities.get(priority) if priority is not None else None
        return by_priority or self.default.severity

    def category(self, call_type: str) -> PatientCategory:
        rule = self.rule(call_type)
        return rule.category if rule is not None and rule.category else self.default.category

    def medical(self, call_type: str) -> bool:
        rule = self.rule(call_type)
        return rule.medical if rule is not None and rule.medical is not None else self.default.medical

    def missing_columns(self, header: list[str]) -> list[str]:
        """One problem per column the CSV lacks."""
        present = set(header)
        return [f"columns.{f}: no column {c!r} in the CSV (it has: {', '.join(header)})"
                for f, c in self.columns.named() if c not in present]


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(mapping)"


def parse_mapping(text: str, source: str) -> Mapping:
    """A validated mapping; every problem named by its field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise MappingError(source, [f"line {mark.line + 1 if mark else '?'}: not valid YAML"]) from None
    if not isinstance(raw, dict):
        raise MappingError(source, ["the file must hold a mapping (name, columns, times, types)"])
    try:
        return Mapping.model_validate(raw)
    except ValidationError as error:
        problems = [f"{_where(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                    for e in error.errors()]
        raise MappingError(source, problems) from None


def read_mapping(path: Path) -> Mapping:
    if not path.is_file():
        raise MappingError(str(path), ["no such file"])
    return parse_mapping(path.read_text(encoding="utf-8"), path.name)

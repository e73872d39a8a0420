"""The national 120 indicators over a window, from the chain of each incident.

Definitions and sources: docs/quality.md. Calls are counted by when they rang, incidents by
when they were recorded; every interval is taken from the first time a step happened.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.calls import slo
from dispatch.errors import InvalidInput
from dispatch.handovers.models import HandoverStatus
from dispatch.incidents.models import IncidentStatus
from dispatch.places.hours import zone_info
from dispatch.quality import chain as chains
from dispatch.quality.schemas import (
    AreaFigures,
    CommunityCare,
    Durations,
    Handovers,
    Indicator,
    QualityOut,
    Turnout,
)
from dispatch.routing.schemas import Outcome
from dispatch.runtime import Runtime
from dispatch.zones.models import ZoneStatus

ROLLING = dict(slo.WINDOWS)
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# National guidance (2020): ambulances out within 3 minutes of dispatch for >= 95 % of calls.
TURNOUT_TARGET_S = 180.0
TURNOUT_TARGET_SHARE = 0.95
COMMUNITY_OUTCOMES = frozenset({Outcome.REFER.value, Outcome.HOME_VISIT.value,
                                Outcome.CALLBACK_BY_DOCTOR.value})
# Arrivals the hospital did not take over itself: the crew closed it for want of an answer.
REFUSED_REASONS = frozenset({"no_response_within_target"})


def month_span(month: str, timezone: str) -> tuple[datetime, datetime]:
    """The first instant of a month (YYYY-MM, the centre's local calendar) and of the next."""
    found = MONTH.match(month)
    if found is None:
        raise InvalidInput.field("query.month", "must be a month as YYYY-MM, e.g. 2026-11")
    year, number = int(found[1]), int(found[2])
    tz = zone_info(timezone)
    start = datetime(year, number, 1, tzinfo=tz)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    return start, end


def span_of(*, window: str | None, month: str | None, now: datetime,
            timezone: str) -> tuple[str, datetime, datetime]:
    """The name, start and end of the window asked for (the last 24 hours when none is)."""
    if month is not None:
        if window is not None:
            raise InvalidInput.field("query.window", "give either a window or a month, not both")
        return (month, *month_span(month, timezone))
    name = window or "24h"
    if name not in ROLLING:
        raise InvalidInput.field("query.window", f"must be one of {', '.join(ROLLING)}")
    return name, now - ROLLING[name], now


def durations(values: list[float]) -> Durations:
    ordered = sorted(values)  # quantile sorts again: a sorted list costs it one pass
    return Durations(count=len(ordered), p50_s=slo.quantile(ordered, 0.50),
                     p90_s=slo.quantile(ordered, 0.90), p95_s=slo.quantile(ordered, 0.95))


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def gap(a: float | None, b: float | None) -> float | None:
    """Seconds from one step to a later one (to the ms: the steps are epoch seconds, and
    SQLite's are computed in floating point); None unless both happened."""
    return None if a is None or b is None else round(b - a, 3)


def gaps(items: Iterable[chains.Chain], since: str, until: str) -> list[float]:
    """The gaps from one step to another over the incidents that reached both."""
    out = []
    for c in items:
        seconds = gap(getattr(c, since), getattr(c, until))
        if seconds is not None:
            out.append(seconds)
    return out


@dataclass(slots=True)
class Intervals:
    """Each interval of the chain over the window's incidents, collected in one pass."""

    answer_to_dispatch: list[float] = field(default_factory=list)
    turnout: list[float] = field(default_factory=list)
    stood_down: int = 0
    dispatched: int = 0
    response: list[float] = field(default_factory=list)
    on_scene: list[float] = field(default_factory=list)
    transport: list[float] = field(default_factory=list)
    by_zone_status: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    by_severity: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    area_incidents: Counter[str | None] = field(default_factory=Counter)
    area_turnout: dict[str | None, list[float]] = field(default_factory=lambda: defaultdict(list))
    area_response: dict[str | None, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, c: chains.Chain) -> None:
        self.area_incidents[c.sub_district_id] += 1
        if c.dispatched_at is not None:
            self.dispatched += 1
            waited = gap(c.answered_at, c.dispatched_at)
            if waited is not None:
                self.answer_to_dispatch.append(waited)
            turnout = gap(c.dispatched_at, c.en_route_at)
            if turnout is None:
                self.stood_down += 1
            else:
                self.turnout.append(turnout)
                self.area_turnout[c.sub_district_id].append(turnout)
        response = gap(c.call_at, c.on_scene_at)
        if response is not None:
            self.response.append(response)
            self.by_zone_status[c.zone_status or ZoneStatus.NORMAL.value].append(response)
            self.by_severity[c.severity].append(response)
            self.area_response[c.sub_district_id].append(response)
        on_scene = gap(c.on_scene_at, c.left_scene_at)
        if on_scene is not None:
            self.on_scene.append(on_scene)
        transport = gap(c.left_scene_at, c.at_hospital_at)
        if transport is not None:
            self.transport.append(transport)

    def areas(self) -> list[AreaFigures]:
        out = []
        for area in sorted(self.area_incidents, key=lambda a: a or ""):
            turnouts = self.area_turnout.get(area, [])
            out.append(AreaFigures(
                sub_district_id=area, incidents=self.area_incidents[area],
                turnout_share_within_target=ratio(sum(1 for t in turnouts if t <= TURNOUT_TARGET_S),
                                                  len(turnouts)),
                response_p90_s=slo.quantile(self.area_response.get(area, []), 0.90)))
        return out


def grouped(groups: dict[str, list[float]]) -> dict[str, Durations]:
    return {k: durations(v) for k, v in sorted(groups.items())}


def handover_figures(records: chains.Records, *, end: datetime, target_minutes: float) -> Handovers:
    arrived = [h for h in records.handovers if h.arrived_at is not None]
    minutes: list[float] = []
    late_waiting = 0
    refusals = 0
    for h in arrived:
        if h.arrived_at is None:
            continue
        if h.status == HandoverStatus.CANCELLED or h.crew_reason in REFUSED_REASONS:
            refusals += 1
        elif h.status == HandoverStatus.HANDED_OVER and h.done_at is not None:
            minutes.append(round(h.done_at - h.arrived_at, 3) / 60)
        elif (end.timestamp() - h.arrived_at) / 60 > target_minutes:
            late_waiting += 1
    within = sum(1 for m in minutes if m <= target_minutes)
    decided = len(minutes) + late_waiting
    return Handovers(arrived=len(arrived), decided=decided, within_target=within,
                     share_within_target=ratio(within, decided), refusals=refusals,
                     minutes=Durations(count=len(minutes), p50_s=slo.quantile(minutes, 0.5),
                                       p90_s=slo.quantile(minutes, 0.9),
                                       p95_s=slo.quantile(minutes, 0.95)))


def figures(records: chains.Records, *, name: str, start: datetime, end: datetime,
            answer_target_s: float, handover_target_minutes: float, zone_id: str | None = None,
            sub_district_id: str | None = None) -> QualityOut:
    """Every indicator of one window from its records (pure: no input or output)."""
    items = records.chains.values()
    chain = Intervals()
    for c in items:
        chain.add(c)
    turned_out = sum(1 for t in chain.turnout if t <= TURNOUT_TARGET_S)
    answer = slo.window_figures(name, records.calls, records.served, end, answer_target_s,
                                records.resolved)
    with_incident = [c for c in records.calls if c.incident_id is not None]
    by_outcome = Counter(records.resolved[c.incident_id] for c in with_incident
                         if c.incident_id in records.resolved
                         and records.resolved[c.incident_id] in COMMUNITY_OUTCOMES)
    resolved = sum(by_outcome.values())
    handover = handover_figures(records, end=end, target_minutes=handover_target_minutes)
    out = QualityOut(
        window=name, start=start, end=end, zone_id=zone_id, sub_district_id=sub_district_id,
        incidents=len(items), dispatched=chain.dispatched,
        cancelled=sum(1 for c in items if c.status == IncidentStatus.CANCELLED),
        answer=answer,
        answer_to_dispatch=durations(chain.answer_to_dispatch),
        turnout=Turnout(**durations(chain.turnout).model_dump(), within_target=turned_out,
                        share_within_target=ratio(turned_out, len(chain.turnout)),
                        stood_down=chain.stood_down),
        response=durations(chain.response),
        response_by_zone_status=grouped(chain.by_zone_status),
        response_by_severity=grouped(chain.by_severity),
        on_scene=durations(chain.on_scene),
        transport=durations(chain.transport),
        handover=handover,
        community_care=CommunityCare(calls_with_incident=len(with_incident), resolved=resolved,
                                     share=ratio(resolved, len(with_incident)),
                                     by_outcome=dict(sorted(by_outcome.items()))),
        by_sub_district=chain.areas(), indicators=[],
    )
    out.indicators = indicators(out, answer_target_s=answer_target_s)
    return out


def indicator(key: str, value: float | None, unit: str, count: int, target: float | None = None,
              comparison: str | None = None) -> Indicator:
    holds = None
    if value is not None and target is not None:
        holds = value >= target if comparison == ">=" else value <= target
    return Indicator(key=key, value=value, unit=unit, target=target, comparison=comparison,
                     holds=holds, count=count)


def indicators(q: QualityOut, *, answer_target_s: float) -> list[Indicator]:
    """The panel's list: each figure, its target and whether it holds."""
    a, h = q.answer, q.handover
    return [
        indicator("answered_within_10s", a.share_within_target, "ratio", a.decided,
                  slo.TARGET_SHARE, ">="),
        indicator("answer_rate", a.answer_rate, "ratio", a.answered + a.abandoned, 1.0, ">="),
        indicator("answer_p90", a.answer_p90_s, "s", a.answered, answer_target_s, "<="),
        indicator("answer_to_dispatch_p90", q.answer_to_dispatch.p90_s, "s", q.answer_to_dispatch.count),
        indicator("turnout_within_3min", q.turnout.share_within_target, "ratio", q.turnout.count,
                  TURNOUT_TARGET_SHARE, ">="),
        indicator("turnout_p90", q.turnout.p90_s, "s", q.turnout.count, TURNOUT_TARGET_S, "<="),
        indicator("response_p50", q.response.p50_s, "s", q.response.count),
        indicator("response_p90", q.response.p90_s, "s", q.response.count),
        indicator("on_scene_p50", q.on_scene.p50_s, "s", q.on_scene.count),
        indicator("transport_p50", q.transport.p50_s, "s", q.transport.count),
        indicator("handover_within_15min", h.share_within_target, "ratio", h.decided, 1.0, ">="),
        indicator("handover_refusals", float(h.refusals), "count", h.arrived, 0.0, "<="),
        indicator("community_care_share", q.community_care.share, "ratio",
                  q.community_care.calls_with_incident),
    ]


async def compute(*, session: AsyncSession, rt: Runtime, window: str | None = None,
                  month: str | None = None, zone_id: str | None = None,
                  sub_district_id: str | None = None, now: datetime | None = None) -> QualityOut:
    """The indicators over a rolling window or a month, for the centre or one zone/sub-district."""
    name, start, end = span_of(window=window, month=month, now=now or rt.clock.now(),
                               timezone=rt.settings.centre_timezone)
    records = await chains.read(session=session, start=start, end=end, zone_id=zone_id,
                                sub_district_id=sub_district_id)
    out = figures(records, name=name, start=start, end=end,
                  answer_target_s=rt.settings.answer_target_seconds,
                  handover_target_minutes=rt.settings.handover_target_minutes,
                  zone_id=zone_id, sub_district_id=sub_district_id)
    if month is None and zone_id is None and sub_district_id is None:
        export(rt, out)
    return out


def export(rt: Runtime, q: QualityOut) -> None:
    """Copy the centre's figures over a rolling window to the Prometheus gauges."""
    gauge = rt.metrics.quality
    for item in q.indicators:
        if item.value is not None and item.key in EXPORTED:
            gauge.labels(item.key, q.window).set(item.value)


EXPORTED = frozenset({"turnout_within_3min", "turnout_p90", "answer_to_dispatch_p90", "response_p50",
                      "response_p90", "on_scene_p50", "transport_p50", "handover_within_15min",
                      "handover_refusals", "community_care_share"})


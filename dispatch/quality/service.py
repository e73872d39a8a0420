"""The national 120 indicators over a window, from the chain of each incident.

Definitions and sources: docs/quality.md. Calls are counted by when they rang, incidents by
when they were recorded; every interval is taken from the first time a step happened.
"""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import erlang
from dispatch.calls import slo
from dispatch.calls.models import CallStatus
from dispatch.errors import InvalidInput
from dispatch.handovers.enums import HandoverStatus
from dispatch.incidents.enums import IncidentStatus
from dispatch.places.hours import zone_info
from dispatch.quality import chain as chains
from dispatch.quality.chain import Times
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
from dispatch.zones.enums import ZoneStatus

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
    if not 1970 <= year <= 2999:
        raise InvalidInput.field("query.month", "the year must be between 1970 and 2999")
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


def durations(values: Times) -> Durations:
    ordered = np.sort(values)
    return Durations(count=len(ordered), p50_s=erlang.quantile(ordered, 0.50, ordered=True),
                     p90_s=erlang.quantile(ordered, 0.90, ordered=True),
                     p95_s=erlang.quantile(ordered, 0.95, ordered=True))


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def gap(chain: chains.Chains, since: str, until: str) -> Times:
    """Seconds from one step to a later one for each incident, NaN unless both happened (to the
    ms: the steps are epoch seconds, and SQLite's are computed in floating point)."""
    return np.round(chain.at[until] - chain.at[since], 3)


def present(values: Times, where: NDArray[np.bool_] | None = None) -> Times:
    keep = ~np.isnan(values)
    return values[keep if where is None else keep & where]


def within(values: Times, limit: float) -> int:
    return int(np.count_nonzero(values <= limit))


def grouped(values: Times, keys: list[str]) -> dict[str, Durations]:
    """Durations by a property of the incident (groups with no value left out)."""
    labels = np.array(keys, dtype=object)
    out = {key: durations(present(values, labels == key)) for key in sorted(set(keys))}
    return {k: d for k, d in out.items() if d.count}


def areas(chain: chains.Chains, turnout: Times, response: Times) -> list[AreaFigures]:
    names = [a or "" for a in chain.sub_district_id]
    labels = np.array(names, dtype=object)
    out = []
    for area in sorted(set(names)):
        mine = labels == area
        turnouts = present(turnout, mine)
        responses = durations(present(response, mine))
        out.append(AreaFigures(
            sub_district_id=area or None, incidents=int(np.count_nonzero(mine)),
            turnout_share_within_target=ratio(within(turnouts, TURNOUT_TARGET_S), len(turnouts)),
            response_p50_s=responses.p50_s, response_p90_s=responses.p90_s))
    return out


def handover_figures(records: chains.Records, *, end: datetime, target_minutes: float) -> Handovers:
    h = records.handovers
    cancelled, handed_over = HandoverStatus.CANCELLED.value, HandoverStatus.HANDED_OVER.value
    arrived = ~np.isnan(h.arrived_at)
    refused = arrived & np.array([status == cancelled or reason in REFUSED_REASONS
                                  for status, reason in zip(h.status, h.crew_reason, strict=True)],
                                 dtype=bool)
    handed = arrived & ~refused & ~np.isnan(h.done_at) & np.array(
        [status == handed_over for status in h.status], dtype=bool)
    minutes = np.round(h.done_at[handed] - h.arrived_at[handed], 3) / 60
    waiting = arrived & ~refused & ~handed
    late = int(np.count_nonzero((end.timestamp() - h.arrived_at[waiting]) / 60 > target_minutes))
    done_within = within(minutes, target_minutes)
    decided = len(minutes) + late
    return Handovers(arrived=int(np.count_nonzero(arrived)), decided=decided, within_target=done_within,
                     share_within_target=ratio(done_within, decided),
                     refusals=int(np.count_nonzero(refused)), minutes=durations(minutes))


def figures(records: chains.Records, *, name: str, start: datetime, end: datetime,
            answer_target_s: float, handover_target_minutes: float, zone_id: str | None = None,
            sub_district_id: str | None = None) -> QualityOut:
    """Every indicator of one window from its records (pure: no input or output)."""
    chain = records.chains
    dispatched = ~np.isnan(chain.at["dispatched_at"])
    turnout = gap(chain, "dispatched_at", "en_route_at")
    turnouts = present(turnout)
    turned_out = within(turnouts, TURNOUT_TARGET_S)
    response = gap(chain, "call_at", "on_scene_at")
    calls = records.calls
    ringing_now, normal = CallStatus.RINGING.value, ZoneStatus.NORMAL.value
    ringing = np.array([status == ringing_now for status in calls.status], dtype=bool)
    answer = slo.summary(
        name, calls=len(calls), waits=calls.waits().tolist(),
        abandoned=int(np.count_nonzero(calls.abandoned)),
        called_back=int(np.count_nonzero(calls.called_back)),
        ringing_past=int(np.count_nonzero(ringing & (end.timestamp() - calls.rung_at > answer_target_s))),
        incident_ids=calls.incident_id, target_s=answer_target_s, resolved=records.resolved)
    with_incident = sum(1 for i in calls.incident_id if i is not None)
    by_outcome = {k: n for k, n in answer.without_ambulance_by_outcome.items() if k in COMMUNITY_OUTCOMES}
    resolved = sum(by_outcome.values())
    handover = handover_figures(records, end=end, target_minutes=handover_target_minutes)
    out = QualityOut(
        window=name, start=start, end=end, zone_id=zone_id, sub_district_id=sub_district_id,
        incidents=len(chain), dispatched=int(np.count_nonzero(dispatched)),
        cancelled=chain.status.count(IncidentStatus.CANCELLED),
        answer=answer,
        answer_to_dispatch=durations(present(gap(chain, "answered_at", "dispatched_at"))),
        turnout=Turnout(**durations(turnouts).model_dump(), within_target=turned_out,
                        share_within_target=ratio(turned_out, len(turnouts)),
                        stood_down=int(np.count_nonzero(dispatched)) - len(turnouts)),
        response=durations(present(response)),
        response_by_zone_status=grouped(response, [z or normal for z in chain.zone_status]),
        response_by_severity=grouped(response, chain.severity),
        on_scene=durations(present(gap(chain, "on_scene_at", "left_scene_at"))),
        transport=durations(present(gap(chain, "left_scene_at", "at_hospital_at"))),
        handover=handover,
        community_care=CommunityCare(calls_with_incident=with_incident, resolved=resolved,
                                     share=ratio(resolved, with_incident),
                                     by_outcome=dict(sorted(by_outcome.items()))),
        by_sub_district=areas(chain, turnout, response), indicators=[],
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
                  erlang.TARGET_SHARE, ">="),
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
                               timezone=rt.settings.timezone)
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


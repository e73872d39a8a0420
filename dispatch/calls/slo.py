"""The answer-time objective (seed 004): ≥ 95 % of calls answered within 10 s, every caller served.

Definitions (from the first ring, not from when a record is created):
- a call is *decided* once it was answered, abandoned, or has rung past the target;
- share within target = answered within the target / decided (an abandoned call counts
  against it, however short);
- answer rate = (answered + abandoned callers later reached) / (answered + abandoned).
Calls resolved without an ambulance are those whose incident's latest routing decision sends
none (community care, self-travel or a volunteer car), counted by outcome.
Staffing advice uses Erlang C with the arrival rate of the last 15 minutes and the mean
handling time (answer → end) of the last hour.
A supervisor's test call (`Call.test`) is left out of every figure: nobody called.
"""

from __future__ import annotations

import bisect
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.calls.callbacks import SERVED, pending_count
from dispatch.calls.enums import CallbackStatus, CallStatus
from dispatch.calls.models import Call, Callback
from dispatch.calls.positions import list_positions
from dispatch.calls.schemas import SloOut, SloWindow, StaffingAdvice
from dispatch.erlang import TARGET_SHARE, agents_needed, quantile
from dispatch.places import stats as places_stats
from dispatch.runtime import Runtime

WINDOWS = (("15m", timedelta(minutes=15)), ("1h", timedelta(hours=1)), ("24h", timedelta(days=1)))
DEFAULT_HANDLING_SECONDS = 120.0










class CallTimes(Protocol):
    """The columns of a call the figures need (read as plain rows, not ORM objects: a busy
    day holds tens of thousands of calls)."""

    id: uuid.UUID
    status: str
    rung_at: datetime
    answered_at: datetime | None
    abandoned_at: datetime | None
    ended_at: datetime | None
    incident_id: uuid.UUID | None


REAL = Call.test.is_(False)  # not a supervisor's test call
CALL_TIMES = (Call.id, Call.status, Call.rung_at, Call.answered_at, Call.abandoned_at,
              Call.ended_at, Call.incident_id)


def window_figures(name: str, calls: Sequence[CallTimes], served: set[str], now: datetime,
                   target_s: float, resolved: dict[uuid.UUID, str] | None = None) -> SloWindow:
    waits = [(c.answered_at - c.rung_at).total_seconds() for c in calls if c.answered_at]
    abandoned = [c for c in calls if c.abandoned_at is not None]
    ringing_past = sum(1 for c in calls if c.status == CallStatus.RINGING
                       and (now - c.rung_at).total_seconds() > target_s)
    return summary(name, calls=len(calls), waits=waits, abandoned=len(abandoned),
                   called_back=sum(1 for c in abandoned if str(c.id) in served),
                   ringing_past=ringing_past, incident_ids=[c.incident_id for c in calls],
                   target_s=target_s, resolved=resolved)


def summary(name: str, *, calls: int, waits: Sequence[float], abandoned: int, called_back: int,
            ringing_past: int, incident_ids: Iterable[uuid.UUID | None], target_s: float,
            resolved: dict[uuid.UUID, str] | None = None) -> SloWindow:
    """A window's figures from its calls' answer times (seconds from the first ring), how many
    were abandoned and later reached, and how many still ring past the target."""
    ordered = sorted(waits)
    within = bisect.bisect_right(ordered, target_s)
    decided = len(waits) + abandoned + ringing_past
    finished = len(waits) + abandoned
    resolved = resolved or {}
    by_outcome = Counter(resolved[i] for i in incident_ids if i is not None and i in resolved)
    return SloWindow(
        window=name, calls=calls, answered=len(waits), answered_within_target=within,
        decided=decided, share_within_target=round(within / decided, 4) if decided else None,
        answer_p50_s=quantile(ordered, 0.50, ordered=True),
        answer_p90_s=quantile(ordered, 0.90, ordered=True),
        answer_p95_s=quantile(ordered, 0.95, ordered=True), abandoned=abandoned, called_back=called_back,
        answer_rate=round((len(waits) + called_back) / finished, 4) if finished else None,
        without_ambulance=sum(by_outcome.values()),
        without_ambulance_by_outcome=dict(sorted(by_outcome.items())),
    )


async def compute(*, session: AsyncSession, rt: Runtime, now: datetime | None = None) -> SloOut:
    """SLO figures for the last 15 minutes, hour and day, and staffing advice."""
    now = now or rt.clock.now()
    target_s = rt.settings.answer_target_seconds
    longest = WINDOWS[-1][1]
    calls: list[CallTimes] = list((await session.execute(  # type: ignore[arg-type]
        select(*CALL_TIMES).where(Call.rung_at >= now - longest, Call.rung_at <= now, REAL)
    )).all())
    served = {str(i) for i in (await session.scalars(
        select(Callback.call_id).where(Callback.status == CallbackStatus.RESOLVED,
                                       Callback.outcome.in_(SERVED))
        .join(Call, Call.id == Callback.call_id).where(Call.rung_at >= now - longest, REAL)
    )).all()}
    resolved = await places_stats.without_ambulance(
        session, {c.incident_id for c in calls if c.incident_id is not None})
    windows = [
        window_figures(name, [c for c in calls if c.rung_at >= now - span], served, now, target_s,
                       resolved)
        for name, span in WINDOWS
    ]
    recent = [c for c in calls if c.rung_at >= now - WINDOWS[0][1]]
    rate = len(recent) / WINDOWS[0][1].total_seconds()
    handled = [(c.ended_at - c.answered_at).total_seconds() for c in calls
               if c.ended_at and c.answered_at and c.ended_at >= now - timedelta(hours=1)]
    handling = sum(handled) / len(handled) if handled else DEFAULT_HANDLING_SECONDS
    positions = await list_positions(session=session, rt=rt)
    ringing = int(await session.scalar(
        select(func.count()).select_from(Call).where(Call.status == CallStatus.RINGING, REAL)) or 0)
    out = SloOut(
        at=now, target_seconds=target_s, target_share=TARGET_SHARE, windows=windows,
        ringing=ringing, callbacks_pending=await pending_count(session=session),
        staffing=StaffingAdvice(
            arrival_rate_per_hour=round(rate * 3600, 2), handling_seconds=round(handling, 1),
            needed=agents_needed(rate, handling, target_s),
            logged_in=sum(1 for p in positions if p.state != "logged_out"),
            ready=sum(1 for p in positions if p.state == "ready"),
        ),
    )
    export(rt, out)
    return out


def export(rt: Runtime, slo: SloOut) -> None:
    """Copy the figures to the Prometheus gauges."""
    m = rt.metrics
    for w in slo.windows:
        if w.share_within_target is not None:
            m.slo_share.labels(w.window).set(w.share_within_target)
        if w.answer_p95_s is not None:
            m.slo_answer_p95.labels(w.window).set(w.answer_p95_s)
        if w.answer_rate is not None:
            m.slo_answer_rate.labels(w.window).set(w.answer_rate)
    m.calls_ringing.set(slo.ringing)
    m.callbacks_pending.set(slo.callbacks_pending)
    m.staffing_needed.set(slo.staffing.needed)
    m.positions_ready.set(slo.staffing.ready)

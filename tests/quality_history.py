"""A month of history whose indicators are worked out by hand (see the comments), for the quality tests.

T0 = 2026-11-10 02:00 UTC. Times below are seconds after T0.
- C1 rings at 0, answered at 10 (exactly the target): incident I1 (critical, sealed, sd-a).
  U1 dispatched 100, en route 250, on scene 700, transporting 1300, at hospital 2200,
  handed over 2800 (10 min).
- C2 rings at 3600, answered 3604: I2 (urgent, no zone, sd-a). U2 dispatched 3700 and declines
  at 3760; U1 (its second job) dispatched 3800, en route 3990, on scene 4600, transporting 5200,
  at hospital 5800, handed over 7000 (20 min). A position report of U1 at 4000 is not a step.
- C3 rings at 7200, answered 7225: I3 (critical, sealed, sd-b). U3 dispatched 7300, en route 7480
  (exactly 3 min), on scene 7900, transporting 8400, at hospital 9100; the crew closes the
  handover at 10600 for want of an answer (a refusal).
- C4 rings at 10800, abandoned at 10808, called back and reached. C5 rings at 14400, abandoned
  at 14403, never reached. C6 rings at 18000, answered 18006, no incident.
- C7 rings at 21600, answered 21602: I4 (non-urgent, precaution, sd-b) referred to a fever clinic.
- C8 rings at 25200, answered 25212: I5 (urgent, controlled, sd-a). U2 dispatched 25300 and
  cancelled 25350 before leaving; the incident is cancelled.
- C9 rings at 2026-11-30 16:00 UTC (December 1st in Xi'an): outside November, as is its I6.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.calls.models import Call, Callback
from dispatch.fleet.enums import STEP_COLUMNS
from dispatch.fleet.models import Assignment, Unit, UnitEvent
from dispatch.fleet.models import UnitStatus as S
from dispatch.handovers.models import Handover
from dispatch.hospitals.models import Hospital
from dispatch.incidents.models import Incident
from dispatch.routing.models import RoutingDecision

T0 = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
CHAIN = ("assigned", "acknowledged", "en_route", "on_scene", "transporting", "at_hospital",
         "handover_done", "available")


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class History:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.rows: list[Any] = []
        self.calls = 0

    async def flush(self, keep: tuple[type, ...] = ()) -> None:
        """Insert what is waiting but rows of the `keep` types (their parents come first)."""
        self.session.add_all([r for r in self.rows if not isinstance(r, keep)])
        await self.session.flush()
        self.rows = [r for r in self.rows if isinstance(r, keep)]

    def call(self, rung: float, *, answered: float | None = None, abandoned: float | None = None,
             incident: uuid.UUID | None = None, at: datetime | None = None) -> uuid.UUID:
        self.calls += 1
        rung_at = at or t(rung)
        call = Call(id=uuid.uuid4(), telephony_id=f"q-{self.calls}", line="120-1", rung_at=rung_at,
                    received_at=rung_at, status="ended" if answered is not None else "abandoned",
                    answered_at=t(answered) if answered is not None else None,
                    abandoned_at=t(abandoned) if abandoned is not None else None, incident_id=incident)
        self.rows.append(call)
        return call.id

    def incident(self, created: float, severity: str, zone_status: str | None, sub_district: str,
                 status: str = "closed", at: datetime | None = None) -> uuid.UUID:
        incident = Incident(id=uuid.uuid4(), created_at=at or t(created), updated_at=at or t(created),
                            status=status, severity=severity, category="ordinary",
                            zone_status=zone_status, sub_district_id=sub_district,
                            zone_id=f"zone-{zone_status}" if zone_status else None)
        self.rows.append(incident)
        return incident.id

    def job(self, incident: uuid.UUID, unit: str, times: list[float], *, ended: float,
            status: str) -> uuid.UUID:
        """A unit's job: its status changes at `times` along CHAIN (the last one ends it)."""
        aid = uuid.uuid4()
        steps = {STEP_COLUMNS[S(s)]: t(at) for s, at in zip(CHAIN, times, strict=False)
                 if s in STEP_COLUMNS}  # as the crew's reports record them on the job
        self.rows.append(Assignment(id=aid, incident_id=incident, unit_id=unit, status=status,
                                    proposed_at=t(times[0]), confirmed_at=t(times[0]),
                                    ended_at=t(ended), **steps))
        previous = "available"
        for status_, at in zip(CHAIN, times, strict=False):
            self.event(unit, previous, status_, at)
            previous = status_
        return aid

    def event(self, unit: str, previous: str, to: str, at: float) -> None:
        self.rows.append(UnitEvent(unit_id=unit, at=t(at), type="status", from_status=previous,
                                   to_status=to, data={}))

    def handover(self, assignment: uuid.UUID, incident: uuid.UUID, unit: str, arrived: float,
                 done: float, crew_reason: str | None = None) -> None:
        self.rows.append(Handover(
            id=uuid.uuid4(), assignment_id=assignment, incident_id=incident, unit_id=unit,
            hospital_id="h1", status="handed_over", category="ordinary", severity="urgent",
            infection_status="none", notice_at=t(arrived - 600), arrived_at=t(arrived),
            done_at=t(done), done_by_crew_reason=crew_reason))

    def decision(self, incident: uuid.UUID, at: float, outcome: str, mode: str | None) -> None:
        self.rows.append(RoutingDecision(id=uuid.uuid4(), incident_id=incident, rule_set_version=1,
                                         decided_at=t(at), outcome=outcome, transport_mode=mode,
                                         decision={}))


async def record(session: AsyncSession) -> None:
    """Write the history above (units and a hospital first)."""
    session.add(Hospital(id="h1", name="Hospital 1", lat=34.2, lon=108.9))
    session.add_all([Unit(id=u, call_sign=u, kind="ambulance") for u in ("U1", "U2", "U3")])
    await session.flush()
    h = History(session)
    i1 = h.incident(40, "critical", "sealed", "sd-a")
    i2 = h.incident(3630, "urgent", None, "sd-a")
    i3 = h.incident(7260, "critical", "sealed", "sd-b")
    i4 = h.incident(21630, "non_urgent", "precaution", "sd-b")
    i5 = h.incident(25240, "urgent", "controlled", "sd-a", status="cancelled")
    december = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    i6 = h.incident(0, "critical", None, "sd-a", at=december + timedelta(seconds=30))
    await h.flush()  # no relationships order the inserts: parents first
    h.call(0, answered=10, incident=i1)
    h.call(3600, answered=3604, incident=i2)
    h.call(7200, answered=7225, incident=i3)
    c4 = h.call(10800, abandoned=10808)
    h.call(14400, abandoned=14403)
    h.call(18000, answered=18006)
    h.call(21600, answered=21602, incident=i4)
    h.call(25200, answered=25212, incident=i5)
    h.call(0, incident=i6, at=december)
    await h.flush()
    a1 = h.job(i1, "U1", [100, 130, 250, 700, 1300, 2200, 2800, 2810], ended=2800, status="completed")
    h.handover(a1, i1, "U1", 2200, 2800)
    h.job(i2, "U2", [3700], ended=3760, status="declined")
    h.event("U2", "assigned", "available", 3760)
    a2 = h.job(i2, "U1", [3800, 3830, 3990, 4600, 5200, 5800, 7000, 7010], ended=7000,
               status="completed")
    h.rows.append(UnitEvent(unit_id="U1", at=t(4000), type="position", lat=34.2, lon=108.9, data={}))
    h.handover(a2, i2, "U1", 5800, 7000)
    a3 = h.job(i3, "U3", [7300, 7320, 7480, 7900, 8400, 9100, 10600, 10610], ended=10600,
               status="completed")
    h.handover(a3, i3, "U3", 9100, 10600, crew_reason="no_response_within_target")
    h.decision(i4, 21630, "refer", None)
    h.decision(i5, 25240, "transport", "ambulance")
    h.job(i5, "U2", [25300], ended=25350, status="cancelled")
    h.event("U2", "assigned", "available", 25350)
    h.job(i6, "U3", [december.timestamp() - T0.timestamp() + 60], ended=1e7, status="completed")
    await h.flush(keep=(Handover,))
    h.rows.append(Callback(id=uuid.uuid4(), call_id=c4, status="resolved", created_at=t(10808),
                           updated_at=t(11000), outcome="reached", resolved_at=t(11000)))
    session.add_all(h.rows)
    await session.commit()

"""A synthetic month of a 120 centre's records, for the quality benchmark and the panel's screenshot.

Each incident has what the hub would have written: its call (and now and then an abandoned call
called back, or an answered call with no incident), a routing decision, its jobs (a first unit
that declines now and then, a job cancelled before the unit leaves), the units' status changes
and position reports, and the hospital handover. A unit works one job at a time.
"""

from __future__ import annotations

import heapq
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.calls.models import Call, Callback
from dispatch.db import table
from dispatch.fleet.enums import STEP_COLUMNS
from dispatch.fleet.models import Assignment, Unit, UnitEvent
from dispatch.handovers.models import Handover
from dispatch.hospitals.models import Hospital
from dispatch.incidents.models import Incident
from dispatch.routing.models import RoutingDecision
from dispatch.zones.models import SubDistrict

ZONES = [(None, 0.80), ("precaution", 0.10), ("controlled", 0.06), ("sealed", 0.04)]
SEVERITIES = [("critical", 0.2), ("urgent", 0.5), ("non_urgent", 0.3)]
COMMUNITY = ["refer", "home_visit", "callback_by_doctor"]
JOB = ("assigned", "acknowledged", "en_route", "on_scene", "transporting", "at_hospital",
       "handover_done", "available")
BATCH = 20_000


def pick(rng: random.Random, weighted: list[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


class Month:
    """Rows of a month, built in memory and written in batches."""

    def __init__(self, rng: random.Random, units: list[str], hospital: str, areas: list[str],
                 positions_per_job: int) -> None:
        self.rng, self.hospital, self.areas = rng, hospital, areas
        self.positions = positions_per_job
        self.free: list[tuple[datetime, str]] = [(datetime.min.replace(tzinfo=UTC), u) for u in units]
        self.rows: dict[Any, list[dict[str, Any]]] = {m: [] for m in (
            Incident, Call, RoutingDecision, Assignment, UnitEvent, Handover, Callback)}
        self.calls = 0

    def call(self, rung: datetime, incident: uuid.UUID | None, *, answer_s: float | None,
             abandon_s: float | None = None) -> uuid.UUID:
        self.calls += 1
        cid = uuid.uuid4()
        self.rows[Call].append({
            "id": cid, "telephony_id": f"qm-{cid.hex}", "line": f"120-{self.calls % 8}", "priority": False,
            "caller_number": None, "rung_at": rung, "received_at": rung,
            "status": "ended" if answer_s is not None else "abandoned",
            "answered_at": rung + timedelta(seconds=answer_s) if answer_s is not None else None,
            "abandoned_at": rung + timedelta(seconds=abandon_s) if abandon_s is not None else None,
            "ended_at": rung + timedelta(seconds=(answer_s or 0) + 90) if answer_s is not None else None,
            "incident_id": incident})
        return cid

    def unit_free_at(self, wanted: datetime) -> tuple[str, datetime]:
        free_at, unit = heapq.heappop(self.free)
        at = max(wanted, free_at + timedelta(seconds=5))
        return unit, at

    def job(self, incident: uuid.UUID, at: datetime, *, ending: str, steps: list[float]) -> uuid.UUID:
        """A job from `at`; steps are the seconds between the statuses of JOB that happen."""
        unit, at = self.unit_free_at(at)
        aid = uuid.uuid4()
        times = [at]
        for gap in steps:
            times.append(times[-1] + timedelta(seconds=gap))
        ended = times[-1]
        self.rows[Assignment].append({
            "id": aid, "incident_id": incident, "unit_id": unit, "status": ending,
            "proposed_at": at, "confirmed_at": at, "ended_at": ended, "decision_id": None,
            "destination_hospital_id": None, "proposed_by": "bench", "confirmed_by": "bench",
            "ack_deadline": None, "acknowledged_at": None, "end_reason": ending,
            "override_reason": None, "escalated_from_id": None,
            **dict.fromkeys(STEP_COLUMNS.values())})
        statuses = [*JOB[:len(times) - 1], "available"]
        job = self.rows[Assignment][-1]
        for status, when in zip(statuses, times, strict=True):  # as the crew's reports record them
            if status in STEP_COLUMNS and job[STEP_COLUMNS[status]] is None:
                job[STEP_COLUMNS[status]] = when
        previous = "available"
        for status, when in zip(statuses, times, strict=True):
            self.rows[UnitEvent].append({"unit_id": unit, "at": when, "type": "status",
                                         "from_status": previous, "to_status": status, "lat": None,
                                         "lon": None, "actor": "bench", "data": {}})
            previous = status
        span = (ended - at).total_seconds()
        for k in range(self.positions):
            self.rows[UnitEvent].append({
                "unit_id": unit, "at": at + timedelta(seconds=span * (k + 0.5) / self.positions),
                "type": "position", "from_status": None, "to_status": None, "lat": 34.2, "lon": 108.9,
                "actor": None, "data": {}})
        heapq.heappush(self.free, (ended, unit))
        return aid

    def incident(self, rung: datetime) -> None:
        rng = self.rng
        iid = uuid.uuid4()
        answer = rng.lognormvariate(1.4, 0.5)  # about 4 s; a few over 10 s
        created = rung + timedelta(seconds=answer + rng.uniform(30, 90))
        zone = pick(rng, ZONES)
        severity = pick(rng, SEVERITIES)
        cancelled = rng.random() < 0.02
        community = severity == "non_urgent" and rng.random() < 0.2
        self.rows[Incident].append({
            "id": iid, "created_at": created, "updated_at": created, "created_by": "bench",
            "status": "cancelled" if cancelled else "closed", "address": None, "lat": None, "lon": None,
            "severity": severity, "category": "ordinary", "infection_status": "none", "flags": {},
            "complaint": None, "notes": None, "registered_hospital_id": None,
            "treating_hospital_id": None, "zone_id": f"zone-{zone}" if zone else None,
            "zone_status": zone, "sub_district_id": rng.choice(self.areas)})
        self.call(rung, iid, answer_s=answer)
        self.rows[RoutingDecision].append({
            "id": uuid.uuid4(), "incident_id": iid, "rule_set_version": 1, "decided_at": created,
            "decided_by": "bench", "outcome": rng.choice(COMMUNITY) if community else "transport",
            "destination_hospital_id": None, "transport_mode": None if community else "ambulance",
            "required_capabilities": [], "decision": {}, "matched_rules": []})
        if community:
            return
        dispatched = created + timedelta(seconds=rng.uniform(20, 120))
        if rng.random() < 0.03:  # the first crew declines
            self.job(iid, dispatched, ending="declined", steps=[30])
            dispatched += timedelta(seconds=35)
        if cancelled:
            self.job(iid, dispatched, ending="cancelled", steps=[rng.uniform(20, 60)])
            return
        turnout = rng.uniform(40, 170) if rng.random() < 0.95 else rng.uniform(180, 420)
        travel = rng.uniform(300, 900) + (120 if zone == "sealed" else 0)
        handover_s = rng.uniform(300, 840) if rng.random() < 0.92 else rng.uniform(900, 1800)
        steps = [rng.uniform(5, 30), turnout - 5, travel, rng.uniform(600, 1500),
                 rng.uniform(600, 1800), handover_s, 60]
        aid = self.job(iid, dispatched, ending="completed", steps=steps)
        unit = self.rows[Assignment][-1]["unit_id"]
        events = self.rows[UnitEvent]
        arrived = next(e["at"] for e in reversed(events) if e["unit_id"] == unit
                       and e["to_status"] == "at_hospital")
        self.rows[Handover].append({
            "id": uuid.uuid4(), "assignment_id": aid, "incident_id": iid, "unit_id": unit,
            "hospital_id": self.hospital, "status": "handed_over", "category": "ordinary",
            "severity": severity, "infection_status": "none",
            "notice_at": arrived - timedelta(minutes=10), "eta_at": None,
            "notice_acknowledged_at": None, "notice_acknowledged_by": None, "arrived_at": arrived,
            "done_at": arrived + timedelta(seconds=handover_s), "done_by": "bench",
            "done_by_crew_reason": "no_response_within_target" if rng.random() < 0.01 else None,
            "overdue_level": 0})

    def other_call(self, rung: datetime) -> None:
        """An answered call with no incident, or an abandoned one (half of them called back)."""
        rng = self.rng
        if rng.random() < 0.6:
            self.call(rung, None, answer_s=rng.lognormvariate(1.4, 0.5))
            return
        cid = self.call(rung, None, answer_s=None, abandon_s=rng.uniform(2, 20))
        if rng.random() < 0.5:
            done = rung + timedelta(minutes=5)
            self.rows[Callback].append({
                "id": uuid.uuid4(), "call_id": cid, "caller_number": None, "status": "resolved",
                "created_at": rung, "updated_at": done, "attempts": 1, "taken_by": "P01",
                "outcome": "reached", "notes": None, "resolved_at": done})


async def write(session: AsyncSession, rows: dict[Any, list[dict[str, Any]]]) -> None:
    for model in (Incident, Call, RoutingDecision, Assignment, UnitEvent, Handover, Callback):
        batch = rows[model]
        for i in range(0, len(batch), BATCH):
            await session.execute(insert(table(model)), batch[i:i + BATCH])
        batch.clear()


async def fill(session: AsyncSession, *, start: datetime, end: datetime, incidents: int,
               units: int = 0, positions_per_job: int = 4, seed: int = 26) -> int:
    """Record `incidents` incidents (plus about 8 % other calls) between start and end; use the
    hub's units, or add `units` of its own when it has none. Commits; returns the rows written."""
    rng = random.Random(seed)
    unit_ids = list((await session.scalars(select(Unit.id).where(Unit.active))).all())
    if not unit_ids:
        unit_ids = [f"QM-{n:03d}" for n in range(units or 200)]
        await session.execute(insert(table(Unit)), [
            {"id": u, "call_sign": u, "kind": "ambulance", "capabilities": ["ambulance"], "crew": [],
             "active": True, "status": "available", "infectious_load": False} for u in unit_ids])
    hospital = await session.scalar(select(Hospital.id).limit(1))
    if hospital is None:
        hospital = "qm-hospital"
        await session.execute(insert(table(Hospital)), [{
            "id": hospital, "name": "Quality month hospital", "lat": 34.2, "lon": 108.9,
            "capabilities": [], "designations": [], "full_categories": []}])
    areas = list((await session.scalars(select(SubDistrict.id))).all()) or [f"sd-{n}" for n in range(12)]
    month = Month(rng, unit_ids, hospital, areas, positions_per_job)
    span = (end - start).total_seconds()
    rung_times = sorted(rng.uniform(0, span - 4 * 3600) for _ in range(incidents))
    written = 0
    for n, offset in enumerate(rung_times):
        month.incident(start + timedelta(seconds=offset))
        if rng.random() < 0.08:
            month.other_call(start + timedelta(seconds=offset + rng.uniform(1, 60)))
        if n % 5000 == 4999 or n == len(rung_times) - 1:
            written += sum(len(v) for v in month.rows.values())
            await write(session, month.rows)
    await session.commit()
    return written

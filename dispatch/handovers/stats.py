"""Handover times per hospital: how long patients wait at the door after arrival."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.handovers.enums import HandoverStatus
from dispatch.handovers.models import Handover
from dispatch.hospitals.models import Hospital


class HandoverStats(BaseModel):
    hospital_id: str
    hospital_name: str
    handed_over: int
    p50_minutes: float | None
    p90_minutes: float | None
    over_target: int
    waiting_now: int
    incoming_now: int


def nearest_rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(q * len(ordered))) - 1], 2)


async def per_hospital(
    *, session: AsyncSession, now: datetime, window: timedelta, target_minutes: float,
    hospital_id: str | None = None,
) -> list[HandoverStats]:
    """Handovers finished in the window, and patients waiting or coming now, per hospital."""
    query = (select(Handover, Hospital).join(Hospital, Hospital.id == Handover.hospital_id)
             .where((Handover.done_at >= now - window) | Handover.status.in_(
                 [HandoverStatus.ARRIVED, HandoverStatus.INCOMING])))
    if hospital_id:
        query = query.where(Handover.hospital_id == hospital_id)
    rows = (await session.execute(query)).all()
    grouped: dict[str, tuple[Hospital, list[Handover]]] = {}
    for handover, hospital in rows:
        grouped.setdefault(hospital.id, (hospital, []))[1].append(handover)
    out = []
    for hid, (hospital, handovers) in sorted(grouped.items()):
        minutes = [(h.done_at - h.arrived_at).total_seconds() / 60 for h in handovers
                   if h.status == HandoverStatus.HANDED_OVER and h.done_at and h.arrived_at]
        out.append(HandoverStats(
            hospital_id=hid, hospital_name=hospital.name_zh or hospital.name,
            handed_over=len(minutes), p50_minutes=nearest_rank(minutes, 0.5),
            p90_minutes=nearest_rank(minutes, 0.9),
            over_target=sum(1 for m in minutes if m > target_minutes),
            waiting_now=sum(1 for h in handovers if h.status == HandoverStatus.ARRIVED),
            incoming_now=sum(1 for h in handovers if h.status == HandoverStatus.INCOMING),
        ))
    return out

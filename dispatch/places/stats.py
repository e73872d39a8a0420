"""How calls were resolved without an ambulance, for the SLO view."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.routing.models import RoutingDecision
from dispatch.routing.schemas import Outcome, TransportMode

# Transports that need no ambulance: the patient walks or drives, or a volunteer car goes.
NO_AMBULANCE_MODES = frozenset({TransportMode.SELF_TRAVEL.value, TransportMode.CLOSED_LOOP_VEHICLE.value})


def resolution(outcome: str, transport_mode: str | None) -> str | None:
    """How a decision resolves the call without an ambulance (None: it sends one).

    Community care outcomes count under their name (refer, home_visit, callback_by_doctor);
    transports without an ambulance under their mode (self_travel, closed_loop_vehicle).
    """
    if outcome != Outcome.TRANSPORT:
        return outcome
    if transport_mode in NO_AMBULANCE_MODES:
        return transport_mode
    return None


async def without_ambulance(
    session: AsyncSession, incident_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """For each incident whose latest decision sends no ambulance, how it is resolved."""
    wanted = set(incident_ids)
    if not wanted:
        return {}
    rows = (await session.execute(
        select(RoutingDecision.incident_id, RoutingDecision.outcome, RoutingDecision.transport_mode)
        .where(RoutingDecision.incident_id.in_(wanted))
        .order_by(RoutingDecision.decided_at, RoutingDecision.id)
    )).all()
    latest: dict[uuid.UUID, str | None] = {}
    for incident_id, outcome, mode in rows:  # oldest first: the last one stays
        if incident_id is not None:
            latest[incident_id] = resolution(outcome, mode)
    return {k: v for k, v in latest.items() if v is not None}

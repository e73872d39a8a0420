"""Hospital services: audited changes and the snapshot routing reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.errors import Conflict, NotFound
from dispatch.fleet.models import Assignment
from dispatch.handovers.models import Handover
from dispatch.hospitals.enums import HospitalStatus
from dispatch.hospitals.models import Hospital
from dispatch.hospitals.schemas import HospitalCreate, HospitalOut, HospitalUpdate
from dispatch.incidents.models import Incident
from dispatch.runtime import Runtime


def _dedupe(values: list[Any]) -> list[str]:
    return list(dict.fromkeys(str(getattr(v, "value", v)) for v in values))


def snapshot(hospital: Hospital) -> dict[str, Any]:
    """The hospital as JSON, as kept in the audit log."""
    return HospitalOut.model_validate(hospital).model_dump(mode="json")


async def list_hospitals(*, session: AsyncSession) -> list[Hospital]:
    """List hospitals by id."""
    return list((await session.scalars(select(Hospital).order_by(Hospital.id))).all())


async def get_hospital(*, session: AsyncSession, hospital_id: str) -> Hospital:
    """Get a hospital by id, or raise NotFound."""
    hospital = await session.get(Hospital, hospital_id)
    if hospital is None:
        raise NotFound(f"no hospital {hospital_id!r}")
    return hospital


async def _commit(
    session: AsyncSession, rt: Runtime, hospital: Hospital, action: str
) -> None:
    """Commit, move the hospitals counter so every instance reloads, then tell consoles."""
    event = rt.bus.event("hospitals.changed", {
        "id": hospital.id, "status": hospital.status, "action": action,
        "full_categories": list(hospital.full_categories),
    })
    await session.commit()
    await versions.bump(rt.redis, rt.keys, versions.HOSPITALS)
    await rt.bus.publish(event)


async def create_hospital(
    *, session: AsyncSession, rt: Runtime, data: HospitalCreate, actor: Actor
) -> Hospital:
    """Add a hospital."""
    if await session.get(Hospital, data.id) is not None:
        raise Conflict(f"hospital {data.id!r} already exists: change it with PATCH")
    now = rt.clock.now()
    values = data.model_dump()
    values["capabilities"] = _dedupe(data.capabilities)
    values["designations"] = _dedupe(data.designations)
    values["full_categories"] = _dedupe(data.full_categories)
    values["status"] = data.status.value
    hospital = Hospital(**values, status_changed_at=now)
    session.add(hospital)
    await session.flush()
    await audit.record(session, actor=actor.name, role=actor.role, action="hospital.created",
                       target_type="hospital", target_id=hospital.id, before=None,
                       after=snapshot(hospital), source=actor.source, at=now)
    await _commit(session, rt, hospital, "hospital.created")
    return hospital


def _action(before: str, after: str) -> str:
    if before != after and after == HospitalStatus.SUSPENDED:
        return "hospital.suspended"
    if before != after and after == HospitalStatus.OPEN:
        return "hospital.reopened"
    return "hospital.updated"


async def update_hospital(
    *, session: AsyncSession, rt: Runtime, hospital_id: str, changes: HospitalUpdate,
    actor: Actor,
) -> Hospital:
    """Change a hospital; suspending it reroutes every later decision on every instance."""
    hospital = await get_hospital(session=session, hospital_id=hospital_id)
    before = snapshot(hospital)
    now = rt.clock.now()
    for name in changes.model_fields_set:
        value = getattr(changes, name)
        if isinstance(value, list):
            value = _dedupe(value)
        elif value is not None and hasattr(value, "value"):
            value = value.value
        setattr(hospital, name, value)
    if hospital.status != before["status"]:
        hospital.status_changed_at = now
        if "status_reason" not in changes.model_fields_set:
            hospital.status_reason = None  # the old reason belonged to the old status
    after = snapshot(hospital)
    if after == before:
        return hospital
    action = _action(before["status"], hospital.status)
    await session.flush()
    await audit.record(session, actor=actor.name, role=actor.role, action=action,
                       target_type="hospital", target_id=hospital.id, before=before, after=after,
                       source=actor.source, at=now)
    await _commit(session, rt, hospital, action)
    return hospital


async def delete_hospital(
    *, session: AsyncSession, rt: Runtime, hospital_id: str, actor: Actor
) -> None:
    """Remove a hospital nothing refers to (suspend it otherwise)."""
    hospital = await get_hospital(session=session, hospital_id=hospital_id)
    for what, count in (
        ("the registered or treating hospital of {} incident(s)", select(func.count()).select_from(
            Incident).where(or_(Incident.registered_hospital_id == hospital_id,
                                Incident.treating_hospital_id == hospital_id))),
        ("the destination of {} assignment(s)", select(func.count()).select_from(Assignment)
         .where(Assignment.destination_hospital_id == hospital_id)),
        ("the hospital of {} handover(s)", select(func.count()).select_from(Handover)
         .where(Handover.hospital_id == hospital_id)),
    ):
        if references := await session.scalar(count):
            raise Conflict(f"hospital {hospital_id!r} is {what.format(references)}: "
                           "suspend it instead")
    before = snapshot(hospital)
    await session.delete(hospital)
    try:
        await session.flush()
    except IntegrityError as error:  # referred to a moment ago
        await session.rollback()
        raise Conflict(f"hospital {hospital_id!r} is referred to: suspend it instead") from error
    await audit.record(session, actor=actor.name, role=actor.role, action="hospital.deleted",
                       target_type="hospital", target_id=hospital_id, before=before, after=None,
                       source=actor.source, at=rt.clock.now())
    await _commit(session, rt, hospital, "hospital.deleted")







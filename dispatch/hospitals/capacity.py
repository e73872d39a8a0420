"""Hospital capacity: free beds per kind, raised and lowered by the hospital, never a refusal.

Seed 004: no hospital may refuse a patient for lack of beds. Capacity only ranks: when a kind
of bed runs out, the hospital is marked full for the patients who need it, and routing sends
non-critical patients elsewhere first; critical patients still go to the nearest capable
open hospital.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.db import upsert
from dispatch.errors import InvalidInput
from dispatch.hospitals.enums import CapacityCategory
from dispatch.hospitals.models import Hospital, HospitalCapacity
from dispatch.hospitals.service import get_hospital
from dispatch.realtime.schemas import Scope
from dispatch.runtime import Runtime

# Which patients a kind of bed serves (patient categories as routing knows them).
SERVES: dict[str, tuple[str, ...]] = {
    CapacityCategory.GENERAL: ("ordinary", "chronic", "disabled", "immobile_elderly"),
    CapacityCategory.DIALYSIS: ("dialysis",),
    CapacityCategory.DELIVERY: ("pregnant",),
    CapacityCategory.NEONATAL: ("newborn",),
    CapacityCategory.ONCOLOGY: ("cancer",),
    CapacityCategory.ICU: (),
    CapacityCategory.INFECTIOUS: (),
    CapacityCategory.YELLOW_CODE: (),
}


def rows_out(rows: list[HospitalCapacity]) -> list[dict[str, Any]]:
    return [{"category": r.category, "available": r.available, "total": r.total,
             "updated_at": r.updated_at, "updated_by": r.updated_by,
             "full_for": list(SERVES[r.category]) if r.available == 0 else []}
            for r in sorted(rows, key=lambda r: r.category)]


async def capacity_of(*, session: AsyncSession, hospital_id: str) -> list[HospitalCapacity]:
    await get_hospital(session=session, hospital_id=hospital_id)
    return list((await session.scalars(
        select(HospitalCapacity).where(HospitalCapacity.hospital_id == hospital_id))).all())


async def change(
    *, session: AsyncSession, rt: Runtime, hospital_id: str, category: CapacityCategory,
    actor: Actor, available: int | None = None, delta: int | None = None,
    total: int | None = None,
) -> list[HospitalCapacity]:
    """Set (`available`) or adjust (`delta`) one kind of bed; concurrent updates add up."""
    if (available is None) == (delta is None):
        raise InvalidInput.field("body", "give either available or delta")
    now = rt.clock.now()
    # Lock the hospital row: the full-for list is derived from every kind of bed.
    hospital = (await session.scalars(
        select(Hospital).where(Hospital.id == hospital_id).with_for_update())).first()
    if hospital is None:
        await get_hospital(session=session, hospital_id=hospital_id)  # raises NotFound
        raise AssertionError
    current = await session.get(HospitalCapacity, (hospital_id, category.value),
                                with_for_update=True, populate_existing=True)
    before = None if current is None else {"available": current.available, "total": current.total}
    start = current.available if current is not None else 0
    value = available if available is not None else max(0, start + (delta or 0))
    cap = total if total is not None else (current.total if current is not None else None)
    if cap is not None and value > cap:  # the same cap whether set or adjusted
        field = "body.available" if available is not None else "body.delta"
        raise InvalidInput.field(field, f"{value} free would be more than the total ({cap})")
    await session.execute(upsert(session, HospitalCapacity, ["hospital_id", "category"], {
        "hospital_id": hospital_id, "category": category.value, "available": value,
        "total": total if total is not None else (current.total if current else None),
        "updated_at": now, "updated_by": actor.name[:64],
    }))
    served = set(SERVES[category])
    full = [c for c in hospital.full_categories if c not in served]
    if value == 0:
        full += sorted(served)
    changed_full = full != list(hospital.full_categories)
    if changed_full:
        hospital.full_categories = full
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="hospital.capacity", target_type="hospital", target_id=hospital_id,
                       before={category.value: before},
                       after={category.value: {"available": value, "total": total}}, at=now)
    await session.commit()
    if changed_full:
        await versions.bump(rt.redis, rt.keys, versions.HOSPITALS)
    rows = await capacity_of(session=session, hospital_id=hospital_id)
    await rt.bus.publish(
        rt.bus.event("hospital.capacity", {
            "hospital_id": hospital_id, "category": category.value, "available": value,
            "full_categories": list(hospital.full_categories), "capacity": rows_out(rows),
        }, scope=Scope(console=True, hospitals=(hospital_id,)), at=now),
        *([rt.bus.event("hospitals.changed", {
            "id": hospital_id, "status": hospital.status, "action": "hospital.capacity",
            "full_categories": list(hospital.full_categories)}, at=now)] if changed_full else []),
    )
    return rows

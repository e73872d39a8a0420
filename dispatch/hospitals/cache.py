"""This process's snapshot of the hospitals (routing reads it on every decision), reloaded
when any instance changes a hospital."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.hospitals.models import Hospital
from dispatch.hospitals.snapshot import HospitalSnapshot, HospitalView
from dispatch.runtime import Runtime


async def load_snapshot(session: AsyncSession) -> HospitalSnapshot:
    """Read every hospital into an immutable snapshot."""
    hospitals = (await session.scalars(select(Hospital))).all()
    return HospitalSnapshot.build(HospitalView.of(h) for h in hospitals)


def snapshot_cache(rt: Runtime) -> versions.VersionedCache[HospitalSnapshot]:
    return versions.cache_of(rt, "hospitals", versions.HOSPITALS, load_snapshot)


async def hospital_snapshot(
    *, rt: Runtime, session: AsyncSession | None = None
) -> HospitalSnapshot:
    """This process's hospital snapshot, reloaded if any instance changed a hospital since."""
    return await snapshot_cache(rt).get(rt, session=session)


"""Community care places: listing, audited changes, and the snapshot routing reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.errors import InvalidInput, NotFound
from dispatch.places.enums import PlaceKind, PlaceStatus
from dispatch.places.models import Place
from dispatch.places.schemas import PlaceOut
from dispatch.places.snapshot import PLACES
from dispatch.runtime import Runtime

EDITABLE = ("kind", "name", "name_zh", "lat", "lon", "location_approximate", "address", "phone",
            "hours", "timezone", "services", "paired_hospital_id", "parent_id",
            "served_sub_district_ids", "served_zone_id", "population_served", "unit_id", "source",
            "notes")


def snapshot(place: Place) -> dict[str, Any]:
    """The place as JSON, as kept in the audit log."""
    return PlaceOut.model_validate(place).model_dump(mode="json")


async def list_places(
    *, session: AsyncSession, kind: PlaceKind | None = None, status: PlaceStatus | None = None,
    zone_id: str | None = None,
) -> list[Place]:
    """List places by id, optionally of one kind, status or served zone."""
    query = select(Place).order_by(Place.id)
    if kind is not None:
        query = query.where(Place.kind == kind.value)
    if status is not None:
        query = query.where(Place.status == status.value)
    if zone_id is not None:
        query = query.where(Place.served_zone_id == zone_id)
    return list((await session.scalars(query)).all())


async def get_place(*, session: AsyncSession, place_id: str) -> Place:
    """Get a place by id, or raise NotFound."""
    place = await session.get(Place, place_id)
    if place is None:
        raise NotFound(f"no place {place_id!r}")
    return place


async def check_referrer(session: AsyncSession, place_id: str | None, field: str) -> None:
    """A referral upward comes from a known community health centre (000 二(二))."""
    if place_id is None:
        return
    place = await session.get(Place, place_id)
    if place is None:
        raise InvalidInput.field(field, f"no place {place_id!r}")
    if place.kind != PlaceKind.COMMUNITY_HEALTH_CENTRE:
        raise InvalidInput.field(field, f"{place_id!r} is a {place.kind}, not a community health "
                                        "centre: only centres refer upward to a paired hospital")


async def apply_place(
    session: AsyncSession, values: dict[str, Any], *, actor: Actor, at: datetime
) -> str | None:
    """Create or update a place from whole data, audited; return the action, or None if unchanged.

    `status` in `values` is applied only when it differs from the stored one. Does not commit;
    call `changed` after committing.
    """
    place = await session.get(Place, values["id"])
    before = None if place is None else snapshot(place)
    if place is None:
        place = Place(id=values["id"], status=PlaceStatus.OPEN, status_changed_at=at,
                      timezone="Asia/Shanghai")
    for name in EDITABLE:
        if name in values:
            setattr(place, name, values[name])
    status = values.get("status")
    if status is not None and status != place.status:
        place.status, place.status_changed_at = status, at
        place.status_reason = values.get("status_reason")
    elif before is None:
        place.status_reason = values.get("status_reason")
    place.updated_at, place.updated_by = at, actor.name[:64]
    session.add(place)
    await session.flush()
    after = snapshot(place)
    if before is not None and {k: v for k, v in after.items() if k not in ("updated_at", "updated_by")} \
            == {k: v for k, v in before.items() if k not in ("updated_at", "updated_by")}:
        return None
    action = "place.created" if before is None else "place.updated"
    await audit.record(session, actor=actor.name, role=actor.role, action=action,
                       target_type="place", target_id=place.id, before=before, after=after,
                       source=actor.source, at=at)
    return action


async def changed(rt: Runtime, places: list[dict[str, Any]]) -> None:
    """After a commit: every instance reloads places for its next decision; consoles are told."""
    if not places:
        return
    await versions.bump(rt.redis, rt.keys, PLACES)
    await rt.bus.publish(rt.bus.event("places.changed", {"places": places}))


async def set_status(
    *, session: AsyncSession, rt: Runtime, place_id: str, status: PlaceStatus,
    reason: str | None, actor: Actor,
) -> Place:
    """Open or close a place; a closed place is never referred to by later decisions."""
    place = await get_place(session=session, place_id=place_id)
    if place.status == status.value and place.status_reason == reason:
        return place
    before = snapshot(place)
    now = rt.clock.now()
    if place.status != status.value:
        place.status_changed_at = now
    place.status, place.status_reason = status.value, reason
    place.updated_at, place.updated_by = now, actor.name[:64]
    await session.flush()
    action = "place.closed" if status == PlaceStatus.CLOSED else "place.opened"
    await audit.record(session, actor=actor.name, role=actor.role, action=action,
                       target_type="place", target_id=place.id, before=before,
                       after=snapshot(place), source=actor.source, at=now)
    await session.commit()
    await changed(rt, [{"id": place.id, "kind": place.kind, "status": place.status,
                        "action": action}])
    return place







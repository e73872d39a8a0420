"""Zone services: versioned, audited changes, GeoJSON import/export and point lookup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.errors import Conflict, InvalidInput, NotFound, validation_errors
from dispatch.realtime.schemas import OutgoingEvent
from dispatch.runtime import Runtime
from dispatch.zones.cache import zone_index
from dispatch.zones.enums import ZoneStatus
from dispatch.zones.index import ZoneMatch
from dispatch.zones.models import SubDistrict, Zone, ZoneRevision
from dispatch.zones.schemas import (
    FeatureCollection,
    ImportResult,
    ZoneIn,
    ZoneOut,
    ZoneUpdate,
)

IMPORTED = frozenset({"id", "name", "name_zh", "status", "sub_district", "community", "valid_from",
                      "valid_to"})


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def snapshot(zone: Zone) -> dict[str, Any]:
    """The zone as JSON, as kept in its revisions and the audit log."""
    return {
        "id": zone.id, "name": zone.name, "name_zh": zone.name_zh, "status": zone.status,
        "sub_district": zone.sub_district_id, "community": zone.community,
        "geometry": zone.geometry, "valid_from": _iso(zone.valid_from),
        "valid_to": _iso(zone.valid_to), "version": zone.version, "deleted": zone.deleted,
    }


def zone_out(zone: Zone) -> ZoneOut:
    return ZoneOut(
        id=zone.id, name=zone.name, name_zh=zone.name_zh, status=ZoneStatus(zone.status),
        sub_district=zone.sub_district_id, community=zone.community, geometry=zone.geometry,
        valid_from=zone.valid_from, valid_to=zone.valid_to, version=zone.version,
        updated_at=zone.updated_at, updated_by=zone.updated_by, deleted=zone.deleted,
    )


def _values(zone: Zone) -> dict[str, Any]:
    return {
        "name": zone.name, "name_zh": zone.name_zh, "status": zone.status,
        "sub_district": zone.sub_district_id,
        "community": zone.community, "geometry": zone.geometry,
        "valid_from": zone.valid_from, "valid_to": zone.valid_to,
    }


def _wanted(data: ZoneIn) -> dict[str, Any]:
    return {
        "name": data.name, "name_zh": data.name_zh, "status": data.status.value,
        "sub_district": data.sub_district,
        "community": data.community, "geometry": data.geometry,
        "valid_from": data.valid_from, "valid_to": data.valid_to,
    }


@dataclass(frozen=True, slots=True)
class ZoneChange:
    zone: Zone
    action: str  # zone.created, zone.updated, zone.deleted, zone.restored


async def apply_zone(
    session: AsyncSession, data: ZoneIn, *, actor: Actor, at: datetime, action: str | None = None
) -> ZoneChange | None:
    """Create or replace a zone from whole data: new version, revision and audit entry.

    Returns None when nothing changed. Does not commit; the caller commits and then calls
    `changed` so every instance sees the change.
    """
    zone = await session.get(Zone, data.id)
    before = None if zone is None else snapshot(zone)
    wanted = _wanted(data)
    if zone is not None and not zone.deleted and _values(zone) == wanted:
        return None
    if zone is None:
        zone = Zone(id=data.id, version=1)
        action = action or "zone.created"
    else:
        zone.version += 1
        action = action or ("zone.restored" if zone.deleted else "zone.updated")
    zone.name, zone.name_zh, zone.status = data.name, data.name_zh, data.status.value
    zone.sub_district_id, zone.community = data.sub_district, data.community
    zone.geometry, zone.valid_from, zone.valid_to = data.geometry, data.valid_from, data.valid_to
    zone.deleted = False
    return await _save(session, zone, before=before, action=action, actor=actor, at=at)


async def _save(
    session: AsyncSession, zone: Zone, *, before: dict[str, Any] | None, action: str,
    actor: Actor, at: datetime,
) -> ZoneChange:
    zone.updated_at, zone.updated_by = at, actor.name[:64]
    session.add(zone)
    await session.flush()
    after = snapshot(zone)
    session.add(ZoneRevision(zone_id=zone.id, version=zone.version, snapshot=after,
                             changed_at=at, changed_by=actor.name[:64]))
    await audit.record(session, actor=actor.name, role=actor.role, action=action,
                       target_type="zone", target_id=zone.id, before=before, after=after,
                       source=actor.source, at=at)
    return ZoneChange(zone=zone, action=action)


async def _check_sub_district(session: AsyncSession, value: str | None, field: str) -> None:
    if value is not None and await session.get(SubDistrict, value) is None:
        raise InvalidInput.field(field, f"unknown sub-district {value!r}")


def _event(rt: Runtime, changes: list[ZoneChange]) -> OutgoingEvent:
    return rt.bus.event("zones.changed", {"zones": [
        {"id": c.zone.id, "status": c.zone.status, "version": c.zone.version,
         "deleted": c.zone.deleted, "action": c.action} for c in changes
    ]})


async def _commit(session: AsyncSession, rt: Runtime, changes: list[ZoneChange]) -> None:
    """Commit, then move the zones counter so every instance reloads, then tell consoles."""
    event = _event(rt, changes) if changes else None
    await session.commit()
    if changes:
        await versions.bump(rt.redis, rt.keys, versions.ZONES)
    if event is not None:
        await rt.bus.publish(event)


async def get_zone(*, session: AsyncSession, zone_id: str, include_deleted: bool = False) -> Zone:
    """Get a zone by id, or raise NotFound."""
    zone = await session.get(Zone, zone_id)
    if zone is None or (zone.deleted and not include_deleted):
        raise NotFound(f"no zone {zone_id!r}")
    return zone


async def list_zones(
    *, session: AsyncSession, at: datetime | None = None, include_deleted: bool = False
) -> list[Zone]:
    """List zones by id; with `at`, only those in force at that time."""
    query = select(Zone).order_by(Zone.id)
    if not include_deleted:
        query = query.where(Zone.deleted.is_(False))
    zones = list((await session.scalars(query)).all())
    if at is not None:
        zones = [z for z in zones
                 if z.valid_from <= at and (z.valid_to is None or at < z.valid_to)]
    return zones


async def create_zone(*, session: AsyncSession, rt: Runtime, data: ZoneIn, actor: Actor) -> Zone:
    """Create a zone (or bring back a deleted one under the same id)."""
    existing = await session.get(Zone, data.id)
    if existing is not None and not existing.deleted:
        raise Conflict(f"zone {data.id!r} already exists: change it with PATCH")
    await _check_sub_district(session, data.sub_district, "body.sub_district")
    change = await apply_zone(session, data, actor=actor, at=rt.clock.now())
    assert change is not None
    await _commit(session, rt, [change])
    return change.zone


async def update_zone(
    *, session: AsyncSession, rt: Runtime, zone_id: str, changes: ZoneUpdate, actor: Actor
) -> Zone:
    """Change some fields of a zone; a new version takes effect for the next decision."""
    zone = await get_zone(session=session, zone_id=zone_id)
    merged = {"id": zone.id, **_values(zone)}
    merged.update(changes.model_dump(include=changes.model_fields_set))
    if "sub_district" in changes.model_fields_set:
        await _check_sub_district(session, changes.sub_district, "body.sub_district")
    try:
        data = ZoneIn.model_validate(merged)
    except ValidationError as error:
        errors = [{**e, "field": "body." + e["field"]} for e in validation_errors(error.errors())]
        raise InvalidInput("invalid field(s): " + ", ".join(e["field"] for e in errors),
                           errors=errors) from None
    change = await apply_zone(session, data, actor=actor, at=rt.clock.now())
    if change is not None:
        await _commit(session, rt, [change])
    return zone


async def delete_zone(*, session: AsyncSession, rt: Runtime, zone_id: str, actor: Actor) -> Zone:
    """Withdraw a zone (kept, with its history, as deleted)."""
    zone = await get_zone(session=session, zone_id=zone_id)
    before = snapshot(zone)
    zone.version += 1
    zone.deleted = True
    change = await _save(session, zone, before=before, action="zone.deleted", actor=actor,
                         at=rt.clock.now())
    await _commit(session, rt, [change])
    return zone


async def revisions(*, session: AsyncSession, zone_id: str) -> list[ZoneRevision]:
    """Every saved version of a zone, oldest first."""
    await get_zone(session=session, zone_id=zone_id, include_deleted=True)
    query = select(ZoneRevision).where(ZoneRevision.zone_id == zone_id)
    return list((await session.scalars(query.order_by(ZoneRevision.version))).all())


def parse_features(collection: FeatureCollection) -> list[ZoneIn]:
    """Validate every feature; raise InvalidInput naming each bad one (nothing is applied)."""
    zones: list[ZoneIn] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, feature in enumerate(collection.features):
        # Only the zone's own properties: tools add others (stroke, fill, …) that mean nothing here.
        raw = {k: v for k, v in feature.properties.items() if k in IMPORTED}
        if "id" not in raw and feature.id is not None:
            raw["id"] = str(feature.id)
        raw["geometry"] = feature.geometry
        try:
            zone = ZoneIn.model_validate(raw)
        except ValidationError as error:
            for e in validation_errors(error.errors()):
                where = "geometry" if e["field"] == "geometry" else "properties." + e["field"]
                errors.append({**e, "field": f"body.features[{i}].{where}"})
            continue
        if zone.id in seen:
            errors.append({"field": f"body.features[{i}].properties.id",
                           "message": f"duplicate zone id {zone.id!r}", "type": "duplicate"})
        seen.add(zone.id)
        zones.append(zone)
    if errors:
        raise InvalidInput("invalid field(s): " + ", ".join(e["field"] for e in errors[:10]),
                           errors=errors)
    return zones


async def import_geojson(
    *, session: AsyncSession, rt: Runtime, collection: FeatureCollection, actor: Actor,
    replace: bool = False,
) -> ImportResult:
    """Create or update a zone per feature, all or nothing; `replace` deletes the zones not listed."""
    zones = parse_features(collection)
    known = set((await session.scalars(select(SubDistrict.id))).all())
    for i, zone in enumerate(zones):
        if zone.sub_district is not None and zone.sub_district not in known:
            raise InvalidInput.field(f"body.features[{i}].properties.sub_district",
                                     f"unknown sub-district {zone.sub_district!r}")
    now = rt.clock.now()
    result = ImportResult(created=[], updated=[], unchanged=[], deleted=[])
    changes: list[ZoneChange] = []
    for zone in zones:
        change = await apply_zone(session, zone, actor=actor, at=now)
        if change is None:
            result.unchanged.append(zone.id)
            continue
        changes.append(change)
        (result.created if change.action == "zone.created" else result.updated).append(zone.id)
    if replace:
        listed = {z.id for z in zones}
        for existing in await list_zones(session=session):
            if existing.id not in listed:
                before = snapshot(existing)
                existing.version += 1
                existing.deleted = True
                changes.append(await _save(session, existing, before=before,
                                           action="zone.deleted", actor=actor, at=now))
                result.deleted.append(existing.id)
    await _commit(session, rt, changes)
    return result


async def export_geojson(*, session: AsyncSession, at: datetime | None = None) -> dict[str, Any]:
    """Every zone (or those in force at `at`) as a GeoJSON FeatureCollection."""
    features = []
    for zone in await list_zones(session=session, at=at):
        properties = snapshot(zone)
        geometry = properties.pop("geometry")
        properties.pop("deleted")
        properties["updated_at"] = _iso(zone.updated_at)
        properties["updated_by"] = zone.updated_by
        features.append({"type": "Feature", "id": zone.id, "geometry": geometry,
                         "properties": properties})
    return {"type": "FeatureCollection", "features": features}








async def lookup(*, rt: Runtime, lat: float, lon: float, at: datetime) -> ZoneMatch:
    """The zone in force at (lat, lon) at `at`; status `normal` when none is."""
    index = await zone_index(rt=rt)
    return index.lookup(lat, lon, at)

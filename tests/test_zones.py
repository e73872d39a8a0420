"""Zones: versioned, audited CRUD, GeoJSON import/export, point lookup and bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dispatch import versions
from dispatch.audit import service as audit_service
from dispatch.routing.models import RuleSet
from dispatch.zones.models import Zone, ZoneRevision
from tests.conftest import AUTH, token_for

SQUARE = [[108.95, 34.30], [108.97, 34.30], [108.97, 34.32], [108.95, 34.32], [108.95, 34.30]]
INNER = [[108.955, 34.305], [108.96, 34.305], [108.96, 34.31], [108.955, 34.31], [108.955, 34.305]]
INSIDE = {"lat": 34.307, "lon": 108.957}  # in both squares
OUTER_ONLY = {"lat": 34.315, "lon": 108.965}


def polygon(ring: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring]}


def zone(id_: str = "test-zone", status: str = "controlled", ring: list[list[float]] = SQUARE,
         **more: Any) -> dict[str, Any]:
    return {"id": id_, "name": f"Zone {id_}", "status": status, "geometry": polygon(ring), **more}


async def lookup(client: httpx.AsyncClient, where: dict[str, float], **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/zones/lookup", params={**where, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def audit_of(app: Any, target_type: str, target_id: str | None = None) -> list[Any]:
    async with app.state.runtime.sessionmaker() as session:
        return await audit_service.entries_for(session, target_type=target_type, target_id=target_id)


async def test_zone_lifecycle_is_versioned_and_audited(client: httpx.AsyncClient, app: Any) -> None:
    assert (await lookup(client, INSIDE))["status"] == "normal"
    created = await client.post("/api/v1/zones", json=zone(community="测试社区"))
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1
    assert (await lookup(client, INSIDE))["id"] == "test-zone"  # at once, no restart

    changed = await client.patch("/api/v1/zones/test-zone", json={"status": "sealed"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    assert changed.json()["community"] == "测试社区"  # absent fields keep their value
    match = await lookup(client, INSIDE)
    assert (match["id"], match["status"]) == ("test-zone", "sealed")

    cleared = await client.patch("/api/v1/zones/test-zone", json={"community": None})
    assert cleared.json()["community"] is None
    same = await client.patch("/api/v1/zones/test-zone", json={"status": "sealed"})
    assert same.json()["version"] == 3  # no change, no new version

    deleted = await client.delete("/api/v1/zones/test-zone")
    assert deleted.status_code == 200
    assert deleted.json()["deleted"] is True
    assert (await lookup(client, INSIDE))["status"] == "normal"
    assert (await client.get("/api/v1/zones/test-zone")).status_code == 404
    listed = (await client.get("/api/v1/zones", params={"include_deleted": "true"})).json()
    assert [z["id"] for z in listed] == ["test-zone"]

    revisions = (await client.get("/api/v1/zones/test-zone/revisions")).json()
    assert [(r["version"], r["snapshot"]["status"], r["snapshot"]["deleted"]) for r in revisions] == [
        (1, "controlled", False), (2, "sealed", False), (3, "sealed", False), (4, "sealed", True)]
    entries = await audit_of(app, "zone", "test-zone")
    assert [e.action for e in entries] == ["zone.created", "zone.updated", "zone.updated",
                                           "zone.deleted"]
    assert {e.actor for e in entries} == {"test-operator"}
    assert entries[0].actor_role == "admin"
    assert entries[0].source == "127.0.0.1"
    assert entries[0].before is None
    assert (entries[1].before["status"], entries[1].after["status"]) == ("controlled", "sealed")

    restored = await client.post("/api/v1/zones", json=zone(status="precaution"))
    assert restored.status_code == 201
    assert restored.json()["version"] == 5
    assert (await audit_of(app, "zone", "test-zone"))[-1].action == "zone.restored"


async def test_overlapping_zones_resolve_to_the_strictest(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/zones", json=zone("outer", "precaution"))).status_code == 201
    assert (await client.post("/api/v1/zones", json=zone("inner", "sealed", INNER))).status_code == 201
    both = await lookup(client, INSIDE)
    assert (both["id"], both["status"], both["overlapping"]) == ("inner", "sealed", ["inner", "outer"])
    outer = await lookup(client, OUTER_ONLY)
    assert (outer["id"], outer["status"]) == ("outer", "precaution")


async def test_zone_in_force_only_within_its_window(
    client: httpx.AsyncClient, clock: Any
) -> None:
    now = clock.now()
    start, end = now + timedelta(days=1), now + timedelta(days=2)
    body = zone(valid_from=start.isoformat(), valid_to=end.isoformat())
    assert (await client.post("/api/v1/zones", json=body)).status_code == 201
    assert (await lookup(client, INSIDE))["status"] == "normal"
    during = (start + timedelta(hours=1)).isoformat()
    assert (await lookup(client, INSIDE, at=during))["status"] == "controlled"
    assert (await lookup(client, INSIDE, at=end.isoformat()))["status"] == "normal"
    clock.set(start)
    assert (await lookup(client, INSIDE))["status"] == "controlled"  # the hub's clock moved on
    in_force = (await client.get("/api/v1/zones", params={"at": during})).json()
    assert [z["id"] for z in in_force] == ["test-zone"]
    assert (await client.get("/api/v1/zones", params={"at": now.isoformat()})).json() == []


@pytest.mark.parametrize(("body", "field"), [
    (zone(geometry={"type": "Point", "coordinates": [108.9, 34.3]}), "body.geometry"),
    (zone(ring=[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]), "body.geometry"),  # self-intersecting
    (zone(ring=[[200, 0], [201, 0], [201, 1], [200, 0]]), "body.geometry"),
    (zone(status="lockdown"), "body.status"),
    (zone(id_="Bad Id"), "body.id"),
    (zone(id_="export"), "body.id"),
    (zone(valid_from="2026-01-02T00:00:00Z", valid_to="2026-01-01T00:00:00Z"), "body.valid_to"),
    (zone(valid_from="2026-01-02T00:00:00"), "body.valid_from"),  # no time zone
    (zone(sub_district="atlantis"), "body.sub_district"),
    ({**zone(), "colour": "red"}, "body.colour"),
    ({"id": "x", "status": "sealed"}, "body.name"),
])
async def test_bad_zone_is_rejected_naming_the_field(
    client: httpx.AsyncClient, app: Any, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/zones", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert (await client.get("/api/v1/zones", params={"include_deleted": "true"})).json() == []
    assert await audit_of(app, "zone") == []


async def test_bad_zone_changes_change_nothing(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/zones", json=zone())
    for body, field in [
        ({"status": None}, "body.status"),
        ({"name": ""}, "body.name"),
        ({"valid_to": "2019-01-01T00:00:00Z"}, "body.valid_to"),
        ({"geometry": {"type": "Polygon", "coordinates": "nope"}}, "body.geometry"),
        ({"sub_district": "atlantis"}, "body.sub_district"),
        ({"id": "other"}, "body.id"),
    ]:
        response = await client.patch("/api/v1/zones/test-zone", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    kept = (await client.get("/api/v1/zones/test-zone")).json()
    assert (kept["version"], kept["status"]) == (1, "controlled")
    assert (await client.patch("/api/v1/zones/nowhere", json={"status": "sealed"})).status_code == 404
    assert (await client.post("/api/v1/zones", json=zone())).status_code == 409
    bad_lookup = await client.get("/api/v1/zones/lookup", params={"lat": 100, "lon": 108.9})
    assert bad_lookup.status_code == 422
    assert bad_lookup.json()["errors"][0]["field"] == "query.lat"


def feature(id_: str, status: str = "controlled", ring: list[list[float]] = SQUARE,
            **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": id_, "geometry": polygon(ring),
            "properties": {"name": f"Zone {id_}", "status": status, **props}}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


async def test_geojson_import_and_export_round_trip(client: httpx.AsyncClient, app: Any) -> None:
    styled = feature("b", "sealed", INNER, fill="#ff0000", **{"stroke-width": 2})  # as tools write
    first = await client.post("/api/v1/zones/import", json=collection(feature("a"), styled))
    assert first.status_code == 200, first.text
    assert first.json() == {"created": ["a", "b"], "updated": [], "unchanged": [], "deleted": []}

    exported = await client.get("/api/v1/zones/export")
    assert exported.headers["content-type"] == "application/geo+json"
    body = exported.json()
    assert [f["id"] for f in body["features"]] == ["a", "b"]
    assert body["features"][1]["properties"]["status"] == "sealed"
    again = await client.post("/api/v1/zones/import", json=body)
    assert again.json()["unchanged"] == ["a", "b"]

    replaced = await client.post("/api/v1/zones/import", params={"replace": "true"},
                                 json=collection(feature("a", "precaution"), feature("c")))
    assert replaced.json() == {"created": ["c"], "updated": ["a"], "unchanged": [], "deleted": ["b"]}
    match = await lookup(client, INSIDE)  # b (sealed) is gone; c (controlled) beats a (precaution)
    assert (match["id"], match["overlapping"]) == ("c", ["c", "a"])
    assert [e.action for e in await audit_of(app, "zone", "b")] == ["zone.created", "zone.deleted"]


async def test_bad_geojson_import_is_rejected_whole(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/zones/import", json=collection(feature("a")))
    bad = collection(feature("a", "sealed"), feature("b", "quarantine"),
                     {**feature("c"), "geometry": {"type": "LineString", "coordinates": []}},
                     feature("a", "sealed"))
    response = await client.post("/api/v1/zones/import", json=bad)
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["body.features[1].properties.status", "body.features[2].geometry",
                      "body.features[3].properties.id"]
    unknown = await client.post("/api/v1/zones/import",
                                json=collection(feature("d", sub_district="atlantis")))
    assert unknown.json()["errors"][0]["field"] == "body.features[0].properties.sub_district"
    not_geojson = await client.post("/api/v1/zones/import", json={"type": "Feature"})
    assert not_geojson.status_code == 422
    zones = (await client.get("/api/v1/zones", params={"include_deleted": "true"})).json()
    assert [(z["id"], z["status"], z["version"]) for z in zones] == [("a", "controlled", 1)]


async def test_scenario_zones_go_through_the_zones_service(app: Any, xian: Any) -> None:
    rt = app.state.runtime
    async with rt.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ZoneRevision)) == 3
        zone_row = await session.get(Zone, "yuhua-sealed-1")
        assert zone_row is not None
        assert zone_row.version == 1
        assert zone_row.updated_by == "scenario-loader"
        assert await session.scalar(select(func.count()).select_from(RuleSet)) == 1
    entries = await audit_of(app, "zone", "yuhua-sealed-1")
    assert [(e.action, e.actor, e.source) for e in entries] == [
        ("zone.created", "scenario-loader", "scenario:xian-high-tech-zone")]
    current = await versions.read(rt.redis, rt.keys, versions.ZONES, versions.HOSPITALS)
    assert None not in current.values()


async def test_changing_zones_needs_a_supervisor(client: httpx.AsyncClient, app: Any) -> None:
    client.headers["Authorization"] = "Bearer " + token_for("call_taker", name="ct1")
    try:
        response = await client.post("/api/v1/zones", json=zone())
        assert response.status_code == 403
        assert response.json()["type"] == "/problems/forbidden"
        assert (await client.get("/api/v1/zones/lookup", params=INSIDE)).status_code == 200
    finally:
        client.headers.update(AUTH)

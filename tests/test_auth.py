"""Who may do what: logins, tokens, device binding, role checks on every route family, audit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from websockets.exceptions import ConnectionClosed

from dispatch.audit.models import AuditEntry
from dispatch.audit.schemas import Actor
from dispatch.auth import service as auth_service
from dispatch.auth import tokens
from dispatch.auth.schemas import Principal, Role
from dispatch.clock import ManualClock
from tests.conftest import TEST_SECRET, client_for, running
from tests.realtime_helpers import open_socket

ADMIN = Actor(name="test-admin", role="admin")


def token(*roles: Role, unit_id: str | None = None, hospital_id: str | None = None,
          name: str = "someone", lifetime: timedelta = timedelta(hours=1),
          now: datetime | None = None) -> str:
    principal = Principal(name=name, roles=frozenset(roles), unit_id=unit_id, hospital_id=hospital_id)
    issued, _ = tokens.issue(principal, key=TEST_SECRET, now=now or datetime.now(UTC),
                             lifetime=lifetime)
    return issued


def as_(role_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {role_token}"}


def anon(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


PEOPLE = {
    "call_taker": (Role.CALL_TAKER,),
    "dispatcher": (Role.DISPATCHER,),
    "supervisor": (Role.SUPERVISOR,),
    "admin": (Role.ADMIN,),
    "hospital": (Role.HOSPITAL,),
    "crew": (Role.CREW,),
    "telephony": (Role.TELEPHONY,),
}
CONSOLE = {"call_taker", "dispatcher", "supervisor", "admin"}
READERS = CONSOLE | {"hospital", "crew"}
# Those who send units; a crew acts for its own unit only (its token names it: not these).
DISPATCH = {"dispatcher", "supervisor", "admin"}
NIL = "00000000-0000-0000-0000-000000000000"

# (route family, method, path, body, roles allowed)
FAMILIES: list[tuple[str, str, str, dict[str, Any] | None, set[str]]] = [
    ("telephony intake", "POST", "/api/v1/calls", {}, {"telephony", "supervisor", "admin"}),
    ("telephony abandon", "POST", "/api/v1/calls/x/abandoned", {}, {"telephony", "supervisor", "admin"}),
    ("ringing calls", "GET", "/api/v1/calls", None, CONSOLE),
    ("answer", "POST", "/api/v1/calls/x/answer", {}, CONSOLE),
    ("positions", "GET", "/api/v1/positions", None, CONSOLE),
    ("callbacks", "GET", "/api/v1/callbacks", None, CONSOLE),
    ("slo", "GET", "/api/v1/slo", None, CONSOLE),
    ("incidents", "POST", "/api/v1/incidents", {}, CONSOLE),
    ("messages to crews", "POST", "/api/v1/messages", {}, {"dispatcher", "supervisor", "admin"}),
    ("units", "GET", "/api/v1/units", None, READERS),
    ("coverage", "GET", "/api/v1/coverage", None, READERS),
    ("unit status", "POST", "/api/v1/units/A1/status", {}, DISPATCH),
    ("unit position", "POST", "/api/v1/units/A1/position", {}, DISPATCH),
    ("unit job", "GET", "/api/v1/units/A1/job", None, DISPATCH),
    ("recommendations", "GET", f"/api/v1/incidents/{NIL}/recommendations", None, DISPATCH),
    ("dispatch a unit", "POST", "/api/v1/assignments", {}, DISPATCH),
    ("cancel a job", "POST", f"/api/v1/assignments/{NIL}/cancel", {}, DISPATCH),
    ("escalate a home visit", "POST", f"/api/v1/incidents/{NIL}/escalate", {}, DISPATCH),
    ("hospitals", "GET", "/api/v1/hospitals", None, READERS),
    ("zones", "GET", "/api/v1/zones", None, READERS),
    ("rule sets", "GET", "/api/v1/routing/rule-sets", None, READERS),
    ("routing decisions", "POST", "/api/v1/routing/decisions", {}, CONSOLE),
    ("change zones", "POST", "/api/v1/zones", {}, {"supervisor", "admin"}),
    ("change hospitals", "POST", "/api/v1/hospitals", {}, {"supervisor", "admin"}),
    ("places", "GET", "/api/v1/places", None, READERS),
    ("change places", "PUT", "/api/v1/places/x/status", {}, {"supervisor", "admin"}),
    ("plan medical points", "POST", "/api/v1/places/medical-points/plan", {}, {"supervisor", "admin"}),
    ("suspend hospital", "POST", "/api/v1/hospitals/general/suspend", {}, {"supervisor", "admin"}),
    ("handover clocks", "GET", "/api/v1/handovers", None, CONSOLE | {"hospital"}),
    ("reroute", "POST", "/api/v1/assignments/00000000-0000-0000-0000-000000000000/reroute", {},
     {"dispatcher", "supervisor", "admin"}),
    ("audit log", "GET", "/api/v1/audit", None, {"supervisor", "admin"}),
    ("accounts", "GET", "/api/v1/users", None, {"admin"}),
    ("device tokens", "POST", "/api/v1/devices", {}, {"admin"}),
    ("rebuild live state", "POST", "/api/v1/admin/rebuild-live-state", None, {"supervisor", "admin"}),
]


@pytest.mark.parametrize(("family", "method", "path", "body", "allowed"), FAMILIES,
                         ids=[f[0] for f in FAMILIES])
async def test_each_role_on_each_route_family(
    app: Any, scenario: Any, family: str, method: str, path: str, body: dict[str, Any] | None,
    allowed: set[str],
) -> None:
    async with anon(app) as http:
        nobody = await http.request(method, path, json=body)
        assert nobody.status_code == 401, family
        assert nobody.json()["errors"][0]["field"] == "header.authorization"
        for role, roles in PEOPLE.items():
            response = await http.request(method, path, json=body,
                                          headers=as_(token(*roles, hospital_id="general")))
            if role in allowed:
                assert response.status_code not in (401, 403), (family, role, response.text)
            else:
                assert response.status_code == 403, (family, role, response.status_code)
                assert response.json()["type"] == "/problems/forbidden"


async def test_login_logout_and_disable_take_effect_everywhere(
    app: Any, db: AsyncConnection, clock: ManualClock
) -> None:
    rt = app.state.runtime
    async with rt.sessionmaker() as session:
        await auth_service.create_user(session=session, rt=rt, username="li.na",
                                       password="correct horse battery", roles=[Role.DISPATCHER],
                                       now=clock.now(), actor=ADMIN)
    async with anon(app) as http:
        wrong = await http.post("/api/v1/auth/login", json={"username": "li.na", "password": "nope"})
        assert wrong.status_code == 401
        unknown = await http.post("/api/v1/auth/login", json={"username": "x", "password": "nope"})
        assert unknown.status_code == 401
        good = await http.post("/api/v1/auth/login",
                               json={"username": "li.na", "password": "correct horse battery"})
        assert good.status_code == 200
        issued = good.json()
        assert issued["roles"] == ["dispatcher"]
        headers = as_(issued["access_token"])
        me = await http.get("/api/v1/auth/me", headers=headers)
        assert me.json()["username"] == "li.na"
        assert (await http.post("/api/v1/auth/logout", headers=headers)).status_code == 204
        assert (await http.get("/api/v1/auth/me", headers=headers)).status_code == 401

        again = (await http.post("/api/v1/auth/login", json={
            "username": "li.na", "password": "correct horse battery"})).json()
        async with rt.sessionmaker() as session:
            await auth_service.disable_user(session=session, rt=rt, username="li.na", actor=ADMIN)
        assert (await http.get("/api/v1/auth/me", headers=as_(again["access_token"]))).status_code == 401
        disabled = await http.post("/api/v1/auth/login",
                                   json={"username": "li.na", "password": "correct horse battery"})
        assert disabled.status_code == 401

        expired = token(Role.ADMIN, now=clock.now() - timedelta(hours=2), lifetime=timedelta(hours=1))
        assert (await http.get("/api/v1/auth/me", headers=as_(expired))).status_code == 401
        forged = tokens.issue(Principal(name="mallory", roles=frozenset({Role.ADMIN})),
                              key="some-other-key-" + "z" * 32, now=clock.now(),
                              lifetime=timedelta(hours=1))[0]
        assert (await http.get("/api/v1/auth/me", headers=as_(forged))).status_code == 401
    stored = (await db.execute(select(AuditEntry.action).where(AuditEntry.target_id == "li.na")
                               .order_by(AuditEntry.id))).scalars().all()
    assert stored == ["user.create", "auth.login_failed", "auth.login", "auth.login", "user.disable",
                      "auth.login_failed"]
    hashes = (await db.execute(select(auth_service.User.password_hash))).scalars().all()
    assert all(h.startswith("$argon2id$") for h in hashes)


async def refused_within(http: httpx.AsyncClient, headers: dict[str, str], seconds: float) -> float:
    """How long until the instance behind `http` refuses the token (fails after `seconds`)."""
    started = asyncio.get_running_loop().time()
    while (await http.get("/api/v1/auth/me", headers=headers)).status_code != 401:
        waited = asyncio.get_running_loop().time() - started
        assert waited < seconds, f"still accepted after {waited:.2f} s"
        await asyncio.sleep(0.005)
    return asyncio.get_running_loop().time() - started


@pytest.mark.committed
async def test_revocations_reach_every_instance_without_a_round_trip_per_request(
    make_app: Any, redis: Any
) -> None:
    """Instances check tokens in memory: a logout or a disabled account on one instance is
    refused there at once and on the others as soon as they read the stream; an instance that
    starts later, or that lost the stream, knows of it from Redis."""
    a, b = make_app(), make_app()
    async with running(a), running(b), client_for(a) as on_a, client_for(b) as on_b:
        async with a.state.runtime.sessionmaker() as session:
            await auth_service.create_user(session=session, rt=a.state.runtime, username="wang.fang",
                                           password="correct horse battery",
                                           roles=[Role.DISPATCHER], now=datetime.now(UTC), actor=ADMIN)
        first = as_(token(Role.CALL_TAKER, name="zhao.lei"))
        assert (await on_b.get("/api/v1/auth/me", headers=first)).status_code == 200
        assert b.state.runtime.revocations.current
        assert (await on_a.post("/api/v1/auth/logout", headers=first)).status_code == 204
        assert (await on_a.get("/api/v1/auth/me", headers=first)).status_code == 401
        assert await refused_within(on_b, first, 1.0) < 1.0

        login = {"username": "wang.fang", "password": "correct horse battery"}
        shift = as_((await on_b.post("/api/v1/auth/login", json=login)).json()["access_token"])
        assert (await on_a.get("/api/v1/auth/me", headers=shift)).status_code == 200
        async with b.state.runtime.sessionmaker() as session:
            await auth_service.disable_user(session=session, rt=b.state.runtime,
                                            username="wang.fang", actor=ADMIN)
        assert (await on_b.get("/api/v1/auth/me", headers=shift)).status_code == 401
        await refused_within(on_a, shift, 1.0)

        # An instance that may have missed revocations asks Redis until it has read them again.
        issued, claims = tokens.issue(Principal(name="sun.li", roles=frozenset({Role.CALL_TAKER})),
                                      key=TEST_SECRET, now=datetime.now(UTC), lifetime=timedelta(hours=1))
        later = as_(issued)
        b.state.runtime.revocations.lost()
        await redis.set(f"{b.state.runtime.keys.prefix}:auth:revoked:{claims.token_id}", "1", ex=60)
        assert (await on_b.get("/api/v1/auth/me", headers=later)).status_code == 401
        assert (await on_a.get("/api/v1/auth/me", headers=later)).status_code == 200  # not announced

    c = make_app()
    async with running(c), client_for(c) as on_c:
        assert c.state.runtime.revocations.current
        for refused in (first, shift, later):
            assert (await on_c.get("/api/v1/auth/me", headers=refused)).status_code == 401
        assert (await on_c.get("/api/v1/auth/me",
                               headers=as_(token(Role.CALL_TAKER)))).status_code == 200


async def test_device_tokens_are_bound_to_their_unit_or_hospital(
    app: Any, server: str, scenario: Any, clock: ManualClock
) -> None:
    rt = app.state.runtime
    async with rt.sessionmaker() as session:
        device, crew_token = await auth_service.create_device(
            session=session, rt=rt, kind="crew", name="tablet A1", now=clock.now(), actor=ADMIN,
            unit_id="A1")
        _, hospital_token = await auth_service.create_device(
            session=session, rt=rt, kind="hospital", name="general ED", now=clock.now(), actor=ADMIN,
            hospital_id="general")
    ws, hello = await open_socket(server, "/ws/crew/A1", token=crew_token)
    await ws.close()
    assert hello["key"] == "A1"
    for path, denied_token in [("/ws/crew/B1", crew_token), ("/ws/console", crew_token),
                               ("/ws/hospital/closed", hospital_token),
                               ("/ws/crew/A1", hospital_token)]:
        with pytest.raises(ConnectionClosed) as closed:
            ws, _ = await open_socket(server, path, token=denied_token)
            await ws.recv()
        assert closed.value.rcvd is not None, path
        assert closed.value.rcvd.code == 4403, path
    with pytest.raises(ConnectionClosed) as closed:
        ws, _ = await open_socket(server, "/ws/console", token="dvc_not-a-real-token")
        await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    ws, hello = await open_socket(server, "/ws/hospital/general", token=hospital_token)
    await ws.close()
    async with anon(app) as http:
        own = await http.put("/api/v1/hospitals/general/capacity/general", json={"available": 3},
                             headers=as_(hospital_token))
        assert own.status_code == 200
        other = await http.put("/api/v1/hospitals/closed/capacity/general", json={"available": 3},
                               headers=as_(hospital_token))
        assert other.status_code == 403
        async with rt.sessionmaker() as session:
            await auth_service.revoke_device(session=session, rt=rt, device_id=device.id, actor=ADMIN)
        revoked = await http.get("/api/v1/units", headers=as_(crew_token))
        assert revoked.status_code == 401


async def test_websocket_takes_its_token_as_a_subprotocol(app: Any, server: str) -> None:
    from websockets.asyncio.client import connect

    browser_like = token(Role.CALL_TAKER)
    async with connect(f"ws://{server}/ws/console",
                       subprotocols=["dispatch.v1", f"bearer.{browser_like}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "dispatch.v1"
        assert '"kind":"hello"' in str(await ws.recv())


async def test_every_change_by_a_person_is_audited_with_who_when_and_where(
    app: Any, client: httpx.AsyncClient, scenario: Any, clock: ManualClock, db: AsyncConnection
) -> None:
    from tests.test_calls import post_call, ready

    await ready(client, "P1", "P2")
    first = await post_call(client, clock)
    await client.post(f"/api/v1/calls/{first['id']}/answer", json={"position_id": "P1"})
    incident = (await client.post("/api/v1/incidents", json={
        "call_id": first["id"], "location": {"lat": 34.18, "lon": 108.85}, "severity": "urgent",
    })).json()
    await client.patch(f"/api/v1/incidents/{incident['id']}", json={"notes": "stairs, 6th floor"})
    await client.post(f"/api/v1/calls/{first['id']}/transfer", json={"to_position_id": "P2"})
    await client.post(f"/api/v1/calls/{first['id']}/ended", json={})
    second = await post_call(client, clock)
    await client.post(f"/api/v1/calls/{second['id']}/abandoned", json={})
    callback = (await client.get("/api/v1/callbacks")).json()[0]
    await client.put("/api/v1/positions/P1/state", json={"state": "ready"})
    await client.post(f"/api/v1/callbacks/{callback['id']}/take", json={"position_id": "P1"})
    await client.post(f"/api/v1/callbacks/{callback['id']}/outcome", json={"outcome": "reached"})
    await client.post("/api/v1/messages", json={"text": "roads icy", "all_crews": True})
    await client.put("/api/v1/hospitals/general/capacity/icu", json={"available": 2})
    await client.post("/api/v1/hospitals/general/suspend", json={"reason": "power cut"})
    await client.post("/api/v1/zones", json={
        "id": "new-zone", "name": "New", "status": "controlled",
        "geometry": {"type": "Polygon", "coordinates": [[[108.8, 34.1], [108.9, 34.1], [108.9, 34.2],
                                                          [108.8, 34.1]]]}})
    rows = (await db.execute(select(AuditEntry.action, AuditEntry.actor, AuditEntry.at,
                                    AuditEntry.source))).all()
    kinds = {r.action for r in rows}
    assert {"call.received", "call.answer", "incident.create", "incident.update", "call.transfer",
            "call.ended", "call.abandoned", "position.state", "callback.take", "callback.outcome",
            "message.send", "hospital.capacity", "hospital.suspended"} <= kinds, kinds
    assert any(k.startswith("zone.") for k in kinds), kinds
    by_people = [r for r in rows if r.actor not in ("system", "scenario-loader")]
    assert len(by_people) > 15
    for row in by_people:
        assert row.actor == "test-operator", row
        assert row.at is not None
        assert row.source is not None  # where from: the client address
    listed = (await client.get("/api/v1/audit", params={"action": "callback."})).json()
    assert [e["action"] for e in listed] == ["callback.outcome", "callback.take"]
    assert listed[0]["before"]["status"] == "dialling"
    assert listed[0]["after"]["outcome"] == "reached"
    # Append-only: the database refuses to change history.
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text("UPDATE audit_log SET actor = 'someone else'"))


async def test_limits_on_bodies_and_intake_rate(
    app: Any, client: httpx.AsyncClient, scenario: Any, clock: ManualClock
) -> None:
    huge = {"text": "x" * (3 * 1024 * 1024), "all_crews": True}
    too_big = await client.post("/api/v1/messages", json=huge)
    assert too_big.status_code == 413
    assert too_big.headers["content-type"] == "application/problem+json"
    rt = app.state.runtime
    rt.settings = rt.settings.model_copy(update={"intake_rate_per_second": 3})
    from tests.test_calls import ring

    codes = [(await client.post("/api/v1/calls", json=ring(clock))).status_code for _ in range(6)]
    assert codes.count(201) >= 3
    assert 429 in codes
    limited = next(r for r in [await client.post("/api/v1/calls", json=ring(clock))
                               for _ in range(5)] if r.status_code == 429)
    assert limited.headers["retry-after"] == "1"


async def test_json_with_a_lone_surrogate_is_refused_naming_the_body(
    client: httpx.AsyncClient, db: AsyncConnection, scenario: Any
) -> None:
    raw = b'{"text": "broken \\ud800 text", "all_crews": true}'
    response = await client.post("/api/v1/messages", content=raw,
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "body", "message": "not valid Unicode"}]
    emoji = await client.post("/api/v1/messages", content='{"text": "ok \\ud83d\\ude91", "all_crews": true}',
                              headers={"Content-Type": "application/json"})
    assert emoji.status_code == 201
    assert emoji.json()["text"] == "ok 🚑"


def test_verified_signatures_are_remembered_and_refusals_are_not() -> None:
    from dispatch.auth.tokens import _signed_payload

    now = datetime.now(UTC)
    key = "a test signing key of at least 32 bytes"
    token, _ = tokens.issue(Principal(name="cache-test", roles=frozenset({Role.CALL_TAKER})),
                            key=key, now=now, lifetime=timedelta(minutes=5))
    _signed_payload.cache_clear()
    assert tokens.verify(token, key=key, now=now) is not None
    assert tokens.verify(token, key=key, now=now) is not None
    assert _signed_payload.cache_info().hits == 1
    assert tokens.verify(token, key=key[::-1] + "x", now=now) is None  # wrong key: refused...
    assert tokens.verify(token + "x", key=key, now=now) is None  # bad signature: refused...
    assert _signed_payload.cache_info().currsize == 1  # ...and neither refusal remembered
    assert tokens.verify(token, key=key, now=now + timedelta(minutes=6)) is None  # expired

"""A retried write is applied once: the tablet that lost its connection after tapping sends the
same request again with the same Idempotency-Key, and gets the first answer back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from dispatch.fleet.models import UnitEvent
from tests.conftest import token_for


async def history(app: Any, unit_id: str) -> list[UnitEvent]:
    async with app.state.runtime.sessionmaker() as session:
        return list((await session.scalars(select(UnitEvent).where(
            UnitEvent.unit_id == unit_id, UnitEvent.type == "status").order_by(UnitEvent.id))).all())


async def test_a_retried_status_is_applied_once_at_the_time_it_was_tapped(
    app: Any, client: httpx.AsyncClient, scenario: Any, clock: Any
) -> None:
    crew = {"Authorization": f"Bearer {token_for('crew', unit_id='A1')}",
            "Idempotency-Key": "tablet-A1-0001"}
    clock.advance(120)
    tapped = clock.now() - timedelta(seconds=40)  # tapped in a dead spot, sent on return
    body = {"status": "out_of_service", "at": tapped.isoformat()}
    first = await client.post("/api/v1/units/A1/status", json=body, headers=crew)
    again = await client.post("/api/v1/units/A1/status", json=body, headers=crew)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    [event] = await history(app, "A1")
    assert event.to_status == "out_of_service"
    assert event.at.replace(tzinfo=tapped.tzinfo) == tapped

    # The same key for another request is refused, and changes nothing.
    reused = await client.post("/api/v1/units/A2/status", json={"status": "out_of_service"},
                               headers={"Authorization": AUTH_ALL, "Idempotency-Key": "console-1"})
    wrong = await client.post("/api/v1/units/B1/status", json={"status": "out_of_service"},
                              headers={"Authorization": AUTH_ALL, "Idempotency-Key": "console-1"})
    assert reused.status_code == 200
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert [e.to_status for e in await history(app, "B1")] == []


async def test_a_bad_key_is_refused_and_a_tablet_clock_ahead_is_not_trusted(
    app: Any, client: httpx.AsyncClient, scenario: Any, clock: Any
) -> None:
    bad = await client.post("/api/v1/units/A1/status", json={"status": "out_of_service"},
                            headers={"Idempotency-Key": "no spaces allowed"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert await history(app, "A1") == []
    # A tablet whose clock runs five minutes fast: the change is kept, at the hub's time.
    clock.advance(60)
    ahead = await client.post("/api/v1/units/A1/status", json={
        "status": "out_of_service", "at": (clock.now() + timedelta(minutes=5)).isoformat()})
    assert ahead.status_code == 200
    [event] = await history(app, "A1")
    assert event.at.replace(tzinfo=clock.now().tzinfo) == clock.now()


async def test_a_failed_attempt_frees_its_key_and_keys_are_per_token(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    one = {"Authorization": AUTH_ALL, "Idempotency-Key": "retry-after-refusal"}
    # A refused first attempt is not kept: the same key later applies the corrected request.
    refused = await client.post("/api/v1/units/A1/status", json={"status": "at_hospital"},
                                headers=one)
    assert refused.status_code == 409
    assert "idempotent-replayed" not in refused.headers
    applied = await client.post("/api/v1/units/A1/status", json={"status": "out_of_service"},
                                headers=one)
    assert applied.status_code == 200
    assert "idempotent-replayed" not in applied.headers
    # The same key with another body is another request: refused, nothing changes.
    edited = await client.post("/api/v1/units/A1/status", json={"status": "available"},
                               headers=one)
    assert edited.status_code == 422
    # Another token's key is its own, even when it is the same string.
    other = {"Authorization": f"Bearer {token_for('dispatcher', name='dispatcher-2')}",
             "Idempotency-Key": "retry-after-refusal"}
    theirs = await client.post("/api/v1/units/A2/status", json={"status": "out_of_service"},
                               headers=other)
    assert theirs.status_code == 200
    assert "idempotent-replayed" not in theirs.headers
    assert [e.to_status for e in await history(app, "A1")] == ["out_of_service"]
    assert [e.to_status for e in await history(app, "A2")] == ["out_of_service"]


AUTH_ALL = f"Bearer {token_for('dispatcher', 'crew', name='dispatcher-1')}"

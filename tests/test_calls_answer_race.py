"""An answer that races the caller hanging up (found by the call-stream replay)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.calls.models import Call
from tests import factories
from tests.conftest import client_for, running, serve
from tests.realtime_helpers import events, open_socket


@pytest.mark.committed
async def test_an_answer_racing_a_hang_up_is_refused_and_the_position_gets_the_next_call(
    make_app: Any, pg_engine: AsyncEngine
) -> None:
    app = make_app()
    async with running(app), serve(app) as address, client_for(app) as client:
        await factories.load(app, factories.small_scenario())
        console, _ = await open_socket(address, "/ws/console", types="call.offered")
        login = await client.post("/api/v1/positions/P1/login", json={"user": "u1", "ready": True})
        assert login.status_code == 200
        calls = [(await client.post("/api/v1/calls", json={
            "telephony_call_id": f"race-{n}", "line": "120-1",
            "rung_at": datetime.now(UTC).isoformat()})).json() for n in (1, 2)]
        first, second = calls
        offered = await events(console, 1)
        assert offered[0]["data"] == {"call_id": first["id"], "position_id": "P1"}
        acd = app.state.runtime.acd
        take = acd.answer

        async def hang_up_meanwhile(*args: Any, **kwargs: Any) -> Any:
            # The caller hangs up after the queue gave the call to P1 and before the answer is
            # stored: telephony's abandon has committed, its release from the queue not yet run.
            taken = await take(*args, **kwargs)
            async with pg_engine.begin() as connection:
                await connection.execute(update(Call).where(Call.id == uuid.UUID(first["id"]))
                                         .values(status="abandoned"))
            return taken

        acd.answer = hang_up_meanwhile
        answer = await client.post(f"/api/v1/calls/{first['id']}/answer", json={"position_id": "P1"})
        acd.answer = take

        assert answer.status_code == 409, answer.text  # not a 500
        assert answer.json()["detail"] == "the call was answered or ended meanwhile"
        # P1 is ready again and offered the next call, and the consoles are told so.
        next_offer = await events(console, 1)
        assert next_offer[0]["data"] == {"call_id": second["id"], "position_id": "P1"}
        # The abandoned call is not put back in the queue.
        queued = [row["id"] for row in await acd.ringing()]
        assert queued == [second["id"]]
        await console.close()

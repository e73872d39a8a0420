"""Staying up: Redis restarted under load, an instance killed, PostgreSQL restarted.

Each scenario counts calls sent, acknowledged (201) and found in PostgreSQL afterwards: every
acknowledged call must be there.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from dispatch import migrate
from dispatch.calls.models import Call
from dispatch.config import Settings
from dispatch.main import create_app
from tests import factories
from tests.conftest import AUTH, TEST_DATABASE_URL, TEST_SECRET, client_for, running, serve
from tests.realtime_helpers import open_socket
from tests.servers import PostgresServer, RedisServer, free_port, reachable

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
serial = itertools.count()


@dataclass
class Tally:
    sent: int = 0
    acknowledged: list[str] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)

    def line(self, found: int) -> str:
        return (f"sent {self.sent}, acknowledged {len(self.acknowledged)}, refused "
                f"{sum(self.refused.values())} {dict(self.refused)}, found in PostgreSQL {found}")


async def pour_calls(http: httpx.AsyncClient, tally: Tally, *, seconds: float, rate: float) -> None:
    """Report calls at `rate` a second for `seconds`, counting what the hub said."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        telephony_id = f"fault-{os.getpid()}-{next(serial)}"
        tally.sent += 1
        try:
            response = await http.post("/api/v1/calls", json={
                "telephony_call_id": telephony_id, "caller_number": "13900000000", "line": "120-1",
                "rung_at": datetime.now(UTC).isoformat()}, timeout=5)
            code = response.status_code
        except httpx.HTTPError:
            code = 0
        if code in (200, 201):
            tally.acknowledged.append(telephony_id)
        else:
            tally.refused[code] = tally.refused.get(code, 0) + 1
        await asyncio.sleep(1 / rate)


async def stored(engine: AsyncEngine, telephony_ids: list[str]) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(
            select(func.count()).select_from(Call).where(Call.telephony_id.in_(telephony_ids))) or 0)


async def test_redis_restarted_under_load_loses_no_call_and_rebuilds_live_state(
    settings: Settings, committed: AsyncEngine, clock: Any
) -> None:
    with RedisServer() as redis_server:
        app = create_app(settings.model_copy(update={
            "redis_url": redis_server.url, "background_tasks": True}))
        # A hang shows where it waits instead of timing the whole test out.
        async with asyncio.timeout(90), running(app), client_for(app) as http:
            await factories.load(app, factories.small_scenario())
            tally = Tally()
            load = asyncio.create_task(pour_calls(http, tally, seconds=6, rate=25))
            await asyncio.sleep(1.5)
            redis_server.stop()  # everything in Redis is gone
            await asyncio.sleep(1.5)
            redis_server.start()
            await load
            found = await stored(committed, tally.acknowledged)
            print("\nRedis restart:", tally.line(found))
            assert found == len(tally.acknowledged)
            assert len(tally.acknowledged) + sum(tally.refused.values()) == tally.sent
            assert set(tally.refused) <= {503}
            # Live state is rebuilt from PostgreSQL: every ringing call is queued again.
            acd = app.state.runtime.acd
            async with committed.connect() as connection:
                ringing = set((await connection.scalars(
                    select(Call.id).where(Call.status == "ringing"))).all())
            for _ in range(100):
                live = {row["id"] for row in await acd.ringing()}
                if {str(i) for i in ringing} <= live:
                    break
                await asyncio.sleep(0.1)
            assert {str(i) for i in ringing} <= live
            units = (await http.get("/api/v1/units")).json()
            assert [u["id"] for u in units] == ["A1", "A2", "B1"]


@contextlib.asynccontextmanager
async def hub_process(env: dict[str, str]) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "dispatch.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--ws-per-message-deflate", "false"],
        env=env, cwd=ROOT,
    )
    try:
        for _ in range(200):
            if reachable(port):
                break
            await asyncio.sleep(0.05)
        yield f"127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


async def test_killed_instance_consoles_resume_on_the_other_without_a_gap(
    settings: Settings, committed: AsyncEngine
) -> None:
    env = {**os.environ, "DISPATCH_DATABASE_URL": TEST_DATABASE_URL,
           "DISPATCH_REDIS_URL": settings.redis_url or "", "DISPATCH_REDIS_PREFIX": settings.redis_prefix,
           "DISPATCH_SECRET_KEY": TEST_SECRET, "DISPATCH_LOG_LEVEL": "WARNING"}
    loader = create_app(settings)
    async with running(loader):
        await factories.load(loader, factories.small_scenario())
    async with hub_process(env) as (address_a, process_a), hub_process(env) as (address_b, _):
        received: list[str] = []
        resumed_on: list[str] = []

        async def console() -> None:
            last = None
            for address in (address_a, address_b):
                url = f"ws://{address}/ws/console?types=message." + (f"&since={last}" if last else "")
                with contextlib.suppress(ConnectionClosed, OSError, InvalidStatus):
                    async with connect(url, additional_headers=AUTH) as ws:
                        resumed_on.append(address)
                        async for raw in ws:
                            frame = json.loads(raw)
                            if frame["kind"] == "event":
                                received.append(frame["id"])
                                last = frame["id"]
                            elif frame["kind"] == "resync":
                                raise AssertionError("resync: the resume had a gap")
                            if len(received) >= 60:
                                return

        listener = asyncio.create_task(console())
        await asyncio.sleep(0.5)
        sent: list[str] = []
        async with httpx.AsyncClient(base_url=f"http://{address_b}", headers=AUTH) as http:
            for n in range(60):
                if n == 20:
                    process_a.send_signal(signal.SIGKILL)  # the console's instance dies
                response = await http.post("/api/v1/messages",
                                           json={"text": f"note {n}", "all_crews": True})
                assert response.status_code == 201
                sent.append(response.json()["event_id"])
                await asyncio.sleep(0.05)
        await asyncio.wait_for(listener, 20)
    print(f"\ninstance killed: sent {len(sent)} events, console received {len(received)} "
          f"(resumed on {resumed_on})")
    assert resumed_on == [address_a, address_b]
    assert received == sent  # in order, none lost, none twice


async def test_postgresql_restarted_intake_refuses_then_recovers_and_loses_nothing(
    settings: Settings, redis: Any
) -> None:
    with PostgresServer() as pg:
        await migrate.upgrade(pg.url)
        app = create_app(settings.model_copy(update={"database_url": pg.url,
                                                     "background_tasks": True}))
        async with running(app), client_for(app) as http:
            await factories.load(app, factories.small_scenario())
            tally = Tally()
            load = asyncio.create_task(pour_calls(http, tally, seconds=7, rate=20))
            await asyncio.sleep(1.5)
            pg.stop()  # immediate shutdown, like a crash
            await asyncio.sleep(2)
            during = dict(tally.refused)
            pg.start()
            await load
            assert during.get(503, 0) > 0  # refused, clearly, while it was down
            # It recovered by itself: the last calls were taken again.
            recovered = await http.post("/api/v1/calls", json={
                "telephony_call_id": f"fault-after-{os.getpid()}", "line": "120-1",
                "rung_at": datetime.now(UTC).isoformat()})
            assert recovered.status_code == 201
            tally.sent += 1
            tally.acknowledged.append(f"fault-after-{os.getpid()}")
        engine = create_async_engine(pg.url)
        try:
            found = await stored(engine, tally.acknowledged)
            async with engine.connect() as connection:
                assert await connection.scalar(text("SELECT 1")) == 1
        finally:
            await engine.dispose()
    print("\nPostgreSQL restart:", tally.line(found))
    assert found == len(tally.acknowledged)
    assert set(tally.refused) <= {503}
    assert len(tally.acknowledged) + sum(tally.refused.values()) == tally.sent


async def test_redis_flushed_with_calls_ringing_every_caller_is_answered_within_10_s(
    make_app: Any, committed: AsyncEngine
) -> None:
    """Redis loses everything while calls ring at ready positions (the bug of issue 27: the
    call-takers' answers were refused and the calls were never offered again)."""
    positions = ["P1", "P2", "P3"]
    app = make_app(background_tasks=True)
    async with asyncio.timeout(60), running(app), serve(app) as address, client_for(app) as http:
        await factories.load(app, factories.small_scenario(
            positions=[{"id": p, "name": p} for p in positions]))
        console, _ = await open_socket(address, "/ws/console", types="call.offered")
        for position in positions:
            login = await http.post(f"/api/v1/positions/{position}/login",
                                    json={"user": f"u-{position}", "ready": True})
            assert login.status_code == 200
        calls = [(await http.post("/api/v1/calls", json={
            "telephony_call_id": f"flush-{os.getpid()}-{n}", "line": "120-1",
            "rung_at": datetime.now(UTC).isoformat()})).json()["id"] for n in range(4)]
        offers: dict[str, asyncio.Queue[str]] = {p: asyncio.Queue() for p in positions}
        answered: dict[str, str] = {}
        refused: list[int] = []
        flushed = asyncio.Event()

        async def listen() -> None:
            async for raw in console:
                frame = json.loads(raw)
                if frame["kind"] == "event":
                    offers[frame["data"]["position_id"]].put_nowait(frame["data"]["call_id"])

        async def call_taker(position: str, reaction: float) -> None:
            """Answers what its console offers it; when an answer fails, waits for the next."""
            while True:
                call_id = await offers[position].get()
                await flushed.wait()  # each answer is on its way as Redis loses its state
                await asyncio.sleep(reaction)
                if call_id in answered:
                    continue
                reply = await http.post(f"/api/v1/calls/{call_id}/answer",
                                        json={"position_id": position})
                if reply.status_code != 200:
                    refused.append(reply.status_code)
                    continue
                answered[call_id] = position
                await asyncio.sleep(0.3)  # a short call, then ready for the next
                assert (await http.post(f"/api/v1/calls/{call_id}/ended", json={})).status_code == 200
                for state in ("wrap_up", "ready"):
                    await http.put(f"/api/v1/positions/{position}/state", json={"state": state})

        listener = asyncio.create_task(listen())
        takers = [asyncio.create_task(call_taker(p, 0.2 * n)) for n, p in enumerate(positions)]
        for _ in range(50):  # three calls offered, the fourth waiting for a position
            if sum(q.qsize() for q in offers.values()) == 3:
                break
            await asyncio.sleep(0.05)
        await app.state.runtime.redis.flushdb()
        at = time.monotonic()
        flushed.set()
        while len(answered) < len(calls) and time.monotonic() - at < 10:
            await asyncio.sleep(0.1)
        for call_id in calls:  # a caller not answered by now hangs up
            if call_id not in answered:
                await http.post(f"/api/v1/calls/{call_id}/abandoned", json={})
        for task in (listener, *takers):
            task.cancel()
        await asyncio.gather(listener, *takers, return_exceptions=True)
        await console.close()
        async with committed.connect() as connection:
            rows = (await connection.execute(select(Call.id, Call.status, Call.answered_by).where(
                Call.id.in_([uuid.UUID(c) for c in calls])))).all()
    print(f"\nRedis flushed with {len(calls)} calls ringing: answered {len(answered)} within "
          f"{time.monotonic() - at:.1f} s, answers refused {refused}")
    statuses = {str(row.id): row.status for row in rows}
    assert sorted(statuses.values()).count("abandoned") == 0, statuses
    assert set(answered) == set(calls)  # each within 10 s of the flush
    assert {str(row.id): row.answered_by for row in rows} == answered  # answered once, there

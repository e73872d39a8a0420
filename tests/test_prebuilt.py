"""Prebuilt statements on the driver (dispatch/prebuilt.py): on PostgreSQL they give what
SQLAlchemy gives — the same values and types, its exceptions, its transaction — and any
statement the fast path cannot carry, or any other database, takes SQLAlchemy's path."""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.dialects.sqlite import Insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import Insert

import dispatch
from dispatch.calls.models import Position
from dispatch.db import Base, create_engine, create_sessionmaker, table
from dispatch.incidents.models import Incident
from dispatch.incidents.service import INCIDENT_COLUMNS, INSERT_INCIDENT
from dispatch.prebuilt import PLANS, HubSession, prebuilt
from dispatch.work import statements_alone

INCIDENTS = table(Incident).c
POSITIONS = table(Position).c
INCIDENT_BY_ID = prebuilt(select(table(Incident)).where(INCIDENTS.id == bindparam("id")))
INCIDENTS_AMONG = prebuilt(select(INCIDENTS.id).where(INCIDENTS.id.in_(bindparam("ids", expanding=True)))
                           .order_by(INCIDENTS.number))
RENAME = prebuilt(update(table(Incident)).where(INCIDENTS.id == bindparam("incident_id"))
                  .values(address=bindparam("address")))
# Position.supervisor and .state have Python-side defaults: the fast path fills them in.
INSERT_POSITION = prebuilt(table(Position).insert())
POSITION_BY_ID = prebuilt(select(table(Position)).where(POSITIONS.id == bindparam("id")))


def incident_values(number: str, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=123456)
    values: dict[str, Any] = dict.fromkeys(INCIDENT_COLUMNS)
    values.update(id=uuid.uuid4(), number=number, created_at=now, updated_at=now + timedelta(seconds=1),
                  created_by="test", status="open", lat=34.2, lon=108.9, severity="urgent",
                  category="ordinary", infection_status="none",
                  flags={"isolation": False, "note": "天桥下"}, complaint="fall",
                  triage={"level": 2, "signs": ["syncope"]})
    values.update(changes)
    return values


async def recorded(sessions: async_sessionmaker[AsyncSession], number: str) -> dict[str, Any]:
    """An incident written and committed through the fast path; its values."""
    values = incident_values(number)
    async with sessions() as session:
        await session.execute(INSERT_INCIDENT, values)
        await session.commit()
    return values


async def which_recorded(sessions: async_sessionmaker[AsyncSession],
                         *incidents: dict[str, Any]) -> list[bool]:
    """Whether each incident is in the database (committed)."""
    async with sessions() as session:
        return [(await session.execute(INCIDENT_BY_ID, {"id": v["id"]})).first() is not None
                for v in incidents]


@pytest.fixture
def sessions(committed: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The hub's sessions on the real PostgreSQL, committing for real."""
    return create_sessionmaker(committed)


async def test_a_prebuilt_read_gives_the_values_and_types_sqlalchemy_gives(
    sessions: async_sessionmaker[AsyncSession], committed: AsyncEngine,
) -> None:
    values = await recorded(sessions, "20261207-0001")
    async with sessions() as session:
        fast = (await session.execute(INCIDENT_BY_ID, {"id": values["id"]})).one()
        assert isinstance(session, HubSession)
        assert session._driver is not None
    async with AsyncSession(committed) as plain:
        slow = (await plain.execute(INCIDENT_BY_ID, {"id": values["id"]})).one()
    assert fast._mapping == slow._mapping
    assert [type(v) for v in fast] == [type(v) for v in slow]
    assert fast.flags == {"isolation": False, "note": "天桥下"}
    assert fast.triage["signs"] == ["syncope"]
    assert fast.created_at == values["created_at"]
    assert fast.created_at.tzinfo is not None
    assert fast.id == values["id"]
    assert tuple(fast) == tuple(slow)


async def test_rows_counted_updated_many_at_once_and_defaults_filled(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = incident_values("20261207-0001"), incident_values("20261207-0002")
    async with sessions() as session:
        await session.execute(INSERT_INCIDENT, [first, second])  # one executemany
        renamed = await session.execute(RENAME, {"incident_id": first["id"], "address": "高新路 1 号"})
        missing = await session.execute(RENAME, {"incident_id": uuid.uuid4(), "address": "nowhere"})
        await session.execute(INSERT_POSITION, {"id": "P900", "name": "Desk 900"})
        await session.commit()
    assert (renamed.rowcount, missing.rowcount) == (1, 0)
    async with sessions() as session:
        row = (await session.execute(INCIDENT_BY_ID, {"id": first["id"]})).one()
        position = (await session.execute(POSITION_BY_ID, {"id": "P900"})).one()
        among = (await session.execute(INCIDENTS_AMONG, {"ids": [first["id"], second["id"]]})).scalars().all()
        none = (await session.execute(INCIDENT_BY_ID, {"id": uuid.uuid4()})).one_or_none()
    assert row.address == "高新路 1 号"
    assert (position.supervisor, position.state) == (False, "logged_out")
    assert among == [first["id"], second["id"]]  # expanding IN: SQLAlchemy's path, same answer
    assert PLANS[id(INCIDENTS_AMONG)].supported is False
    assert none is None


async def test_a_refused_write_raises_sqlalchemys_error_and_rolls_back_with_the_session(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    values = await recorded(sessions, "20261207-0001")
    async with sessions() as session:
        await session.execute(RENAME, {"incident_id": values["id"], "address": "changed, then undone"})
        with pytest.raises(IntegrityError):  # the same id again
            await session.execute(INSERT_INCIDENT, incident_values("20261207-0002", id=values["id"]))
        await session.rollback()
        # The session goes on after the rollback, on a fresh transaction.
        row = (await session.execute(INCIDENT_BY_ID, {"id": values["id"]})).one()
    assert row.address is None


async def test_a_statement_alone_commits_by_itself_and_a_transaction_waits_for_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alone, held = incident_values("20261207-0001"), incident_values("20261207-0002")
    async with sessions() as session:
        statements_alone(session)
        await session.execute(INSERT_INCIDENT, alone)  # no BEGIN: committed by itself
    async with sessions() as session:
        await session.execute(INSERT_INCIDENT, held)  # in a transaction never committed
    assert await which_recorded(sessions, alone, held) == [True, False]


async def test_statements_alone_hold_for_one_unit_of_work_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = incident_values("20261207-0001"), incident_values("20261207-0002")
    async with sessions() as session:
        statements_alone(session)
        await session.execute(INSERT_INCIDENT, first)
        await session.commit()
        await session.execute(INSERT_INCIDENT, second)  # the next unit: in a transaction again
        await session.rollback()
    assert await which_recorded(sessions, first, second) == [True, False]


async def test_inside_the_tests_outer_transaction_the_fast_path_joins_it(db: AsyncConnection) -> None:
    """The tests' hubs bind sessions to one connection in a transaction rolled back afterwards:
    prebuilt statements run inside it (a savepoint per session), never beside it."""
    maker = create_sessionmaker(db, join_transaction_mode="create_savepoint")
    values = incident_values("20261207-0001")
    async with maker() as session:
        await session.execute(INSERT_INCIDENT, values)
        await session.commit()
    async with maker() as session:
        await session.execute(RENAME, {"incident_id": values["id"], "address": "rolled back"})
        await session.rollback()
    found = (await db.execute(select(INCIDENTS.address).where(INCIDENTS.id == values["id"]))).one()
    assert found.address is None  # the savepoint's change is gone; the outer transaction holds
    await db.execute(delete(table(Incident)).where(INCIDENTS.id == values["id"]))


async def test_on_the_embedded_sqlite_statements_take_sqlalchemys_path(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda c: Base.metadata.create_all(c, tables=[table(Position)]))
        maker = create_sessionmaker(engine)
        async with maker() as session:
            statements_alone(session)
            await session.execute(INSERT_POSITION, {"id": "P1", "name": "Desk 1"})
            await session.commit()
            row = (await session.execute(POSITION_BY_ID, {"id": "P1"})).one()
            assert isinstance(session, HubSession)
            assert session._fast is False
        assert (row.name, row.state, row.supervisor) == ("Desk 1", "logged_out", False)
    finally:
        await engine.dispose()


def test_every_prebuilt_statement_of_the_hub_runs_on_the_driver() -> None:
    """A prebuilt statement the fast path cannot carry (an IN list, expanded at each execution)
    would quietly take SQLAlchemy's slower path: none of the hub's may."""
    for module in pkgutil.walk_packages(dispatch.__path__, "dispatch."):
        importlib.import_module(module.name)
    postgresql = asyncpg_dialect()
    checked = []
    for plan in [p for p in PLANS.values() if p.module.startswith("dispatch.")]:
        statement = plan.statement
        if isinstance(statement, sqlite_insert):  # SQLite's own form: never on the driver
            continue
        # An INSERT without VALUES is compiled for the columns it is given: give it them all.
        keys = (frozenset(c.key for c in statement.table.columns)
                if isinstance(statement, Insert) and not statement._values
                and statement.select is None else frozenset())
        plan._compile(postgresql, keys)  # raises Unsupported for what the driver cannot carry
        checked.append(statement)
    assert len(checked) >= 30

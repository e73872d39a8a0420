"""Database engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, cast

import orjson
from fastapi import Depends, Request
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, Table, event, or_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator
from starlette.types import ASGIApp, Receive, Scope, Send

from dispatch.prebuilt import HubSession

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the hub stores UTC-aware times only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
        list[dict[str, Any]]: JSONType,
    }


def table(model: type[Base]) -> Table:
    """A mapped class's table. Statements on the table skip the ORM's bookkeeping (an ORM
    UPDATE looks for the rows it changes in the session), which busy paths do not need."""
    return cast(Table, model.__table__)


def one_of(column: Any, values: Iterable[Any]) -> Any:
    """`column` equals one of a few constants, written into the statement's text (`IN` of a
    list is expanded at every execution, so a prebuilt statement holding one could not be
    prepared once)."""
    return or_(*(column == value for value in values))


def dialect_insert(session_or_dialect: AsyncSession | str, model: Any) -> Any:
    """The INSERT of PostgreSQL or SQLite, with their ON CONFLICT clauses."""
    dialect = (session_or_dialect if isinstance(session_or_dialect, str)
               else session_or_dialect.get_bind().dialect.name)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)


def insert_ignoring(session_or_dialect: AsyncSession | str, model: Any, conflict: list[str]) -> Any:
    """INSERT … ON CONFLICT (conflict) DO NOTHING, for PostgreSQL or SQLite."""
    return dialect_insert(session_or_dialect, model).on_conflict_do_nothing(index_elements=conflict)


def upsert(session: AsyncSession, model: Any, keys: list[str], values: dict[str, Any]) -> Any:
    """INSERT one row, or UPDATE every other column when its key exists (PostgreSQL, SQLite)."""
    statement = dialect_insert(session, model).values(values)
    changes = {k: statement.excluded[k] for k in values if k not in keys}
    return statement.on_conflict_do_update(index_elements=keys, set_=changes)


async def recreate_database(url: str) -> None:
    """Drop the PostgreSQL database `url` names and create it empty, ending every connection to
    it (for load tests and test servers, never a hub's own database)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        await admin.dispose()


def json_text(value: Any) -> str:
    """JSON columns' text, by orjson (the standard library's encoder costs several times more)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_engine(url: str, *, pool_size: int = 32) -> AsyncEngine:
    """Create the async engine for PostgreSQL (asyncpg) or the embedded SQLite file."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True,
                                     json_serializer=json_text, json_deserializer=orjson.loads)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        pool_recycle=1800,
        hide_parameters=True,  # an error's log line never carries a caller's number or address
        json_serializer=json_text, json_deserializer=orjson.loads,
        # The pool's rollback on return is enough; asyncpg's full RESET costs a round trip.
        connect_args={"server_settings": {"application_name": "dispatch-120"}},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_sessionmaker(bind: Any, **options: Any) -> async_sessionmaker[AsyncSession]:
    """Sessions of the hub (prebuilt statements run on the driver, see dispatch/prebuilt.py)."""
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False,
                              class_=HubSession, **options)


SESSIONS = "dispatch.sessions"  # the sessions a request opened, closed by CloseSessions


async def get_session(request: Request) -> AsyncSession:
    """The request's session, closed once the request is over (by CloseSessions: a dependency
    with `yield` costs FastAPI twice the CPU of a plain one, on every request)."""
    return open_session(request)


def open_session(request: Request) -> AsyncSession:
    """A session for the request, closed by CloseSessions once the request is over."""
    opened: list[AsyncSession] | None = request.scope.get(SESSIONS)
    if opened is None:
        raise RuntimeError("the app has no CloseSessions middleware to close its sessions")
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    session = sessionmaker()
    opened.append(session)
    return session


class CloseSessions:
    """Close every session a request opened when it is over, whatever happened (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        opened: list[AsyncSession] = []
        scope[SESSIONS] = opened
        try:
            await self.app(scope, receive, send)
        finally:
            for session in opened:
                await session.close()


SessionDep = Annotated[AsyncSession, Depends(get_session)]

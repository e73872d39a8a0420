"""Test harness: real PostgreSQL and Redis, an app per test, factories.

Each test runs in a PostgreSQL transaction that is rolled back, and its Redis database is
flushed. Tests marked `committed` (concurrency, several app instances) commit for real and
the tables are truncated afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from dispatch import migrate
from dispatch.auth import tokens
from dispatch.auth.schemas import Principal, Role
from dispatch.clock import ManualClock
from dispatch.config import Settings
from dispatch.db import create_engine
from dispatch.main import create_app
from dispatch.models import Base
from dispatch.redis import create_redis
from dispatch.replay.ownhub import free_port
from tests import factories

TEST_DATABASE_URL = os.environ.get(
    "DISPATCH_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/dispatch_test"
)
TEST_REDIS_URL = os.environ.get("DISPATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_SECRET = "test-only-signing-key-" + "k" * 32
# A token with every role, for the tests that are not about who may do what.
TEST_TOKEN, _ = tokens.issue(
    Principal(name="test-operator", roles=frozenset(Role)), key=TEST_SECRET,
    now=datetime.now(UTC), lifetime=timedelta(days=7),
)
AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


def token_for(*roles: str, unit_id: str | None = None, hospital_id: str | None = None,
              name: str = "someone") -> str:
    """A signed token for the given roles (and the unit or hospital a device is bound to)."""
    principal = Principal(name=name, roles=frozenset(Role(r) for r in roles), unit_id=unit_id,
                          hospital_id=hospital_id)
    issued, _ = tokens.issue(principal, key=TEST_SECRET, now=datetime.now(UTC),
                             lifetime=timedelta(hours=1))
    return issued


class Address(str):
    """host:port of a served test app, carrying the token its sockets should present."""

    token: str = TEST_TOKEN


def unavailable(what: str, error: BaseException) -> None:
    """A missing server fails the run in CI and skips locally."""
    message = f"{what} is unreachable ({type(error).__name__}: {error})"
    if IN_CI:
        pytest.fail(message + " — CI needs the real servers", pytrace=False)
    pytest.skip(message + " — run `make test` to start it")


async def create_database_if_missing(url: str) -> None:
    target = make_url(url)
    admin = create_async_engine(
        target.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_size=1
    )
    try:
        async with admin.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        await admin.dispose()


@pytest.fixture(scope="session")
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    """The test database, emptied and migrated from scratch once per run."""
    try:
        async with asyncio.timeout(10):
            await create_database_if_missing(TEST_DATABASE_URL)
    except Exception as error:
        unavailable("PostgreSQL at " + make_url(TEST_DATABASE_URL).render_as_string(), error)
    engine = create_engine(TEST_DATABASE_URL, pool_size=8)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await migrate.upgrade(TEST_DATABASE_URL)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        redis_prefix="test",
        secret_key=TEST_SECRET,
        background_tasks=False,
        ws_heartbeat_seconds=5,
    )


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    """A real Redis database, flushed before and after the test."""
    client = create_redis(settings.redis_url)
    try:
        async with asyncio.timeout(5):
            await client.flushdb()
    except Exception as error:
        await client.aclose()
        unavailable(f"Redis at {settings.redis_url}", error)
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def db(pg_engine: AsyncEngine, request: pytest.FixtureRequest) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with pg_engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


async def truncate_all(engine: AsyncEngine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


class ErrorLog(logging.Handler):
    """Keeps the ERROR records the hub (or the server under it) logs during a test."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in ("dispatch", "uvicorn"):
            self.records.append(record)


@pytest.fixture(autouse=True)
def no_error_logged(request: pytest.FixtureRequest) -> Iterator[ErrorLog]:
    """An ERROR in the hub's log during a test fails the test (mark `logs_errors` where the
    test provokes one on purpose and checks it)."""
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
    if handler.records and request.node.get_closest_marker("logs_errors") is None:
        lines = "\n".join(f"{r.name}: {r.getMessage()}" for r in handler.records[:5])
        pytest.fail(f"the hub logged {len(handler.records)} ERROR line(s):\n{lines}", pytrace=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def committed(pg_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """For tests that commit for real: tables are truncated afterwards."""
    await truncate_all(pg_engine)
    yield pg_engine
    await truncate_all(pg_engine)


@contextlib.asynccontextmanager
async def running(app: Any) -> AsyncIterator[Any]:
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def app(
    settings: Settings, db: AsyncConnection, redis: Redis, clock: ManualClock
) -> AsyncIterator[Any]:
    """The hub, started, with every session inside the test's transaction."""
    hub = create_app(settings, clock=clock, database_bind=db)
    async with running(hub):
        yield hub


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub", headers=AUTH) as http:
        yield http


def client_for(app: Any, base_url: str = "http://hub") -> httpx.AsyncClient:
    """An HTTP client on an app, signed in with every role."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url,
                             headers=AUTH)


@pytest.fixture
def make_app(settings: Settings, redis: Redis, committed: AsyncEngine) -> Callable[..., Any]:
    """Build extra hub instances sharing the real database and Redis (committed mode)."""

    def build(**overrides: Any) -> Any:
        return create_app(settings.model_copy(update=overrides))

    return build


@contextlib.asynccontextmanager
async def serve(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve an already-started app over real sockets in this event loop; yield its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_level="warning",
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield Address(f"127.0.0.1:{port}")
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


@pytest.fixture
async def server(app: Any) -> AsyncIterator[str]:
    """host:port of the test app served over real HTTP and WebSockets."""
    async with serve(app) as address:
        yield address


@contextlib.asynccontextmanager
async def xian_hub(app: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The app started with the built-in Xi'an scenario, and a client signed in with every role."""
    async with running(app):
        await factories.load_builtin(app)
        async with client_for(app) as http:
            yield app, http


@pytest.fixture
async def scenario(app: Any) -> factories.LoadedScenario:
    """A small scenario loaded into the test app."""
    return await factories.load(app, factories.small_scenario())


@pytest.fixture
async def xian(app: Any) -> factories.LoadedScenario:
    """The built-in Xi'an High-tech Zone scenario (seed 000) loaded into the test app."""
    return await factories.load_builtin(app)

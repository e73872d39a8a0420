"""Run Alembic migrations from code, and tell whether a database is at head."""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.config import ConfigurationError
from dispatch.paths import project_dir


def migrations_dir() -> Path:
    return project_dir("migrations", "env.py")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


@cache
def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    if head is None:
        raise ConfigurationError("no migrations found")
    return head


def upgrade_sync(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


async def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to `revision` (Alembic runs its own event loop in a thread)."""
    await asyncio.to_thread(upgrade_sync, database_url, revision)


async def current_revision(connection: AsyncConnection) -> str | None:
    try:
        result = await connection.execute(text("SELECT version_num FROM alembic_version"))
    except Exception:  # no alembic_version table yet
        return None
    row = result.first()
    return None if row is None else str(row[0])

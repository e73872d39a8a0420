"""Write the append-only audit log (in the caller's transaction; a unit of work writes its rows
at once when it commits, see dispatch/work.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit.models import AuditEntry
from dispatch.audit.schemas import Actor
from dispatch.db import table
from dispatch.prebuilt import prebuilt

ENTRIES = table(AuditEntry).c


INSERT_ENTRY = prebuilt(insert(table(AuditEntry)))


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    source: str | None,
    at: datetime,
    role: str | None = None,
) -> None:
    """Write one audit entry in the caller's transaction (it stands once the caller commits)."""
    await session.execute(INSERT_ENTRY, row(
        actor=Actor(name=actor, role=role, source=source), action=action, target_type=target_type,
        target_id=target_id, before=before, after=after, at=at,
    ))


def row(
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime,
) -> dict[str, Any]:
    """One audit entry as a row for `INSERT_ENTRY` (the fast path of busy services)."""
    return {
        "at": at, "actor": actor.name[:64], "actor_role": actor.role, "action": action[:64],
        "target_type": target_type[:32], "target_id": None if target_id is None else target_id[:64],
        "source": None if actor.source is None else actor.source[:64],
        "before": None if before is None else to_jsonable_python(before),
        "after": None if after is None else to_jsonable_python(after),
    }


COLUMNS = ("at", "actor", "actor_role", "action", "target_type", "target_id", "source", "before",
           "after")


def along(written: Any) -> Any:
    """An audit entry written by the same statement as the change it records (PostgreSQL: a
    data-modifying CTE), only if `written` (a CTE of that change) returned a row. Its values
    are the bind parameters `audit_<column>` (see `params`)."""
    return INSERT_ENTRY.from_select(list(COLUMNS), select(
        *(bindparam(f"audit_{name}", type_=ENTRIES[name].type) for name in COLUMNS)
    ).select_from(written))


def params(entry: dict[str, Any]) -> dict[str, Any]:
    """A `row` as the bind parameters of `along`."""
    return {f"audit_{name}": entry[name] for name in COLUMNS}

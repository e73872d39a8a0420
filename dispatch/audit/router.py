"""The audit log, for supervisors: who did what, when, from where, before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Query
from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.auth.dependencies import allow
from dispatch.auth.permissions import CONFIGURERS
from dispatch.db import SessionDep
from dispatch.routers import DomainRouter
from dispatch.schemas import Moment

router = DomainRouter(prefix="/api/v1", tags=["audit"],
                   dependencies=[allow(*CONFIGURERS)])


@router.get("/audit")
async def query_audit(
    session: SessionDep,
    actor: str | None = Query(default=None, max_length=64),
    action: str | None = Query(default=None, max_length=64, description="exact, or a prefix ending in ."),
    target_type: str | None = Query(default=None, max_length=32),
    target_id: str | None = Query(default=None, max_length=64),
    since: Moment | None = None,
    until: Moment | None = None,
    limit: int = Query(default=200, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Audit entries matching the filters, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action.startswith(action) if action.endswith(".")
                            else AuditEntry.action == action)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    entries = (await session.scalars(query)).all()
    return [entry_out(e) for e in entries]


def entry_out(entry: AuditEntry) -> dict[str, Any]:
    at: datetime = entry.at
    return {"id": entry.id, "at": at, "actor": entry.actor, "role": entry.actor_role,
            "action": entry.action, "target_type": entry.target_type, "target_id": entry.target_id,
            "source": entry.source, "before": entry.before, "after": entry.after}

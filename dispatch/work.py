"""One request, one unit of work: one transaction; audit rows and events kept until it commits.

A workflow reads and writes through `Work` with prebuilt Core statements (the same SQL text on
every call, so the driver's prepared statements are reused), records audit rows and events as
it goes, and commits once: the audit rows are written in one statement just before the commit,
and the events are published after it in one Redis round trip.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Executable, Row
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.prebuilt import HubSession
from dispatch.realtime.schemas import CONSOLE, OutgoingEvent, Scope
from dispatch.runtime import Runtime


class Work:
    """The session of one unit of work, with the audit rows and events it will write."""

    __slots__ = ("audit_rows", "events", "rt", "session")

    def __init__(self, rt: Runtime, session: AsyncSession) -> None:
        self.rt = rt
        self.session = session
        self.audit_rows: list[dict[str, Any]] = []
        self.events: list[OutgoingEvent] = []

    async def one(self, statement: Executable, params: dict[str, Any] | None = None) -> Row[Any] | None:
        """The first row the statement returns (None: no row)."""
        return (await self.session.execute(statement, params)).first()

    async def all(self, statement: Executable, params: dict[str, Any] | None = None) -> Sequence[Row[Any]]:
        return (await self.session.execute(statement, params)).all()

    async def scalar(self, statement: Executable, params: dict[str, Any] | None = None) -> Any:
        return (await self.session.execute(statement, params)).scalar()

    async def run(self, statement: Executable, params: Any = None) -> None:
        """Execute a statement for its effect (a list of parameters: once per row)."""
        await self.session.execute(statement, params)

    def audit(self, actor: Actor, action: str, target_type: str, target_id: str | None, *,
              before: dict[str, Any] | None, after: dict[str, Any] | None, at: datetime) -> None:
        """An audit entry, written with the others when the work commits."""
        self.audit_rows.append(audit.row(actor=actor, action=action, target_type=target_type,
                                         target_id=target_id, before=before, after=after, at=at))

    def emit(self, type_: str, data: dict[str, Any], *, scope: Scope = CONSOLE,
             at: datetime | None = None) -> OutgoingEvent:
        """An event, published once the work has committed."""
        event = self.rt.bus.event(type_, data, scope=scope, at=at)
        self.events.append(event)
        return event

    def publish(self, *events: OutgoingEvent) -> None:
        """Events built elsewhere, published once the work has committed."""
        self.events.extend(events)

    async def flush_audit(self) -> None:
        """Write the audit rows recorded so far (in the transaction; commit writes the rest)."""
        if self.audit_rows:
            rows, self.audit_rows = self.audit_rows, []
            await self.session.execute(audit.INSERT_ENTRY, rows if len(rows) > 1 else rows[0])

    async def commit(self) -> None:
        """Write the audit rows, commit, then publish the events in one round trip."""
        await self.flush_audit()
        await self.session.commit()
        events, self.events = self.events, []
        await self.rt.bus.publish(*events)

    async def rollback(self) -> None:
        """Forget the transaction's writes, audit rows and events."""
        self.audit_rows, self.events = [], []
        await self.session.rollback()


def statements_alone(session: AsyncSession, alone: bool = True) -> None:
    """Each statement of this unit of work is atomic by itself — one write, perhaps after reads
    that only check, the write guarded against what may have changed since: on PostgreSQL they
    run without BEGIN and COMMIT (two round trips fewer). Say so before the session's first
    statement (`alone=False` takes it back before a unit that needs a transaction); it holds
    until the session commits or rolls back. Nothing changes when the session joins an outer
    transaction (the tests') or on SQLite."""
    if isinstance(session, HubSession):
        bind = session.bind
        session.autocommit = alone and isinstance(bind, AsyncEngine) \
            and bind.dialect.name == "postgresql" and not session.in_transaction()


async def get_work(request: Request) -> AsyncIterator[Work]:
    rt: Runtime = request.app.state.runtime
    async with rt.sessionmaker() as session:
        yield Work(rt, session)


WorkDep = Annotated[Work, Depends(get_work)]

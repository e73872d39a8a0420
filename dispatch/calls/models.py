"""Calls as telephony reports them, callbacks and call-taker positions.

A call's timeline is its audit trail (every step, with who and when) and its events.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.calls.enums import CallbackStatus as CallbackStatus
from dispatch.calls.enums import CallStatus as CallStatus
from dispatch.calls.enums import PositionState as PositionState
from dispatch.db import Base


class Call(Base):
    """One emergency call, from the first ring; the answer clock starts at `rung_at`."""

    __tablename__ = "calls"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    telephony_id: Mapped[str] = mapped_column(String(128), unique=True)
    caller_number: Mapped[str | None] = mapped_column(String(32))  # None: withheld
    line: Mapped[str] = mapped_column(String(32))
    priority: Mapped[bool] = mapped_column(default=False)
    rung_at: Mapped[datetime]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=CallStatus.RINGING)
    carrier_lat: Mapped[float | None]
    carrier_lon: Mapped[float | None]
    carrier_accuracy_m: Mapped[float | None]
    escalated_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(32))
    abandoned_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("incidents.id"))
    # A supervisor's test call: it rings and is answered like any other, and is left out of
    # the answer-time figures and the quality indicators (nobody called).
    test: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        Index(None, "status"),
        Index(None, "rung_at"),
        Index(None, "incident_id"),
    )


class Callback(Base):
    """A call-back owed to a caller who hung up before being answered."""

    __tablename__ = "callbacks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    call_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calls.id"), unique=True)
    caller_number: Mapped[str | None] = mapped_column(String(32))  # None: cannot be called back
    status: Mapped[str] = mapped_column(String(16), default=CallbackStatus.PENDING)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    taken_by: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(String(500))
    resolved_at: Mapped[datetime | None]

    __table_args__ = (Index(None, "status"),)


class Position(Base):
    """A call-taker position (a seat at the console) and its last known state."""

    __tablename__ = "positions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_zh: Mapped[str | None] = mapped_column(String(100))
    supervisor: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16), default=PositionState.LOGGED_OUT)
    user: Mapped[str | None] = mapped_column(String(64))
    state_since: Mapped[datetime | None]
    call_id: Mapped[uuid.UUID | None]

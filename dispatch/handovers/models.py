"""Handovers: a patient brought to a hospital, from pre-arrival notice to handover."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base
from dispatch.handovers.enums import HandoverStatus as HandoverStatus


class Handover(Base):
    """A patient brought to a hospital: pre-arrival notice, arrival, handover (seed 004: 15 min)."""

    __tablename__ = "handovers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    assignment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assignments.id"), unique=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"))
    unit_id: Mapped[str] = mapped_column(String(32))
    hospital_id: Mapped[str] = mapped_column(ForeignKey("hospitals.id"))
    status: Mapped[str] = mapped_column(String(16), default=HandoverStatus.INCOMING)
    category: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(16))
    infection_status: Mapped[str] = mapped_column(String(16))
    triage: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # the incident's, at notice
    notice_at: Mapped[datetime]
    eta_at: Mapped[datetime | None]
    notice_acknowledged_at: Mapped[datetime | None]
    notice_acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    arrived_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(64))
    done_by_crew_reason: Mapped[str | None] = mapped_column(String(300))
    overdue_level: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index(None, "hospital_id", "status"), Index(None, "status", "arrived_at"))

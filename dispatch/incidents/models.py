"""Incidents: what happened to whom and where, recorded by the answering call-taker."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base
from dispatch.incidents.enums import IncidentStatus as IncidentStatus
from dispatch.incidents.enums import InfectionStatus as InfectionStatus
from dispatch.incidents.enums import PatientCategory as PatientCategory
from dispatch.incidents.enums import Severity as Severity


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(16))  # 20261207-0042: the day's sequence
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.OPEN)
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    severity: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(24))
    infection_status: Mapped[str] = mapped_column(String(16), default=InfectionStatus.NONE)
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    complaint: Mapped[str | None] = mapped_column(String(300))  # free text, as the caller said it
    triage: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # incidents.triage.Triage
    notes: Mapped[str | None] = mapped_column(Text)
    registered_hospital_id: Mapped[str | None] = mapped_column(ForeignKey("hospitals.id"))
    treating_hospital_id: Mapped[str | None] = mapped_column(ForeignKey("hospitals.id"))
    zone_id: Mapped[str | None] = mapped_column(String(64))
    zone_status: Mapped[str | None] = mapped_column(String(16))
    sub_district_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index(None, "status"), Index(None, "created_at"),
                      Index("uq_incidents_number", "number", unique=True))


class IncidentSequence(Base):
    """The last incident number drawn on each of the centre's days (one row a day)."""

    __tablename__ = "incident_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # 20261207
    last: Mapped[int]

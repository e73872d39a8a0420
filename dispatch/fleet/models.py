"""Ambulance posts, units, their history and assignments (the system of record)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, BigIntPK
from dispatch.fleet.enums import AssignmentStatus as AssignmentStatus
from dispatch.fleet.enums import UnitCapability as UnitCapability
from dispatch.fleet.enums import UnitKind as UnitKind
from dispatch.fleet.enums import UnitStatus as UnitStatus

OPEN_WHERE = "status IN ('confirmed', 'acknowledged')"


class Post(Base):
    """An ambulance post (急救站点), usually at a community health centre."""

    __tablename__ = "posts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float]
    lon: Mapped[float]
    location_approximate: Mapped[bool] = mapped_column(default=False)
    sub_district_ids: Mapped[list[str]] = mapped_column(default=list)
    crews: Mapped[int] = mapped_column(default=1)
    paired_hospital_id: Mapped[str | None] = mapped_column(String(64))


class Unit(Base):
    """A unit and its last known state (live state is in Redis, rebuilt from here)."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    call_sign: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    capabilities: Mapped[list[str]] = mapped_column(default=list)
    post_id: Mapped[str | None] = mapped_column(ForeignKey("posts.id"))
    crew: Mapped[list[str]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(24), default=UnitStatus.AVAILABLE)
    status_at: Mapped[datetime | None]
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    position_at: Mapped[datetime | None]
    assignment_id: Mapped[uuid.UUID | None]
    infectious_load: Mapped[bool] = mapped_column(default=False)


@dataclass(frozen=True, slots=True)
class UnitRef:
    """What a status change reads back from the unit's row (for the hospital's notice)."""

    id: str
    call_sign: str
    lat: float | None
    lon: float | None


class UnitEvent(Base):
    """A status change or position report of a unit."""

    __tablename__ = "unit_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    actor: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index(None, "unit_id", "at"),
        # Status changes alone, readable from the index (each job's steps, for the indicators).
        Index("ix_unit_events_status", "unit_id", "at", "to_status",
              postgresql_where=text("type = 'status'"), sqlite_where=text("type = 'status'")),
    )


class Assignment(Base):
    """A unit sent to an incident, from proposal to completion."""

    __tablename__ = "assignments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"))
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    decision_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("routing_decisions.id"))
    status: Mapped[str] = mapped_column(String(16), default=AssignmentStatus.PROPOSED)
    destination_hospital_id: Mapped[str | None] = mapped_column(String(64))
    proposed_at: Mapped[datetime]
    proposed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    ack_deadline: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(200))
    # The first time the crew reported each step of the job (quality indicators read these).
    en_route_at: Mapped[datetime | None]
    on_scene_at: Mapped[datetime | None]
    left_scene_at: Mapped[datetime | None]
    at_hospital_at: Mapped[datetime | None]
    override_reason: Mapped[str | None] = mapped_column(String(300))
    # The home-visit job whose GP called for this ambulance (seed 003).
    escalated_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assignments.id"))

    __table_args__ = (
        Index(None, "incident_id"), Index(None, "unit_id", "status"),
        # A unit works one job at a time: the last guard behind the reservation in Redis.
        Index("uq_assignments_open_unit", "unit_id", unique=True,
              postgresql_where=text(OPEN_WHERE), sqlite_where=text(OPEN_WHERE)),
    )

"""Hospitals: where patients are taken, what they can do and whether they are open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base
from dispatch.hospitals.enums import CapacityCategory as CapacityCategory
from dispatch.hospitals.enums import Designation as Designation
from dispatch.hospitals.enums import HospitalCapability as HospitalCapability
from dispatch.hospitals.enums import HospitalStatus as HospitalStatus


class Hospital(Base):
    __tablename__ = "hospitals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float]
    lon: Mapped[float]
    location_approximate: Mapped[bool] = mapped_column(default=False)
    level: Mapped[str] = mapped_column(String(24), default="secondary")
    capabilities: Mapped[list[str]] = mapped_column(default=list)
    # Patient categories this hospital is designated for (seed 000), in the scenario's order.
    designations: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default=HospitalStatus.OPEN)
    full_categories: Mapped[list[str]] = mapped_column(default=list)
    status_reason: Mapped[str | None] = mapped_column(String(300))
    status_changed_at: Mapped[datetime | None]
    phone: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(String(500))
    # A suspension or reopening announced for later (applied by the hospital timer).
    scheduled_status: Mapped[str | None] = mapped_column(String(16))
    scheduled_at: Mapped[datetime | None]
    scheduled_reason: Mapped[str | None] = mapped_column(String(300))


class HospitalCapacity(Base):
    """Free beds (or slots) of one kind at one hospital, as the hospital last reported."""

    __tablename__ = "hospital_capacity"

    hospital_id: Mapped[str] = mapped_column(ForeignKey("hospitals.id", ondelete="CASCADE"),
                                             primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    available: Mapped[int]
    total: Mapped[int | None]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(64))

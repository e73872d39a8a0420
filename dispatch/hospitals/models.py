"""Hospitals: where patients are taken, what they can do and whether they are open."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base


class HospitalStatus(StrEnum):
    OPEN = "open"
    SUSPENDED = "suspended"  # 停诊: routing never sends a patient here


class HospitalCapability(StrEnum):
    EMERGENCY = "emergency"
    OBSTETRICS = "obstetrics"
    NEONATAL = "neonatal"
    PAEDIATRICS = "paediatrics"
    DIALYSIS = "dialysis"
    ONCOLOGY = "oncology"
    PSYCHIATRY = "psychiatry"
    FEVER_CLINIC = "fever_clinic"
    DESIGNATED_INFECTIOUS = "designated_infectious"  # 定点医院
    YELLOW_CODE = "yellow_code"  # 黄码医院
    MAKESHIFT = "makeshift"  # 方舱医院
    ICU = "icu"
    TRAUMA = "trauma"
    STROKE = "stroke"
    CHEST_PAIN = "chest_pain"
    POISONING = "poisoning"  # 中毒救治: toxicology with blood purification and intensive care


class Designation(StrEnum):
    """Groups of patients a hospital is designated to take (seed 000)."""

    PREGNANT = "pregnant"
    NEWBORN = "newborn"
    DIALYSIS = "dialysis"
    CANCER = "cancer"
    PSYCHIATRIC = "psychiatric"
    GUARANTEE = "guarantee"  # 保障医院: the general hospital that absorbs a suspended one's patients


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


class CapacityCategory(StrEnum):
    """Beds and slots a hospital reports; routing ranks by them but no hospital may refuse."""

    GENERAL = "general"
    ICU = "icu"
    DIALYSIS = "dialysis"
    DELIVERY = "delivery"
    NEONATAL = "neonatal"
    ONCOLOGY = "oncology"
    INFECTIOUS = "infectious"
    YELLOW_CODE = "yellow_code"


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

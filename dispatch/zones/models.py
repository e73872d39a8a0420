"""Zones under emergency rules (sealed, controlled, precaution) and sub-districts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, BigIntPK
from dispatch.zones.enums import ZONE_STRICTNESS as ZONE_STRICTNESS
from dispatch.zones.enums import ZoneStatus as ZoneStatus

# Strictest first: overlapping zones resolve to the lowest rank.


class Zone(Base):
    """A polygon with a status in force over a validity window; zones change daily."""

    __tablename__ = "zones"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))  # the Chinese name, when known
    status: Mapped[str] = mapped_column(String(16))
    sub_district_id: Mapped[str | None] = mapped_column(String(64))
    community: Mapped[str | None] = mapped_column(String(200))
    geometry: Mapped[dict[str, Any]]
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(default=False)


class ZoneRevision(Base):
    """Every saved version of a zone, for audit and rollback."""

    __tablename__ = "zone_revisions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    zone_id: Mapped[str] = mapped_column(ForeignKey("zones.id", ondelete="CASCADE"))
    version: Mapped[int]
    snapshot: Mapped[dict[str, Any]]
    changed_at: Mapped[datetime]
    changed_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index(None, "zone_id", "version", unique=True),)


class SubDistrict(Base):
    """A sub-district (街道/镇) with its population, for coverage and demo arrivals."""

    __tablename__ = "sub_districts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_zh: Mapped[str | None] = mapped_column(String(100))
    population: Mapped[int]
    lat: Mapped[float]
    lon: Mapped[float]
    radius_km: Mapped[float] = mapped_column(default=3.0)
    location_approximate: Mapped[bool] = mapped_column(default=True)

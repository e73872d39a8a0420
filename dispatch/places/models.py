"""Community care places: where a caller is sent, or who goes to them, when an ambulance is not the answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base
from dispatch.places.enums import PlaceKind as PlaceKind
from dispatch.places.enums import PlaceService as PlaceService
from dispatch.places.enums import PlaceStatus as PlaceStatus


class Place(Base):
    """A community care place with its phone, hours and status."""

    __tablename__ = "places"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float]
    lon: Mapped[float]
    location_approximate: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(32))
    # "24h", or local opening windows "08:00-12:00,14:00-17:30" ("18:00-08:00" runs past midnight);
    # null when not known: then the status alone says whether it is open.
    hours: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    status: Mapped[str] = mapped_column(String(16), default=PlaceStatus.OPEN)
    status_reason: Mapped[str | None] = mapped_column(String(300))
    status_changed_at: Mapped[datetime | None]
    services: Mapped[list[str]] = mapped_column(default=list)
    # A community health centre's paired tertiary hospital, to which it refers upward.
    paired_hospital_id: Mapped[str | None] = mapped_column(String(64))
    # The community health centre that runs this place (night clinic, oxygen station, team).
    parent_id: Mapped[str | None] = mapped_column(String(64))
    # Family-doctor teams: the sub-districts they serve.
    served_sub_district_ids: Mapped[list[str]] = mapped_column(default=list)
    # Temporary medical points: the sealed or controlled zone they serve, the people they are
    # sized for, and the medical_point_team unit (GP, nurse, vehicle) the fleet dispatches.
    served_zone_id: Mapped[str | None] = mapped_column(String(64))
    population_served: Mapped[int | None]
    unit_id: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index(None, "kind", "status"), Index(None, "served_zone_id"))

"""Which scenario is loaded: its name, map centre and when it was loaded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base


class ScenarioInfo(Base):
    __tablename__ = "scenarios"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    centre_lat: Mapped[float]
    centre_lon: Mapped[float]
    loaded_at: Mapped[datetime]
    checksum: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)

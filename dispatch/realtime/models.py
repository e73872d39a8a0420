"""The event log: every change, as it was pushed to consoles and tablets (archived from the stream)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, BigIntPK


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    stream_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]]
    scope: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index(None, "type", "at"),)

"""People who log in, and devices (crew tablets, hospital terminals, telephony) with tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base


class User(Base):
    """A person: call-taker, dispatcher, supervisor, hospital staff, crew member or admin."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(default=list)
    unit_id: Mapped[str | None] = mapped_column(String(32))
    hospital_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class Device(Base):
    """A device token: a crew tablet bound to one unit, a hospital terminal to one hospital."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # crew | hospital | telephony
    unit_id: Mapped[str | None] = mapped_column(String(32))
    hospital_id: Mapped[str | None] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]

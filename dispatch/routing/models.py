"""Versioned rule sets and the routing decisions they made."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base


class RuleSet(Base):
    """One version of the routing rules, kept as the YAML that was uploaded."""

    __tablename__ = "rule_sets"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(64))
    activated_at: Mapped[datetime | None]
    activated_by: Mapped[str | None] = mapped_column(String(64))


class RoutingDecision(Base):
    """Where and how a patient goes, with the rules that decided it."""

    __tablename__ = "routing_decisions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("incidents.id"))
    rule_set_version: Mapped[int]
    decided_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(24), default="transport")
    destination_hospital_id: Mapped[str | None] = mapped_column(String(64))
    transport_mode: Mapped[str | None] = mapped_column(String(32))
    required_capabilities: Mapped[list[str]] = mapped_column(default=list)
    decision: Mapped[dict[str, Any]]
    matched_rules: Mapped[list[str]] = mapped_column(default=list)

    __table_args__ = (Index(None, "incident_id", "decided_at"),)

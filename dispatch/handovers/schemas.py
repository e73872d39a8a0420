"""API shapes of handovers, capacity and suspensions."""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, Field

from dispatch.schemas import StrictIn


class HandoverDoneIn(StrictIn):
    reason: str | None = Field(default=None, min_length=1, max_length=300,
                               description="required when the crew, not the hospital, marks it")


class CapacitySetIn(StrictIn):
    available: int = Field(ge=0, le=100_000)
    total: int | None = Field(default=None, ge=0, le=100_000)


class CapacityAdjustIn(StrictIn):
    delta: int = Field(ge=-100_000, le=100_000)


class SuspendIn(StrictIn):
    reason: str = Field(min_length=1, max_length=300)
    at: AwareDatetime | None = Field(default=None, description="when it takes effect; now if omitted")


class ReopenIn(StrictIn):
    reason: str | None = Field(default=None, max_length=300)
    at: AwareDatetime | None = None


class RerouteIn(StrictIn):
    decision_id: uuid.UUID | None = Field(default=None, description="the incident's latest if omitted")

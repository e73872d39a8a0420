"""The handovers domain's enumerations (no ORM: pure code imports these)."""

from __future__ import annotations

from enum import StrEnum


class HandoverStatus(StrEnum):
    INCOMING = "incoming"  # the unit is transporting: pre-arrival notice sent
    ARRIVED = "arrived"  # the handover clock runs
    HANDED_OVER = "handed_over"
    CANCELLED = "cancelled"

"""The incidents domain's enumerations (no ORM: pure code imports these)."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"  # 危急重症: never waits for paperwork, always an ambulance
    URGENT = "urgent"
    NON_URGENT = "non_urgent"


class PatientCategory(StrEnum):
    ORDINARY = "ordinary"
    PREGNANT = "pregnant"
    NEWBORN = "newborn"  # newborns and infants
    DIALYSIS = "dialysis"
    CANCER = "cancer"
    CHRONIC = "chronic"
    PSYCHIATRIC = "psychiatric"
    DISABLED = "disabled"
    IMMOBILE_ELDERLY = "immobile_elderly"


class InfectionStatus(StrEnum):
    NONE = "none"
    SUSPECTED = "suspected"
    CONFIRMED = "confirmed"


class IncidentStatus(StrEnum):
    OPEN = "open"
    DISPATCHED = "dispatched"
    CLOSED = "closed"
    CANCELLED = "cancelled"

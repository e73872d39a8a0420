"""The zones domain's enumerations (no ORM: pure code imports these)."""

from __future__ import annotations

from enum import StrEnum


class ZoneStatus(StrEnum):
    SEALED = "sealed"  # 封控区
    CONTROLLED = "controlled"  # 管控区
    PRECAUTION = "precaution"  # 防范区
    NORMAL = "normal"


ZONE_STRICTNESS = {
    ZoneStatus.SEALED: 0,
    ZoneStatus.CONTROLLED: 1,
    ZoneStatus.PRECAUTION: 2,
    ZoneStatus.NORMAL: 3,
}

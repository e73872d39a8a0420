"""The places domain's enumerations (no ORM: pure code imports these)."""

from __future__ import annotations

from enum import StrEnum


class PlaceKind(StrEnum):
    FEVER_CLINIC = "fever_clinic"  # 发热门诊 / 发热诊室 (001 二(一)1, 002 一(二))
    COMMUNITY_HEALTH_CENTRE = "community_health_centre"  # 社区卫生服务中心, paired upward (000 附件)
    NIGHT_CLINIC = "night_clinic"  # 夜门诊 (002 一(三))
    OXYGEN_STATION = "oxygen_station"  # 氧疗站, 24-hour oxygen refill (002 一(三))
    FAMILY_DOCTOR_TEAM = "family_doctor_team"  # 家庭医生团队, serving an area (002, 003 1)
    TEMPORARY_MEDICAL_POINT = "temporary_medical_point"  # 临时医疗点, one per 10,000 people (003)


class PlaceStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # never referred to


class PlaceService(StrEnum):
    OXYGEN_REFILL = "oxygen_refill"  # 氧气灌装
    OXYGEN_THERAPY = "oxygen_therapy"  # 吸氧区 / 氧疗
    LONG_PRESCRIPTION = "long_prescription"  # 长处方, up to 12 weeks (003, 004 八)
    HOME_VISIT = "home_visit"  # 上门服务
    HOTLINE = "hotline"  # 24-hour telephone line (002 一(三))

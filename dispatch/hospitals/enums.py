"""The hospitals domain's enumerations (no ORM: pure code imports these)."""

from __future__ import annotations

from enum import StrEnum


class HospitalStatus(StrEnum):
    OPEN = "open"
    SUSPENDED = "suspended"  # 停诊: routing never sends a patient here


class HospitalCapability(StrEnum):
    EMERGENCY = "emergency"
    OBSTETRICS = "obstetrics"
    NEONATAL = "neonatal"
    PAEDIATRICS = "paediatrics"
    DIALYSIS = "dialysis"
    ONCOLOGY = "oncology"
    PSYCHIATRY = "psychiatry"
    FEVER_CLINIC = "fever_clinic"
    DESIGNATED_INFECTIOUS = "designated_infectious"  # 定点医院
    YELLOW_CODE = "yellow_code"  # 黄码医院
    MAKESHIFT = "makeshift"  # 方舱医院
    ICU = "icu"
    TRAUMA = "trauma"
    STROKE = "stroke"
    CHEST_PAIN = "chest_pain"
    POISONING = "poisoning"  # 中毒救治: toxicology with blood purification and intensive care


class Designation(StrEnum):
    """Groups of patients a hospital is designated to take (seed 000)."""

    PREGNANT = "pregnant"
    NEWBORN = "newborn"
    DIALYSIS = "dialysis"
    CANCER = "cancer"
    PSYCHIATRIC = "psychiatric"
    GUARANTEE = "guarantee"  # 保障医院: the general hospital that absorbs a suspended one's patients


class CapacityCategory(StrEnum):
    """Beds and slots a hospital reports; routing ranks by them but no hospital may refuse."""

    GENERAL = "general"
    ICU = "icu"
    DIALYSIS = "dialysis"
    DELIVERY = "delivery"
    NEONATAL = "neonatal"
    ONCOLOGY = "oncology"
    INFECTIOUS = "infectious"
    YELLOW_CODE = "yellow_code"

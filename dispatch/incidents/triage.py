"""Structured triage: what the call-taker asks, in the order it is asked (pure).

The complaint protocol picks the clinical pathway (dispatch.routing), the danger signs keep a
caller on the emergency path, and the onset time ("last known well") tells a stroke team how
much of its treatment window is left. The free-text complaint stays on the incident.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from enum import StrEnum

from pydantic import AwareDatetime, ConfigDict, Field, field_validator

from dispatch.schemas import StrictIn


class ComplaintProtocol(StrEnum):
    """The caller's main problem, from a short protocol list (主诉分类)."""

    STROKE = "stroke"  # 卒中: face, arm or speech suddenly affected
    CHEST_PAIN = "chest_pain"  # 胸痛
    MAJOR_TRAUMA = "major_trauma"  # 严重创伤
    POISONING = "poisoning"  # 中毒
    BREATHING = "breathing"  # 呼吸困难
    UNCONSCIOUS = "unconscious"  # 意识不清
    OBSTETRIC = "obstetric"  # 产科急症 / 临产
    FEVER = "fever"  # 发热
    PSYCHIATRIC = "psychiatric"  # 精神行为异常
    OTHER = "other"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class DangerSign(StrEnum):
    """Signs that keep a caller on the emergency path, whatever else they need."""

    NOT_BREATHING_NORMALLY = "not_breathing_normally"
    UNRESPONSIVE = "unresponsive"
    SEVERE_BLEEDING = "severe_bleeding"
    FACE_ARM_SPEECH = "face_arm_speech"  # FAST: face droop, arm weakness, speech
    CHEST_PAIN_SWEATING = "chest_pain_sweating"
    SEIZURE = "seizure"
    LOW_SPO2 = "low_spo2"
    PALE_COLD_SKIN = "pale_cold_skin"


WORDS: dict[str, tuple[str, str]] = {
    "stroke": ("卒中", "stroke"), "chest_pain": ("胸痛", "chest pain"),
    "major_trauma": ("严重创伤", "major trauma"), "poisoning": ("中毒", "poisoning"),
    "breathing": ("呼吸困难", "breathing difficulty"), "unconscious": ("意识不清", "unconscious"),
    "obstetric": ("产科急症", "obstetric emergency"), "fever": ("发热", "fever"),
    "psychiatric": ("精神行为异常", "psychiatric emergency"), "other": ("其他", "other"),
    "female": ("女", "female"), "male": ("男", "male"), "unknown": ("不详", "unknown"),
    "not_breathing_normally": ("呼吸异常", "not breathing normally"),
    "unresponsive": ("呼之不应", "unresponsive"), "severe_bleeding": ("大出血", "severe bleeding"),
    "face_arm_speech": ("口角歪斜/肢体无力/言语不清", "face, arm or speech affected"),
    "chest_pain_sweating": ("胸痛伴大汗", "chest pain with sweating"), "seizure": ("抽搐", "seizure"),
    "low_spo2": ("血氧低", "low oxygen saturation"), "pale_cold_skin": ("面色苍白湿冷", "pale, cold skin"),
}


class Triage(StrictIn):
    """The call-taker's structured triage; every field may be unknown."""

    model_config = ConfigDict(frozen=True)

    protocol: ComplaintProtocol | None = Field(default=None, description="complaint protocol")
    age_years: int | None = Field(default=None, ge=0, le=130, description="0 for an infant")
    sex: Sex | None = None
    last_known_well: AwareDatetime | None = Field(
        default=None, description="onset: when the patient was last seen well (stroke: the clock)")
    danger_signs: list[DangerSign] = Field(default_factory=list, max_length=len(DangerSign))

    @field_validator("danger_signs")
    @classmethod
    def _once_each(cls, signs: list[DangerSign]) -> list[DangerSign]:
        return list(dict.fromkeys(signs))

    @property
    def infant(self) -> bool:
        return self.age_years is not None and self.age_years < 1

    def onset_minutes(self, at: datetime) -> int | None:
        """Minutes from last known well to `at` (None when not known)."""
        if self.last_known_well is None:
            return None
        return max(0, int((at - self.last_known_well).total_seconds() // 60))


def onset_note(triage: Triage, at: datetime, local: tzinfo) -> str | None:
    """What the crew and the receiving team read about the onset (local time), in both languages."""
    minutes = triage.onset_minutes(at)
    if minutes is None or triage.last_known_well is None:
        return None
    when = triage.last_known_well.astimezone(local).strftime("%m-%d %H:%M")
    hours, rest = divmod(minutes, 60)
    ago = f"{hours} h {rest} min" if hours else f"{rest} min"
    zh_ago = f"{hours}小时{rest}分钟" if hours else f"{rest}分钟"
    return f"最后正常时间 {when}，距今{zh_ago} (last known well {when}, {ago} ago)"

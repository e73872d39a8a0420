"""Plain words for the codes routing explains itself with, in Chinese and English (pure).

The console has the same words for its labels (static/common/i18n.js); a decision's reasons are
read by call-takers and crews, so they never show a bare code such as `yellow_code`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dispatch.hospitals.enums import Designation, HospitalCapability


@dataclass(frozen=True, slots=True)
class Said:
    """One explanation in Chinese, in English, and `both` as the API's `reason` has always
    read (bilingual pieces as `中文 (English)`, the rest in English)."""

    zh: str
    en: str
    both: str

    def __add__(self, other: Said | str) -> Said:
        if isinstance(other, str):
            return Said(self.zh + other, self.en + other, self.both + other)
        return Said(self.zh + other.zh, self.en + other.en, self.both + other.both)

    def __radd__(self, other: str) -> Said:
        return Said(other + self.zh, other + self.en, other + self.both)


def said(zh: str, en: str) -> Said:
    """A text in both languages, written `中文 (English)` where both are shown."""
    return Said(zh, en, f"{zh} ({en})")


def english(zh: str, en: str) -> Said:
    """A text the API has always given in English only (Chinese for the console)."""
    return Said(zh, en, en)


def name(name_zh: str | None, name: str) -> Said:
    """A hospital's or place's name: the Chinese one where shown both ways."""
    return Said(name_zh or name, name, name_zh or name)


def joined(parts: Iterable[Said], zh: str = "、", en: str = ", ") -> Said:
    """Parts joined by a separator of each language (`both` uses the English one)."""
    items = list(parts)
    return Said(zh.join(p.zh for p in items), en.join(p.en for p in items),
                en.join(p.both for p in items))

CAPABILITY: dict[str, tuple[str, str]] = {
    HospitalCapability.EMERGENCY: ("急诊", "emergency department"),
    HospitalCapability.OBSTETRICS: ("产科", "obstetrics"),
    HospitalCapability.NEONATAL: ("新生儿救治", "neonatal care"),
    HospitalCapability.PAEDIATRICS: ("儿科", "paediatrics"),
    HospitalCapability.DIALYSIS: ("血液透析", "dialysis"),
    HospitalCapability.ONCOLOGY: ("肿瘤科", "oncology"),
    HospitalCapability.PSYCHIATRY: ("精神科", "psychiatry"),
    HospitalCapability.FEVER_CLINIC: ("发热门诊", "fever clinic"),
    HospitalCapability.DESIGNATED_INFECTIOUS: ("新冠定点医院", "designated infectious-disease hospital"),
    HospitalCapability.YELLOW_CODE: ("黄码医院", "yellow-code hospital"),
    HospitalCapability.MAKESHIFT: ("方舱医院", "makeshift hospital"),
    HospitalCapability.ICU: ("重症监护", "intensive care"),
    HospitalCapability.TRAUMA: ("创伤中心", "trauma centre"),
    HospitalCapability.STROKE: ("卒中中心", "stroke centre"),
    HospitalCapability.CHEST_PAIN: ("胸痛中心", "chest-pain centre"),
    HospitalCapability.POISONING: ("中毒救治", "poisoning treatment"),
}

# Capabilities that say what kind of hospital it is rather than what it can do.
KINDS = (HospitalCapability.YELLOW_CODE, HospitalCapability.DESIGNATED_INFECTIOUS,
         HospitalCapability.MAKESHIFT)

DESIGNATION: dict[str, tuple[str, str]] = {
    Designation.PREGNANT: ("孕产妇定点医院", "designated hospital for pregnant women"),
    Designation.NEWBORN: ("婴幼儿定点医院", "designated hospital for newborns and infants"),
    Designation.DIALYSIS: ("血液透析定点医院", "designated hospital for dialysis"),
    Designation.CANCER: ("肿瘤患者定点医院", "designated hospital for cancer patients"),
    Designation.PSYCHIATRIC: ("精神病患者定点医院", "designated hospital for psychiatric patients"),
    Designation.GUARANTEE: ("保障医院", "guarantee hospital"),
}

OWN = {"registered": said("患者建档医院", "patient's registered hospital"),
       "treating": said("患者原治疗医院", "patient's treating hospital")}

CATEGORY: dict[str, str] = {
    "ordinary": "普通患者", "pregnant": "孕产妇", "newborn": "新生儿/婴幼儿", "dialysis": "透析患者",
    "cancer": "肿瘤患者", "chronic": "慢性病患者", "psychiatric": "精神病患者", "disabled": "残疾人",
    "immobile_elderly": "行动不便老人",
}

PLACE_KIND: dict[str, tuple[str, str]] = {
    "fever_clinic": ("发热门诊", "fever clinic"),
    "community_health_centre": ("社区卫生服务中心", "community health centre"),
    "night_clinic": ("夜门诊", "night clinic"),
    "oxygen_station": ("氧疗站", "oxygen station"),
    "family_doctor_team": ("家庭医生团队", "family doctor team"),
    "temporary_medical_point": ("临时医疗点", "temporary medical point"),
}


def capabilities(codes: Iterable[str]) -> tuple[str, str]:
    """("卒中中心+急诊", "stroke centre + emergency department") for a set of capability codes."""
    words = [CAPABILITY.get(c, (c, c)) for c in codes]
    return "+".join(w[0] for w in words), " + ".join(w[1] for w in words)


def nearest(caps: list[str], exclude: list[str]) -> Said:
    """`最近的黄码医院 (nearest yellow-code hospital)`, `最近的具备卒中中心的医院 (…)`."""
    kind = [c for c in caps if c in KINDS]
    others = [c for c in caps if c not in KINDS]
    kind_zh, kind_en = capabilities(kind) if kind else ("医院", "hospital")
    zh, en = f"最近的{kind_zh}", f"nearest {kind_en}"
    if others:
        more_zh, more_en = capabilities(others)
        zh, en = f"最近的具备{more_zh}的{kind_zh}", f"{en} with {more_en}"
    if exclude:
        out = [CAPABILITY.get(c, (c, c)) for c in exclude]
        zh = f"{zh}（{'/'.join(w[0] for w in out)}除外）"
        en = f"{en} (except {' / '.join(w[1] for w in out)})"
    return said(zh, en)


def both(zh: str, en: str) -> str:
    """One text in both languages, the way crew notes are written: `中文 (English)`."""
    return f"{zh} ({en})"

"""Plain words for the codes routing explains itself with, in Chinese and English (pure).

The console has the same words for its labels (static/common/i18n.js); a decision's reasons are
read by call-takers and crews, so they never show a bare code such as `yellow_code`.
"""

from __future__ import annotations

from collections.abc import Iterable

from dispatch.hospitals.enums import Designation, HospitalCapability

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

OWN = {"registered": "患者建档医院 (patient's registered hospital)",
       "treating": "患者原治疗医院 (patient's treating hospital)"}


def capabilities(codes: Iterable[str]) -> tuple[str, str]:
    """("卒中中心+急诊", "stroke centre + emergency department") for a set of capability codes."""
    words = [CAPABILITY.get(c, (c, c)) for c in codes]
    return "+".join(w[0] for w in words), " + ".join(w[1] for w in words)


def nearest(caps: list[str], exclude: list[str]) -> str:
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
    return both(zh, en)


def both(zh: str, en: str) -> str:
    """One text in both languages, the way crew notes are written: `中文 (English)`."""
    return f"{zh} ({en})"

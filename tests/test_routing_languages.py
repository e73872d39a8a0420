"""Why a hospital or a place was chosen, in each language: `reason_zh` is Chinese, `reason_en`
English, and `reason` stays as the API has always given it (bilingual pieces `中文 (English)`)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from dispatch.routing import words

CJK = re.compile(r"[\u3400-\u9fff]")
ENGLISH_WORD = re.compile(r"\b(?!km\b)[A-Za-z]{3,}\b")
SEALED = {"lat": 34.233, "lon": 108.856}
PRECAUTION = {"lat": 34.205, "lon": 108.880}


def in_chinese(text: str) -> None:
    assert CJK.search(text), text
    assert ENGLISH_WORD.findall(text) == [], text


def in_english(text: str) -> None:
    assert not CJK.search(text), text
    for code in ("yellow_code", "fever_clinic", "designated_infectious", "_"):
        assert code not in text, text


async def evaluate(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/routing/evaluate", json=body)
    assert response.status_code == 200, response.text
    decision: dict[str, Any] = response.json()
    return decision


async def test_hospital_reasons_in_each_language(client: httpx.AsyncClient, xian: Any) -> None:
    cases = [
        {**SEALED, "severity": "urgent"},  # the yellow-code hospital
        {**SEALED, "severity": "critical", "category": "newborn"},  # passed over: no neonatal care
        {**PRECAUTION, "severity": "urgent", "category": "dialysis"},  # designated list
        {**PRECAUTION, "severity": "urgent", "flags": {"referred_by": "zhangba-chc"}},  # paired
    ]
    for body in cases:
        decision = await evaluate(client, **body)
        for choice in [decision["destination"], *decision["alternatives"]]:
            in_chinese(choice["reason_zh"])
            in_english(choice["reason_en"])
            assert choice["reason"]
    newborn = (await evaluate(client, **cases[1]))["destination"]
    assert newborn["reason_zh"] == ("最近的黄码医院：西安市第一医院 不具备新生儿救治；未登记患者建档医院 → "
                                    "危重新生儿：最近的具备急诊+新生儿救治的医院"), newborn
    assert newborn["reason_en"] == (
        "nearest yellow-code hospital: Xi'an First Hospital has no neonatal care; no registered "
        "hospital recorded → Critical newborn: nearest hospital with emergency department + "
        "neonatal care"), newborn
    assert newborn["reason"].startswith("最近的黄码医院 (nearest yellow-code hospital): 西安市第一医院 "
                                        "不具备新生儿救治 (has no neonatal care)")
    paired = (await evaluate(client, **cases[3]))["destination"]
    assert paired["reason_zh"] == "丈八社区卫生服务中心的对口医院 (000 附件)"
    assert paired["reason_en"] == "paired hospital of Zhangba Community Health Centre (seed 000, annex)"
    assert paired["reason"] == "paired hospital of 丈八社区卫生服务中心 (000 附件)"


async def test_full_and_suspended_in_each_language(client: httpx.AsyncClient, xian: Any) -> None:
    await client.patch("/api/v1/hospitals/xian-first", json={"full_categories": ["ordinary"]})
    full = (await evaluate(client, **SEALED, severity="urgent"))["destination"]
    assert "床位已满" in full["reason_zh"]
    assert "full for ordinary" in full["reason_en"]
    in_chinese(full["reason_zh"])


async def test_place_reasons_in_each_language(client: httpx.AsyncClient, xian: Any) -> None:
    decision = await evaluate(client, **PRECAUTION, severity="non_urgent", flags={"fever": True})
    referral = decision["referral"]
    in_chinese(referral["reason_zh"])
    in_english(referral["reason_en"])
    assert referral["reason_en"] == referral["reason"]  # the API said it in English


def test_said_keeps_the_bilingual_form() -> None:
    text = words.said("最近的医院", "nearest hospital") + words.english("：无", ": none")
    assert (text.zh, text.en, text.both) == ("最近的医院：无", "nearest hospital: none",
                                             "最近的医院 (nearest hospital): none")
    assert words.joined([words.name("甲", "A"), words.name(None, "B")]).en == "A, B"

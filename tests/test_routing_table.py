"""Seed clause by seed clause: (location, patient) → hospital, transport mode, unit capabilities.

Runs the default rule set against the built-in Xi'an High-tech Zone scenario (seed 000) loaded
into the test app, through `POST /api/v1/routing/evaluate`. The expected hospitals follow from
the seeds and the scenario's geography (distances below are from each test point):

- SEALED (34.233, 108.856) lies in yuhua-sealed-1 and yuhua-controlled-1 (strictest: sealed).
- CONTROLLED (34.242, 108.866) lies in yuhua-controlled-1 only.
- PRECAUTION (34.205, 108.880) lies in zhangba-precaution-1.
- NORMAL (34.125, 108.815), in Xiliu, lies in no zone.

The two suspended hospitals of seed 000 (西安高新医院, 西安国际医学中心医院) are the closest
hospitals to most of these points; they must never be chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

SEALED = {"lat": 34.233, "lon": 108.856}
CONTROLLED = {"lat": 34.242, "lon": 108.866}
PRECAUTION = {"lat": 34.205, "lon": 108.880}
NORMAL = {"lat": 34.125, "lon": 108.815}
ZONE_OF = {id(SEALED): ("sealed", "yuhua-sealed-1"), id(CONTROLLED): ("controlled", "yuhua-controlled-1"),
           id(PRECAUTION): ("precaution", "zhangba-precaution-1"), id(NORMAL): ("normal", None)}

A = ["ambulance"]
ALS = ["ambulance", "als"]  # critical patients: advanced life support
NP = ["ambulance", "negative_pressure"]
NP_ALS = [*NP, "als"]
NP_ALS_MON = [*NP, "als", "monitoring"]  # critical infected patients
CL = ["closed_loop"]
NONE: list[str] = []

GUARANTEE = "xian-medical-university-first"  # 西安医学院第一附属医院, seed 000 二(四)2
YELLOW = "xian-first"  # the scenario's yellow-code hospital (assumption in the scenario file)
DESIGNATED_INFECTIOUS = "xian-eighth"
MAKESHIFT = "gaoxin-makeshift"
SUSPENDED = {"xian-gaoxin", "xian-international-medical-center"}


@dataclass(frozen=True)
class Case:
    name: str
    clause: str  # the seed clause the case checks
    where: dict[str, float]
    patient: dict[str, Any]
    hospital: str | None
    mode: str
    caps: list[str]
    rule: str  # the rule that decided the destination
    closed_loop: bool | None = None
    certificate: bool | None = None  # asked for a community certificate?
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # PATCH /hospitals/{id}
    warning: str | None = None
    fallback: bool = False  # the rule's destinations gave nothing open: the rule set's fallback chose


def case(name: str, clause: str, where: dict[str, float], patient: dict[str, Any], hospital: str | None,
         mode: str, caps: list[str], rule: str, **more: Any) -> Any:
    return pytest.param(Case(name, clause, where, patient, hospital, mode, caps, rule, **more), id=name)


def p(severity: str = "urgent", category: str = "ordinary", **more: Any) -> dict[str, Any]:
    return {"severity": severity, "category": category, **more}


CASES = [
    # ---- Sealed area (封控区): yellow-code hospital, negative pressure, closed loop, certificate.
    case("sealed-ordinary",
         "004 一 sealed → yellow-code hospital; 004 二 certificate; 004 六 negative pressure",
         SEALED, p("urgent"), YELLOW, "negative_pressure_ambulance", NP, "sealed",
         closed_loop=True, certificate=True),
    case("sealed-chronic",
         "004 一 yellow-code; 004 二, 000 三(三): non-critical → volunteer fleet vehicle, closed loop",
         SEALED, p("non_urgent", "chronic"), YELLOW,
         "closed_loop_vehicle", CL, "sealed", closed_loop=True, certificate=True),
    case("sealed-psychiatric",
         "003 6 psychiatric pathway: the yellow-code hospital has no psychiatry → nearest with it",
         SEALED, p("urgent", "psychiatric"), "xjtu-first",
         "negative_pressure_ambulance", NP, "sealed", closed_loop=True),
    case("sealed-disabled", "004 一", SEALED, p("non_urgent", "disabled"), YELLOW,
         "negative_pressure_ambulance", NP, "sealed"),
    case("sealed-immobile-elderly", "004 一", SEALED, p("urgent", "immobile_elderly"), YELLOW,
         "negative_pressure_ambulance", NP, "sealed"),
    case("sealed-pregnant-no-registered-hospital",
         "003 封控区内 4 → registered hospital; none recorded, yellow-code has no obstetrics → "
         "000 二(四)1 designated, nearest",
         SEALED, p("non_urgent", "pregnant"), "norinco-521", "closed_loop_vehicle", CL,
         "sealed-pregnant", closed_loop=True, certificate=True),
    case("sealed-pregnant-registered", "003 封控区内 4: to the registered (建档) hospital",
         SEALED, p("urgent", "pregnant", registered_hospital_id="xjtu-first"), "xjtu-first",
         "negative_pressure_ambulance", NP, "sealed-pregnant"),
    case("sealed-newborn", "003 封控区内 4; 000 二(四)1 designated infants' hospitals, nearest",
         SEALED, p("urgent", "newborn"), "xian-childrens", "negative_pressure_ambulance", NP,
         "sealed-newborn"),
    case("sealed-dialysis-treating",
         "003 封控区内 3: first-diagnosis responsibility, original treating hospital",
         SEALED, p("non_urgent", "dialysis", treating_hospital_id="xidian"), "xidian",
         "closed_loop_vehicle", CL, "sealed-dialysis"),
    case("sealed-dialysis-designated",
         "003 封控区内 3 → 000 二(四)1 designated dialysis hospitals, nearest",
         SEALED, p("non_urgent", "dialysis"), "xian-ninth", "closed_loop_vehicle", CL,
         "sealed-dialysis"),
    case("sealed-cancer-designated", "003 封控区内 3 → 000 二(四)1 designated cancer hospitals, nearest",
         SEALED, p("urgent", "cancer"), "xjtu-first", "negative_pressure_ambulance", NP,
         "sealed-cancer"),
    case("sealed-critical",
         "004 一/二: critical → 120, yellow-code hospital, no certificate; 003 封控区内 2 closed loop",
         SEALED, p("critical"), YELLOW, "negative_pressure_ambulance", NP_ALS,
         "critical-sealed-or-isolated", closed_loop=True, certificate=False),
    case("sealed-critical-pregnant",
         "003 4: critical pregnant → registered hospital; the yellow-code hospital has no obstetrics",
         SEALED, p("critical", "pregnant", registered_hospital_id="xjtu-first"), "xjtu-first",
         "negative_pressure_ambulance", NP_ALS, "critical-sealed-or-isolated", certificate=False),
    case("sealed-confirmed-mild", "001 二(一)4: makeshift hospital for mild cases; 004 一",
         SEALED, p("non_urgent", infection_status="confirmed"), MAKESHIFT,
         "negative_pressure_ambulance", NP, "confirmed-mild", closed_loop=True, certificate=True),
    case("sealed-confirmed-dialysis",
         "001 二(一)5: designated hospital for patients with underlying disease",
         SEALED, p("urgent", "dialysis", infection_status="confirmed"), DESIGNATED_INFECTIOUS,
         "negative_pressure_ambulance", NP, "confirmed"),
    case("sealed-has-certificate", "004 二: certificate already held, none asked",
         SEALED, p("urgent", has_certificate=True), YELLOW, "negative_pressure_ambulance", NP,
         "sealed", certificate=False),

    # ---- Controlled area (管控区): other hospitals; ambulance if urgent, volunteer car if not.
    case("controlled-ordinary-urgent",
         "000 二(四)2 guarantee hospital; 000 三(三) ambulance for 急危重症; 004 二 closed loop",
         CONTROLLED, p("urgent"), GUARANTEE, "ambulance", A, "everyone-else",
         closed_loop=True, certificate=True),
    case("controlled-ordinary-non-urgent",
         "000 三(三), 004 二: volunteer vehicle point to point, closed loop",
         CONTROLLED, p("non_urgent"), GUARANTEE, "closed_loop_vehicle", CL, "everyone-else",
         closed_loop=True, certificate=True),
    case("controlled-pregnant", "000 二(四)1: designated maternity hospitals, nearest",
         CONTROLLED, p("urgent", "pregnant"), "norinco-521", "ambulance", A, "pregnant",
         closed_loop=True),
    case("controlled-pregnant-registered-at-suspended",
         "000 (停诊) + 003 4: registered hospital suspended → designated list",
         CONTROLLED, p("non_urgent", "pregnant", registered_hospital_id="xian-gaoxin"), "norinco-521",
         "closed_loop_vehicle", CL, "pregnant"),
    case("controlled-newborn", "000 二(四)1: designated infants' hospitals", CONTROLLED,
         p("non_urgent", "newborn"), "xian-childrens", "closed_loop_vehicle", CL, "newborn"),
    case("controlled-dialysis-treating", "003 3, 004 八: original treating hospital",
         CONTROLLED, p("non_urgent", "dialysis", treating_hospital_id="xian-aerospace-general"),
         "xian-aerospace-general", "closed_loop_vehicle", CL, "dialysis"),
    case("controlled-dialysis-treating-suspended",
         "000 (停诊) + 003 3: treating hospital suspended → designated",
         CONTROLLED, p("urgent", "dialysis", treating_hospital_id="xian-gaoxin"), "xian-ninth",
         "ambulance", A, "dialysis"),
    case("controlled-cancer", "000 二(四)1: designated cancer hospitals", CONTROLLED,
         p("non_urgent", "cancer"), "xjtu-first", "closed_loop_vehicle", CL, "cancer"),
    case("controlled-chronic-treating", "003 1: chronic patients stay with who knows them",
         CONTROLLED, p("non_urgent", "chronic", treating_hospital_id="xian-fifth"), "xian-fifth",
         "closed_loop_vehicle", CL, "chronic-disabled-elderly"),
    case("controlled-chronic",
         "000 二(四)2 guarantee hospital", CONTROLLED, p("non_urgent", "chronic"),
         GUARANTEE, "closed_loop_vehicle", CL, "chronic-disabled-elderly"),
    case("controlled-psychiatric",
         "003 6: critical-patient mode (ambulance); psychiatric pathway → nearest with psychiatry",
         CONTROLLED, p("non_urgent", "psychiatric"), "xjtu-first", "ambulance", A, "psychiatric",
         closed_loop=True),
    case("controlled-disabled", "003 6: moved as in critical-patient mode", CONTROLLED,
         p("non_urgent", "disabled"), GUARANTEE, "ambulance", A, "chronic-disabled-elderly",
         closed_loop=True),
    case("controlled-immobile-elderly", "003 6", CONTROLLED, p("non_urgent", "immobile_elderly"),
         GUARANTEE, "ambulance", A, "chronic-disabled-elderly", closed_loop=True),
    case("controlled-critical",
         "003: nearest with strong capacity (emergency+ICU), suspended 西安高新医院 skipped; "
         "003 2 closed loop",
         CONTROLLED, p("critical"), GUARANTEE, "ambulance", ALS, "critical", closed_loop=True,
         certificate=False),
    case("controlled-critical-newborn", "004 三 nearest; 003 4 critical newborn", CONTROLLED,
         p("critical", "newborn"), "xian-childrens", "ambulance", ALS, "critical-newborn",
         closed_loop=True, certificate=False),
    case("controlled-confirmed-pregnant", "001 二(一)5: designated hospital", CONTROLLED,
         p("non_urgent", "pregnant", infection_status="confirmed"), DESIGNATED_INFECTIOUS,
         "negative_pressure_ambulance", NP, "confirmed", closed_loop=True),

    # ---- Precaution area (防范区): other hospitals; ordinary/chronic may walk or drive.
    case("precaution-ordinary-self", "004 二: precaution-area ordinary patients may walk or drive",
         PRECAUTION, p("non_urgent"), GUARANTEE, "self_travel", NONE, "everyone-else",
         closed_loop=False, certificate=True),
    case("precaution-ordinary-urgent", "000 三(三): ambulance for the acute", PRECAUTION, p("urgent"),
         GUARANTEE, "ambulance", A, "everyone-else", closed_loop=False),
    case("precaution-chronic-self", "004 二: chronic patients may walk or drive", PRECAUTION,
         p("non_urgent", "chronic"), GUARANTEE, "self_travel", NONE, "chronic-disabled-elderly"),
    case("precaution-pregnant",
         "000 二(四)1 designated, nearest", PRECAUTION, p("urgent", "pregnant"),
         "xjtu-first", "ambulance", A, "pregnant"),
    case("precaution-newborn", "000 二(四)1 designated infants' hospitals, nearest", PRECAUTION,
         p("non_urgent", "newborn"), "northwest-women-children", "ambulance", A, "newborn"),
    case("precaution-dialysis", "000 二(四)1 designated dialysis, nearest", PRECAUTION,
         p("non_urgent", "dialysis"), "xian-ninth", "ambulance", A, "dialysis"),
    case("precaution-cancer",
         "000 二(四)1 designated cancer, nearest", PRECAUTION, p("urgent", "cancer"),
         "xjtu-first", "ambulance", A, "cancer"),
    case("precaution-psychiatric", "003 6 → nearest hospital with psychiatry", PRECAUTION,
         p("urgent", "psychiatric"), "xian-mental-health", "ambulance", A, "psychiatric"),
    case("precaution-disabled",
         "003 6, 000 二(四)2", PRECAUTION, p("non_urgent", "disabled"), GUARANTEE,
         "ambulance", A, "chronic-disabled-elderly"),
    case("precaution-immobile-elderly-treating",
         "003 6 + first-diagnosis responsibility", PRECAUTION,
         p("urgent", "immobile_elderly", treating_hospital_id="xidian"), "xidian", "ambulance", A,
         "chronic-disabled-elderly"),
    case("precaution-critical-dialysis", "004 三 nearest with dialysis; no certificate", PRECAUTION,
         p("critical", "dialysis"), "xian-ninth", "ambulance", ALS, "critical-dialysis",
         closed_loop=False, certificate=False),
    case("precaution-certificate-held", "004 二: certificate held", PRECAUTION,
         p("non_urgent", has_certificate=True), GUARANTEE, "self_travel", NONE, "everyone-else",
         certificate=False),
    case("precaution-confirmed-urgent", "001 二(一)5, 004 一: designated hospital", PRECAUTION,
         p("urgent", infection_status="confirmed"), DESIGNATED_INFECTIOUS,
         "negative_pressure_ambulance", NP, "confirmed", certificate=True),
    case("precaution-suspected", "001 二(一)1: nearest fever clinic; negative pressure", PRECAUTION,
         p("urgent", infection_status="suspected"), "xian-ninth", "negative_pressure_ambulance", NP,
         "suspected", closed_loop=True),
    case("precaution-suspected-pregnant",
         "001 二(一)1: nearest fever clinic with obstetrics", PRECAUTION,
         p("urgent", "pregnant", infection_status="suspected"), GUARANTEE,
         "negative_pressure_ambulance", NP, "suspected-pregnant"),

    # ---- No zone (normal): no certificate; guarantee hospital or designated lists.
    case("normal-ordinary-self",
         "004 二 extended outside zones; no certificate outside zones", NORMAL,
         p("non_urgent"), GUARANTEE, "self_travel", NONE, "everyone-else", closed_loop=False,
         certificate=False),
    case("normal-ordinary-urgent", "000 二(四)2 guarantee hospital", NORMAL, p("urgent"), GUARANTEE,
         "ambulance", A, "everyone-else", certificate=False),
    case("normal-pregnant",
         "000 二(四)1 designated maternity, nearest", NORMAL, p("urgent", "pregnant"),
         "xjtu-first", "ambulance", A, "pregnant"),
    case("normal-newborn", "000 二(四)1 designated infants' hospitals, nearest", NORMAL,
         p("urgent", "newborn"), "northwest-women-children", "ambulance", A, "newborn"),
    case("normal-dialysis",
         "000 二(四)1 designated dialysis, nearest", NORMAL, p("non_urgent", "dialysis"),
         "xian-ninth", "ambulance", A, "dialysis"),
    case("normal-cancer", "000 二(四)1 designated cancer, nearest", NORMAL, p("non_urgent", "cancer"),
         "xjtu-first", "ambulance", A, "cancer"),
    case("normal-chronic-self",
         "004 二", NORMAL, p("non_urgent", "chronic"), GUARANTEE, "self_travel",
         NONE, "chronic-disabled-elderly"),
    case("normal-psychiatric",
         "003 6 → nearest hospital with psychiatry", NORMAL, p("non_urgent", "psychiatric"),
         "xian-mental-health", "ambulance", A, "psychiatric"),
    case("normal-disabled", "003 6", NORMAL, p("urgent", "disabled"), GUARANTEE, "ambulance", A,
         "chronic-disabled-elderly"),
    case("normal-immobile-elderly", "003 6", NORMAL, p("non_urgent", "immobile_elderly"), GUARANTEE,
         "ambulance", A, "chronic-disabled-elderly"),
    case("normal-critical", "003 nearest emergency+ICU: both suspended hospitals skipped", NORMAL,
         p("critical"), "xian-aerospace-general", "ambulance", ALS, "critical", closed_loop=False,
         certificate=False),
    case("normal-critical-pregnant", "004 三 nearest obstetrics (西安国际医学中心医院 suspended)", NORMAL,
         p("critical", "pregnant"), GUARANTEE, "ambulance", ALS, "critical-pregnant"),
    case("normal-confirmed-mild", "001 二(一)4: makeshift hospital", NORMAL,
         p("non_urgent", infection_status="confirmed"), MAKESHIFT, "negative_pressure_ambulance", NP,
         "confirmed-mild", closed_loop=True, certificate=False),
    case("normal-critical-confirmed", "004 一, 001 二(一)5: nearest designated hospital", NORMAL,
         p("critical", infection_status="confirmed"), DESIGNATED_INFECTIOUS,
         "negative_pressure_ambulance", NP_ALS_MON, "critical-confirmed", certificate=False),
    case("normal-critical-suspected",
         "003: cannot exclude infection → nearest emergency with fever clinic",
         NORMAL, p("critical", infection_status="suspected"), "xian-ninth",
         "negative_pressure_ambulance", NP_ALS_MON, "critical-suspected"),
    case("normal-isolation",
         "004 一: people under isolation → yellow-code hospital, like sealed areas",
         NORMAL, p("non_urgent", isolation=True), YELLOW, "negative_pressure_ambulance", NP, "sealed",
         closed_loop=True, certificate=True),
    case("normal-isolation-critical",
         "004 一 + 004 二", NORMAL, p("critical", isolation=True), YELLOW,
         "negative_pressure_ambulance", NP_ALS, "critical-sealed-or-isolated", certificate=False),

    # ---- Suspended hospitals: every later decision goes elsewhere.
    case("guarantee-suspended",
         "000: suspended → next: nearest emergency (not yellow-code)", CONTROLLED,
         p("urgent"), "xian-ninth", "ambulance", A, "everyone-else",
         changes={GUARANTEE: {"status": "suspended"}}),
    case("yellow-code-suspended",
         "004 一 yellow-code suspended → rule set fallback (guarantee)", SEALED,
         p("urgent"), GUARANTEE, "negative_pressure_ambulance", NP, "sealed", fallback=True,
         changes={YELLOW: {"status": "suspended"}}, warning="no open hospital among its destinations"),
    case("designated-infectious-suspended",
         "004 一 designated suspended → nearest emergency+ICU", NORMAL,
         p("critical", infection_status="confirmed"), "xian-aerospace-general",
         "negative_pressure_ambulance", NP_ALS_MON, "critical-confirmed",
         changes={DESIGNATED_INFECTIOUS: {"status": "suspended"}}),
    case("critical-nearest-suspended", "000 + 004 三: nearest capable open", PRECAUTION,
         p("critical", "dialysis"), "xian-medical-university-first", "ambulance", ALS, "critical-dialysis",
         changes={"xian-ninth": {"status": "suspended"}}),

    # ---- Full hospitals: ranked last for non-critical patients of that category, never refused.
    case("designated-full",
         "full for pregnant → next designated", CONTROLLED, p("urgent", "pregnant"),
         "xjtu-first", "ambulance", A, "pregnant",
         changes={"norinco-521": {"full_categories": ["pregnant"]}}),
    case("registered-full", "registered hospital full → nearest designated not full", PRECAUTION,
         p("urgent", "pregnant", registered_hospital_id="xjtu-first"), "norinco-521", "ambulance", A,
         "pregnant", changes={"xjtu-first": {"full_categories": ["pregnant"]}}),
    case("guarantee-full",
         "guarantee full for ordinary → nearest emergency", CONTROLLED, p("urgent"),
         "xian-ninth", "ambulance", A, "everyone-else",
         changes={GUARANTEE: {"full_categories": ["ordinary"]}}),
    case("designated-list-all-full",
         "all designated infants' hospitals full → nearest neonatal", NORMAL,
         p("urgent", "newborn"), "xjtu-first", "ambulance", A, "newborn",
         changes={h: {"full_categories": ["newborn"]} for h in
                  ("northwest-women-children", "shaanxi-provincial-peoples", "xian-childrens")}),
    case("only-candidate-full",
         "004 三: nothing else open → the full hospital, which may not refuse",
         SEALED, p("urgent"), YELLOW, "negative_pressure_ambulance", NP, "sealed",
         changes={YELLOW: {"full_categories": ["ordinary"]}}, warning="is full for ordinary"),
    case("critical-ignores-full", "004 三: critical patients are never refused", NORMAL,
         p("critical", "pregnant"), GUARANTEE, "ambulance", ALS, "critical-pregnant",
         changes={GUARANTEE: {"full_categories": ["pregnant"]}}),
]


@pytest.mark.parametrize("c", CASES)
async def test_seed_clause(c: Case, client: httpx.AsyncClient, xian: Any) -> None:
    for hospital_id, change in c.changes.items():
        response = await client.patch(f"/api/v1/hospitals/{hospital_id}", json=change)
        assert response.status_code == 200, response.text
    response = await client.post("/api/v1/routing/evaluate", json={**c.where, **c.patient})
    assert response.status_code == 200, response.text
    decision = response.json()

    destination = decision["destination"]
    assert (destination or {}).get("hospital_id") == c.hospital, (c.clause, decision)
    assert decision["transport_mode"] == c.mode, (c.clause, decision["matched_rules"])
    assert decision["required_unit_capabilities"] == c.caps
    status, zone_id = ZONE_OF[id(c.where)]
    assert decision["zone"]["status"] == status
    assert decision["zone"]["id"] == zone_id
    deciding = [m["id"] for m in decision["matched_rules"]
                if "destination" in m["decided"] and not m["id"].startswith("pathway:")]
    assert deciding == [c.rule], decision["matched_rules"]
    assert ("fallback: " in destination["reason"]) is c.fallback, destination["reason"]
    if c.closed_loop is not None:
        assert decision["closed_loop"] is c.closed_loop
    if c.certificate is not None:
        assert ("community_certificate" in decision["paperwork"]) is c.certificate
    if c.warning is not None:
        assert any(c.warning in w for w in decision["warnings"]), decision["warnings"]
    # Invariants that hold for every case.
    suspended = SUSPENDED | {h for h, ch in c.changes.items() if ch.get("status") == "suspended"}
    assert destination["hospital_id"] not in suspended
    assert not {a["hospital_id"] for a in decision["alternatives"]} & suspended
    if c.patient["severity"] == "critical":
        assert decision["paperwork"] == []
    assert not [m for m in decision["matched_rules"] if m["id"].startswith("guard:")]
    assert decision["rule_set_version"] == 1


def test_every_category_in_every_zone_status() -> None:
    """The table covers each patient category in each zone status, and at least 40 cases."""
    cases = [c.values[0] for c in CASES]
    assert len(cases) >= 40
    covered = {(ZONE_OF[id(c.where)][0], c.patient["category"]) for c in cases
               if not c.patient.get("isolation")}
    categories = ("ordinary", "pregnant", "newborn", "dialysis", "cancer", "chronic", "psychiatric",
                  "disabled", "immobile_elderly")
    missing = [(s, k) for s in ("sealed", "controlled", "precaution", "normal") for k in categories
               if (s, k) not in covered]
    assert not missing
    assert any(c.changes and any(ch.get("status") == "suspended" for ch in c.changes.values())
               for c in cases)
    assert any(c.changes and any(ch.get("full_categories") for ch in c.changes.values()) for c in cases)

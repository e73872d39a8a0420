"""Clinical pathways, seed clause by seed clause: the right hospital for the critical patient,
whatever the zone (pure engine, the default rule set, the built-in Xi'an scenario).

Seed 003 2: critical cardio-cerebrovascular, trauma and poisoning patients in sealed or controlled
areas go by 120 ambulance to an institution able to treat them; outside those areas 就近转运至
救治能力强的医疗机构. 003 4: critical pregnant women and newborns to their registered hospital.
003 6: psychiatric patients. 004 一/二: sealed and isolated people to the yellow-code hospital,
critical patients by 120 ambulance, other sealed/controlled-area patients by the volunteer fleet's
dedicated vehicle. 004 六 / 001 二(一): infected patients, negative pressure, designated hospital.

Distances from the test points (see tests/test_routing_table.py for the points): the guarantee
hospital 西安医学院第一附属医院 is the nearest with a stroke, chest-pain and trauma centre and
poisoning treatment from every point (4-15 km); the yellow-code hospital 西安市第一医院 (an
assumption of the scenario) has none of them, nor obstetrics, neonatal care or psychiatry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dispatch.hospitals.enums import Designation, HospitalCapability
from dispatch.hospitals.snapshot import HospitalSnapshot, HospitalView
from dispatch.incidents.enums import InfectionStatus, PatientCategory, Severity
from dispatch.incidents.triage import ComplaintProtocol, Triage
from dispatch.routing import engine, rules
from dispatch.routing.engine import PatientFacts, RoutingContext, evaluate
from dispatch.routing.schemas import Decision, HospitalChoice
from dispatch.routing.search import Search
from dispatch.zones.enums import ZoneStatus
from dispatch.zones.index import IndexedZone, ZoneIndex
from tests.test_routing_properties import default_rules, xian
from tests.test_routing_table import CONTROLLED, NORMAL, PRECAUTION, SEALED

AT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
GUARANTEE = "xian-medical-university-first"
YELLOW = "xian-first"
DESIGNATED_INFECTIOUS = "xian-eighth"
A = ["ambulance"]
ALS = ["ambulance", "als"]
NP = ["ambulance", "negative_pressure"]
NP_ALS = [*NP, "als"]
NP_ALS_MON = [*NP, "als", "monitoring"]
CL = ["closed_loop"]
STROKE_CENTRES = ("xian-medical-university-first", "shaanxi-provincial-peoples", "xjtu-first",
                  "xian-third", "xijing", "tangdu", "xjtu-second", "xian-central")


@dataclass(frozen=True)
class Case:
    name: str
    clause: str
    where: dict[str, float]
    patient: dict[str, Any]
    hospital: str | None
    caps: list[str] | None = None
    mode: str | None = None
    pathway: str | None = None
    outside: bool | None = None  # looked outside the deciding rule's first set
    suspend: tuple[str, ...] = ()
    add: dict[str, tuple[str, ...]] = field(default_factory=dict)  # capabilities given (what-if)
    warning: str | None = None


def case(name: str, clause: str, where: dict[str, float], patient: dict[str, Any],
         hospital: str | None, **more: Any) -> Any:
    return pytest.param(Case(name, clause, where, patient, hospital, **more), id=name)


def p(severity: str = "critical", category: str = "ordinary", protocol: str | None = None,
      **more: Any) -> dict[str, Any]:
    triage = more.pop("triage", {})
    if protocol:
        triage = {**triage, "protocol": protocol}
    return {"severity": severity, "category": category, **more,
            **({"triage": triage} if triage else {})}


CASES = [
    # ---- Stroke (003 2 心脑血管; 003 就近转运至救治能力强的医疗机构).
    case("stroke-normal", "003: nearest hospital able to treat it (stroke centre + ICU)", NORMAL,
         p(protocol="stroke"), GUARANTEE, caps=ALS, mode="ambulance", pathway="stroke", outside=False),
    case("stroke-normal-guarantee-suspended", "003 + 000 停诊: next nearest stroke centre", NORMAL,
         p(protocol="stroke"), "xjtu-first", caps=ALS, pathway="stroke", suspend=(GUARANTEE,)),
    case("stroke-normal-urgent", "003 2: an urgent stroke still needs a stroke centre, with ALS",
         NORMAL, p("urgent", protocol="stroke"), GUARANTEE, caps=ALS, mode="ambulance",
         pathway="stroke"),
    case("stroke-normal-non-urgent", "003 2: a stroke call never travels alone (pathway → ambulance)",
         NORMAL, p("non_urgent", protocol="stroke"), GUARANTEE, caps=ALS, mode="ambulance",
         pathway="stroke"),
    case("stroke-non-urgent-fever", "003 2: a stroke with fever is not referred to a fever clinic",
         PRECAUTION, p("non_urgent", protocol="stroke", flags={"fever": True}), GUARANTEE,
         caps=ALS, mode="ambulance", pathway="stroke"),
    case("stroke-sealed", "003 2 + 004 一: the yellow-code hospital has no stroke centre → outside",
         SEALED, p(protocol="stroke"), GUARANTEE, caps=NP_ALS,
         mode="negative_pressure_ambulance", pathway="stroke", outside=True),
    case("stroke-sealed-yellow-code-has-it", "004 一 + 003 2: inside the set when it has the care",
         SEALED, p(protocol="stroke"), YELLOW, caps=NP_ALS, pathway="stroke", outside=False,
         add={YELLOW: ("stroke",)}),
    case("stroke-controlled", "003 2 (管控区): 120, able institution, closed loop", CONTROLLED,
         p(protocol="stroke"), GUARANTEE, caps=ALS, mode="ambulance", pathway="stroke"),
    case("stroke-controlled-urgent", "003 2; 000 三(三) ambulance for the acute", CONTROLLED,
         p("urgent", protocol="stroke"), GUARANTEE, caps=ALS, mode="ambulance", pathway="stroke"),
    case("stroke-precaution-urgent", "003: nearest able institution", PRECAUTION,
         p("urgent", protocol="stroke"), GUARANTEE, caps=ALS, pathway="stroke"),
    case("stroke-confirmed", "004 一 designated hospital has no stroke centre → 003 2 able one",
         NORMAL, p(protocol="stroke", infection_status="confirmed"), GUARANTEE, caps=NP_ALS_MON,
         mode="negative_pressure_ambulance", pathway="stroke", outside=True),
    case("stroke-confirmed-designated-has-it", "004 一: the designated hospital when it can treat",
         NORMAL, p(protocol="stroke", infection_status="confirmed"), DESIGNATED_INFECTIOUS,
         caps=NP_ALS_MON, pathway="stroke", outside=False, add={DESIGNATED_INFECTIOUS: ("stroke",)}),
    case("stroke-suspected", "003 (不能排除新冠): emergency with fever clinic and stroke centre",
         NORMAL, p(protocol="stroke", infection_status="suspected"), GUARANTEE, caps=NP_ALS_MON,
         pathway="stroke", outside=False),
    case("stroke-isolated", "004 一 isolated → yellow-code, which has no stroke centre → outside",
         NORMAL, p(protocol="stroke", isolation=True), GUARANTEE, caps=NP_ALS, pathway="stroke",
         outside=True),
    case("stroke-no-centre-open", "003 2: no stroke centre open → the rules decide, with a warning",
         NORMAL, p(protocol="stroke"), "xian-aerospace-general", caps=ALS, pathway="stroke",
         suspend=STROKE_CENTRES, warning="no open hospital has stroke centre"),

    # ---- Chest pain / STEMI (003 2 心脑血管).
    case("chest-pain-normal", "003: nearest chest-pain centre with ICU", NORMAL,
         p(protocol="chest_pain"), GUARANTEE, caps=ALS, pathway="chest-pain"),
    case("chest-pain-normal-guarantee-suspended", "003 + 000 停诊", NORMAL, p(protocol="chest_pain"),
         "xjtu-first", caps=ALS, pathway="chest-pain", suspend=(GUARANTEE,)),
    case("chest-pain-sealed", "003 2 + 004 一: outside the yellow-code hospital", SEALED,
         p(protocol="chest_pain"), GUARANTEE, caps=NP_ALS, pathway="chest-pain", outside=True),
    case("chest-pain-sealed-urgent", "004 一 yellow-code lacks it; 000 三(三) ambulance; 004 六 NP",
         SEALED, p("urgent", protocol="chest_pain"), GUARANTEE, caps=NP_ALS,
         mode="negative_pressure_ambulance", pathway="chest-pain", outside=True),
    case("chest-pain-controlled-urgent", "003 2 (管控区)", CONTROLLED,
         p("urgent", protocol="chest_pain"), GUARANTEE, caps=ALS, mode="ambulance",
         pathway="chest-pain"),
    case("chest-pain-precaution", "003", PRECAUTION, p(protocol="chest_pain"), GUARANTEE, caps=ALS,
         pathway="chest-pain"),
    case("chest-pain-controlled-two-suspended", "003 + 000 停诊: the next nearest centre", CONTROLLED,
         p(protocol="chest_pain"), "xjtu-second", caps=ALS, pathway="chest-pain",
         suspend=(GUARANTEE, "xjtu-first")),

    # ---- Major trauma (003 2 创伤).
    case("trauma-normal", "003 2: trauma centre with ICU", NORMAL, p(protocol="major_trauma"),
         GUARANTEE, caps=ALS, pathway="major-trauma"),
    case("trauma-normal-guarantee-suspended", "003 2 + 000 停诊", NORMAL, p(protocol="major_trauma"),
         "xjtu-first", caps=ALS, pathway="major-trauma", suspend=(GUARANTEE,)),
    case("trauma-sealed", "003 2 + 004 一: outside the yellow-code hospital", SEALED,
         p(protocol="major_trauma"), GUARANTEE, caps=NP_ALS, pathway="major-trauma", outside=True),
    case("trauma-controlled-icu-counts", "003 救治能力强: trauma centre with ICU before one without",
         CONTROLLED, p(protocol="major_trauma"), "xjtu-first", caps=ALS, pathway="major-trauma",
         suspend=(GUARANTEE,)),
    case("trauma-urgent-no-pathway", "003 2 names critical trauma: urgent → the usual rules",
         NORMAL, p("urgent", protocol="major_trauma"), GUARANTEE, caps=A, pathway=None),
    case("trauma-precaution", "003 2", PRECAUTION, p(protocol="major_trauma"), GUARANTEE,
         caps=ALS, pathway="major-trauma"),

    # ---- Poisoning (003 2 中毒).
    case("poisoning-normal", "003 2: poisoning treatment with ICU", NORMAL,
         p(protocol="poisoning"), GUARANTEE, caps=ALS, pathway="poisoning"),
    case("poisoning-sealed", "003 2 + 004 一: outside the yellow-code hospital", SEALED,
         p(protocol="poisoning"), GUARANTEE, caps=NP_ALS, pathway="poisoning", outside=True),
    case("poisoning-precaution-guarantee-suspended", "003 2 + 000 停诊", PRECAUTION,
         p(protocol="poisoning"), "xjtu-first", caps=ALS, pathway="poisoning",
         suspend=(GUARANTEE,)),
    case("poisoning-confirmed", "004 一 designated lacks it → 003 2 able institution", CONTROLLED,
         p(protocol="poisoning", infection_status="confirmed"), GUARANTEE, caps=NP_ALS_MON,
         pathway="poisoning", outside=True),
    case("poisoning-yellow-code-has-it", "004 一: inside the set when it can treat", SEALED,
         p(protocol="poisoning"), YELLOW, caps=NP_ALS, pathway="poisoning", outside=False,
         add={YELLOW: ("poisoning",)}),

    # ---- Critical newborns (003 4; 000 二(四)1 children's hospitals).
    case("newborn-sealed", "003 4: the yellow-code hospital has no neonatal care → nearest with it",
         SEALED, p(category="newborn"), "xian-childrens", caps=NP_ALS,
         mode="negative_pressure_ambulance", pathway="critical-newborn", outside=True),
    case("newborn-sealed-yellow-code-has-it", "004 一 + 003 4: inside the set when it can treat",
         SEALED, p(category="newborn"), YELLOW, caps=NP_ALS, pathway="critical-newborn",
         outside=False, add={YELLOW: ("neonatal",)}),
    case("newborn-sealed-registered", "003 4: to the registered (建档) hospital", SEALED,
         p(category="newborn", registered_hospital_id="northwest-women-children"),
         "northwest-women-children", caps=NP_ALS, pathway="critical-newborn", outside=True),
    case("newborn-sealed-registered-without-neonatal",
         "003 4 (安排的机构): the registered hospital has no neonatal care → nearest with it", SEALED,
         p(category="newborn", registered_hospital_id="norinco-521"), "xian-childrens",
         caps=NP_ALS, pathway="critical-newborn"),
    case("newborn-sealed-registered-suspended", "000 停诊 + 003 4", SEALED,
         p(category="newborn", registered_hospital_id="xian-gaoxin"), "xian-childrens",
         caps=NP_ALS, pathway="critical-newborn"),
    case("newborn-controlled-registered", "003 4", CONTROLLED,
         p(category="newborn", registered_hospital_id="xjtu-first"), "xjtu-first", caps=ALS,
         pathway="critical-newborn"),
    case("newborn-normal", "003 4, 004 三: nearest with neonatal care", NORMAL,
         p(category="newborn"), "xjtu-first", caps=ALS, pathway="critical-newborn"),
    case("newborn-precaution", "003 4", PRECAUTION, p(category="newborn"), "xjtu-first", caps=ALS,
         pathway="critical-newborn"),
    case("infant-by-age", "000 二(四)1 infants (triage age 0; assumption)", NORMAL,
         p(triage={"age_years": 0}), "xjtu-first", caps=ALS, pathway="critical-newborn"),
    case("infant-by-age-sealed", "000 二(四)1 + 003 4 + 004 一", SEALED, p(triage={"age_years": 0}),
         "xian-childrens", caps=NP_ALS, pathway="critical-newborn", outside=True),
    case("child-not-infant", "a two-year-old is not on the newborn pathway", NORMAL,
         p(triage={"age_years": 2}), "xian-aerospace-general", caps=ALS, pathway=None),

    # ---- Critical pregnant women (003 4; 004 九).
    case("obstetric-sealed", "003 4: the yellow-code hospital has no obstetrics → nearest with it",
         SEALED, p(category="pregnant"), GUARANTEE, caps=NP_ALS, pathway="critical-obstetric",
         outside=True),
    case("obstetric-sealed-registered", "003 4: to the registered hospital", SEALED,
         p(category="pregnant", registered_hospital_id="xjtu-first"), "xjtu-first", caps=NP_ALS,
         pathway="critical-obstetric", outside=True),
    case("obstetric-normal-registered", "003 4: registered hospital before a nearer one", NORMAL,
         p(category="pregnant", registered_hospital_id="xjtu-first"), "xjtu-first", caps=ALS,
         pathway="critical-obstetric", outside=False),
    case("obstetric-normal-registered-without-obstetrics",
         "003 4 (安排的机构): registered hospital without obstetrics → nearest with it", NORMAL,
         p(category="pregnant", registered_hospital_id="xian-childrens"), GUARANTEE, caps=ALS,
         pathway="critical-obstetric", outside=True),
    case("obstetric-normal-no-registered", "003 4: none recorded → nearest with obstetrics (no set "
         "was passed over)", NORMAL, p(category="pregnant"), GUARANTEE, caps=ALS,
         pathway="critical-obstetric", outside=False),
    case("obstetric-complaint", "003 4: obstetric complaint, category not set", NORMAL,
         p(protocol="obstetric", triage={"sex": "female", "age_years": 29}), GUARANTEE, caps=ALS,
         pathway="critical-obstetric"),
    case("obstetric-controlled-guarantee-suspended", "003 4 + 000 停诊: nearest obstetrics",
         CONTROLLED, p(category="pregnant"), "norinco-521", caps=ALS, pathway="critical-obstetric",
         suspend=(GUARANTEE,)),
    case("obstetric-confirmed", "004 一 designated lacks obstetrics → 003 4 able institution",
         NORMAL, p(category="pregnant", infection_status="confirmed"), GUARANTEE, caps=NP_ALS_MON,
         pathway="critical-obstetric", outside=True),

    # ---- Psychiatric patients (003 6).
    case("psychiatric-normal", "003 6: a hospital with psychiatry", NORMAL,
         p("urgent", "psychiatric"), "xian-mental-health", caps=A, pathway="psychiatric"),
    case("psychiatric-sealed", "003 6 + 004 一: the yellow-code hospital has no psychiatry", SEALED,
         p("non_urgent", "psychiatric"), "xjtu-first", caps=NP,
         mode="negative_pressure_ambulance", pathway="psychiatric", outside=True),
    case("psychiatric-complaint", "003 6: psychiatric complaint", PRECAUTION,
         p("urgent", protocol="psychiatric"), "xian-mental-health", caps=A, pathway="psychiatric"),
    case("psychiatric-centre-suspended", "003 6 + 000 停诊", NORMAL, p("urgent", "psychiatric"),
         "xjtu-first", caps=A, pathway="psychiatric", suspend=("xian-mental-health",)),
    case("psychiatric-critical", "003 (危急重症) first: critical → nearest emergency with ICU",
         NORMAL, p("critical", "psychiatric"), "xian-aerospace-general", caps=ALS, pathway=None),
    case("psychiatric-confirmed", "001 二(一)5: infected → the designated hospital", NORMAL,
         p("urgent", "psychiatric", infection_status="confirmed"), DESIGNATED_INFECTIOUS, caps=NP,
         pathway=None),

    # ---- How non-critical patients travel (004 一/二/六, 000 三(三), 001 二(一)).
    case("sealed-non-urgent", "004 二, 000 三(三): volunteer fleet's dedicated vehicle", SEALED,
         p("non_urgent"), YELLOW, caps=CL, mode="closed_loop_vehicle"),
    case("sealed-urgent", "000 三(三) ambulance for 急危重症; 004 六 negative pressure", SEALED,
         p("urgent"), YELLOW, caps=NP, mode="negative_pressure_ambulance"),
    case("sealed-non-urgent-fever", "001 二(一)1: fever in a sealed area → negative pressure",
         SEALED, p("non_urgent", flags={"fever": True}), YELLOW, caps=NP,
         mode="negative_pressure_ambulance"),
    case("sealed-non-urgent-danger-sign", "triage danger sign: not a volunteer car's passenger",
         SEALED, p("non_urgent", triage={"danger_signs": ["low_spo2"]}), YELLOW, caps=NP,
         mode="negative_pressure_ambulance"),
    case("sealed-non-urgent-disabled", "003 6: by ambulance as in critical-patient mode", SEALED,
         p("non_urgent", "disabled"), YELLOW, caps=NP, mode="negative_pressure_ambulance"),
    case("controlled-non-urgent", "004 二, 000 三(三): volunteer fleet's vehicle", CONTROLLED,
         p("non_urgent"), GUARANTEE, caps=CL, mode="closed_loop_vehicle"),
    case("controlled-urgent", "000 三(三): ambulance, closed loop", CONTROLLED, p("urgent"),
         GUARANTEE, caps=A, mode="ambulance"),
    case("isolated-non-urgent", "004 一 yellow-code; 004 六 negative pressure", NORMAL,
         p("non_urgent", isolation=True), YELLOW, caps=NP, mode="negative_pressure_ambulance"),
    case("suspected-urgent", "001 二(一)1 fever clinic; 004 六 negative pressure", PRECAUTION,
         p("urgent", infection_status="suspected"), "xian-ninth", caps=NP,
         mode="negative_pressure_ambulance"),
    case("critical-plain", "004 二: 120 ambulance with ALS", NORMAL, p(), "xian-aerospace-general",
         caps=ALS, mode="ambulance"),
    case("critical-confirmed", "004 六 + 001 二(一)5: negative pressure, ALS and monitoring",
         NORMAL, p(infection_status="confirmed"), DESIGNATED_INFECTIOUS, caps=NP_ALS_MON,
         mode="negative_pressure_ambulance"),
]


def context(c: Case) -> tuple[RoutingContext, HospitalSnapshot]:
    hospitals, zones = xian()
    changed = []
    for h in hospitals:
        if h.id in c.suspend:
            h = replace(h, status="suspended")
        if h.id in c.add:
            h = replace(h, capabilities=h.capabilities | frozenset(c.add[h.id]))
        changed.append(h)
    snapshot = HospitalSnapshot.build(changed)
    return RoutingContext(rules=default_rules(), hospitals=snapshot, zones=zones, at=AT,
                          service_radius_km=100), snapshot


def decide(c: Case) -> tuple[Decision, HospitalSnapshot]:
    ctx, snapshot = context(c)
    return evaluate(PatientFacts(**c.where, **c.patient), ctx), snapshot


@pytest.mark.parametrize("c", CASES)
def test_pathway_clause(c: Case) -> None:
    decision, snapshot = decide(c)
    destination = decision.destination
    assert (destination.hospital_id if destination else None) == c.hospital, (
        c.clause, destination, decision.warnings)
    if c.caps is not None:
        assert decision.required_unit_capabilities == c.caps, c.clause
    if c.mode is not None:
        assert decision.transport_mode == c.mode, c.clause
    assert (decision.pathway.id if decision.pathway else None) == c.pathway, c.clause
    if c.outside is not None:
        assert decision.pathway is not None
        assert decision.pathway.outside_rule_set is c.outside, destination
    if c.warning is not None:
        assert any(c.warning in w for w in decision.warnings), decision.warnings
    else:
        assert not [w for w in decision.warnings if "no open hospital" in w], decision.warnings
    assert not [m.id for m in decision.matched_rules if m.id.startswith("guard:")]
    assert destination is not None
    chosen = snapshot.by_id[destination.hospital_id]
    assert chosen.open
    if decision.pathway is not None and c.warning is None:
        needs = set(decision.pathway.hospital_needs)
        assert needs <= chosen.capabilities
        assert all(needs <= snapshot.by_id[a.hospital_id].capabilities for a in decision.alternatives)
    for text in [destination.reason, *decision.warnings]:  # plain words, never a bare code
        for code in ("yellow_code", "designated_infectious", "fever_clinic", "chest_pain"):
            assert code not in text, text


def test_the_explanation_says_it_looked_outside() -> None:
    """The issue's case: a critical newborn in a sealed area, 西安市第一医院 (yellow-code) lacks
    neonatal care, 西安市儿童医院 has it and is open."""
    decision, _ = decide(CASES[[c.values[0].name for c in CASES].index("newborn-sealed")].values[0])
    assert decision.destination is not None
    reason = decision.destination.reason
    assert reason.startswith("最近的黄码医院 (nearest yellow-code hospital): 西安市第一医院 不具备新生儿救治 "
                             "(has no neonatal care)"), reason
    assert "危重新生儿 (Critical newborn)" in reason
    assert decision.pathway is not None
    assert decision.pathway.hospital_needs_words == "新生儿救治 (neonatal care)"
    assert decision.crew_notes[0].startswith("危重新生儿")
    # Notes of rules that decided nothing are left out: the critical-newborn rule lost the
    # destination to the sealed-area rule and says nothing of its own.
    deciders = {m.id for m in decision.matched_rules if m.decided}
    assert "critical-newborn" not in deciders
    assert "critical-sealed-or-isolated" in deciders


def test_onset_reaches_the_decision() -> None:
    stroke = Case("onset", "003 2", NORMAL, p(protocol="stroke", triage={
        "last_known_well": (AT - timedelta(minutes=75)).isoformat(), "age_years": 71,
        "sex": "male", "danger_signs": ["face_arm_speech"]}), GUARANTEE)
    decision, _ = decide(stroke)
    assert decision.pathway is not None
    assert decision.pathway.onset_minutes == 75
    assert decision.pathway.onset == decision.crew_notes[1]
    assert decision.crew_notes[1] == ("最后正常时间 12-07 14:45，距今1小时15分钟 "
                                      "(last known well 12-07 14:45, 1 h 15 min ago)")  # UTC+8


def test_outside_the_service_area_goes_nowhere() -> None:
    far = Case("far", "—", {"lat": 0.0, "lon": 0.0}, p(protocol="stroke"), None)
    decision, _ = decide(far)
    assert decision.destination is None
    assert decision.alternatives == []
    assert decision.warnings[0].startswith("outside the service area: the nearest hospital is 11,")


def test_at_least_sixty_cases_each_citing_its_clause() -> None:
    cases = [c.values[0] for c in CASES]
    assert len(cases) >= 60
    assert all(c.clause.strip() for c in cases)
    pathways = {c.pathway for c in cases}
    assert {"stroke", "chest-pain", "major-trauma", "poisoning", "critical-newborn",
            "critical-obstetric", "psychiatric"} <= pathways


# ---- The guard as a property: random zones, hospitals and patients.

LAT, LON = (34.0, 34.4), (108.6, 109.1)
CAPS = [c.value for c in HospitalCapability]
PROTOCOLS = [None, *(c.value for c in ComplaintProtocol)]
NARROW_RULES = """
name: narrow (a pathway that names one hospital, a rule that names the yellow-code set)
defaults:
  transport: {mode: ambulance, capabilities: [ambulance]}
fallback:
  - {designated: guarantee}
pathways:
  - id: stroke
    seed: "003 2"
    label_zh: 卒中
    label_en: Stroke
    when: {complaint: [stroke]}
    hospital: [stroke]
    destination: [{hospital: h0}]
    unit: [als]
  - id: critical-newborn
    seed: "003 4"
    label_zh: 危重新生儿
    label_en: Critical newborn
    when: {severity: [critical], category: [newborn]}
    hospital: [neonatal]
    destination: [{own: registered}]
rules:
  - id: sealed
    seed: "004 一"
    when: {zone_status: [sealed]}
    then:
      destination: [{nearest: [yellow_code]}]
  - id: everyone
    seed: "000 二(四)2"
    then:
      destination: [{designated: guarantee}]
"""


@cache
def narrow_rules() -> rules.CompiledRuleSet:
    return rules.load(NARROW_RULES, version=2)


@st.composite
def random_hospitals(draw: st.DrawFn) -> HospitalSnapshot:
    count = draw(st.integers(1, 12))
    return HospitalSnapshot.build(
        HospitalView(
            id=f"h{i}", name=f"Hospital {i}", name_zh=None, lat=draw(st.floats(*LAT)),
            lon=draw(st.floats(*LON)), level="tertiary",
            capabilities=draw(st.frozensets(st.sampled_from(CAPS), max_size=6)),
            designations=tuple(draw(st.sets(st.sampled_from([d.value for d in Designation]),
                                            max_size=2))),
            status=draw(st.sampled_from(["open", "open", "suspended"])))
        for i in range(count))


@st.composite
def random_zones(draw: st.DrawFn) -> ZoneIndex:
    zones = []
    for i in range(draw(st.integers(0, 4))):
        lat, lon = draw(st.floats(*LAT)), draw(st.floats(*LON))
        size = draw(st.floats(0.01, 0.2))
        ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
        zones.append(IndexedZone(id=f"z{i}", name=f"zone {i}", status=draw(st.sampled_from(
            [ZoneStatus.SEALED, ZoneStatus.CONTROLLED, ZoneStatus.PRECAUTION])), sub_district=None,
            community=None, valid_from=datetime(2020, 1, 1, tzinfo=UTC), valid_to=None,
            geometry={"type": "Polygon", "coordinates": [ring]}))
    return ZoneIndex(zones)


@st.composite
def random_patients(draw: st.DrawFn, hospital_count: int = 12) -> PatientFacts:
    ids = st.none() | st.sampled_from([f"h{i}" for i in range(hospital_count)])
    protocol = draw(st.sampled_from(["stroke", "chest_pain", "major_trauma", "poisoning",
                                     "psychiatric"]) | st.sampled_from(PROTOCOLS))
    return PatientFacts(
        lat=draw(st.floats(*LAT)), lon=draw(st.floats(*LON)),
        severity=draw(st.sampled_from([Severity.CRITICAL, *Severity])),
        category=draw(st.sampled_from(list(PatientCategory))),
        infection_status=draw(st.sampled_from(list(InfectionStatus))),
        isolation=draw(st.booleans()), registered_hospital_id=draw(ids),
        treating_hospital_id=draw(ids),
        flags={name: draw(st.booleans()) for name in ("fever", "danger_signs", "needs_oxygen")},
        triage=Triage(protocol=protocol, age_years=draw(st.none() | st.integers(0, 100))),
    )


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hospitals=random_hospitals(), zones=random_zones(), patient=random_patients(),
       narrow=st.booleans())
def test_a_pathway_patient_never_goes_without_the_care_while_it_is_open(
    hospitals: HospitalSnapshot, zones: ZoneIndex, patient: PatientFacts, narrow: bool
) -> None:
    """Whatever the zone, the hospitals and the rule set: a patient whose pathway needs a
    capability goes to a hospital with it whenever an open one has it, and never to a
    suspended one; the alternatives have it too."""
    ruleset = narrow_rules() if narrow else default_rules()
    ctx = RoutingContext(rules=ruleset, hospitals=hospitals, zones=zones, at=AT)
    decision = evaluate(patient, ctx)
    event(f"pathway={decision.pathway.id if decision.pathway else None}")
    destination = decision.destination
    if destination is not None:
        assert hospitals.by_id[destination.hospital_id].open
    if decision.pathway is None:
        return
    needs = frozenset(decision.pathway.hospital_needs)
    able = [h for h in hospitals.hospitals if h.open and needs <= h.capabilities]
    if able:
        assert destination is not None
        assert needs <= hospitals.by_id[destination.hospital_id].capabilities, decision
        assert all(needs <= hospitals.by_id[a.hospital_id].capabilities
                   for a in decision.alternatives)
    else:
        assert any("no open hospital has" in w for w in decision.warnings)
    if patient.critical:
        assert "als" in decision.required_unit_capabilities


@pytest.mark.parametrize(("pathway", "field", "message"), [
    ({"unit": ["closed_loop"]}, "pathways[0] (stroke).unit", "a pathway adds only"),
    ({"hospital": ["levitation"]}, "pathways[0] (stroke).hospital[0]", "Input should be"),
    ({"hospital": []}, "pathways[0] (stroke).hospital", "at least 1 item"),
    ({"when": {"complaint": ["hiccups"]}}, "pathways[0] (stroke).when.complaint[0]", "Input should be"),
    ({"destination": [{"nearest": ["stroke"], "far": True}]}, "pathways[0] (stroke).destination[0].far",
     "Extra inputs"),
], ids=["unit-not-for-ambulance", "unknown-capability", "no-capability", "unknown-complaint",
        "bad-destination"])
def test_a_bad_pathway_is_named_in_the_rule_set_errors(
    pathway: dict[str, Any], field: str, message: str
) -> None:
    good = {"id": "stroke", "seed": "003 2", "label_zh": "卒中", "label_en": "Stroke",
            "when": {"complaint": ["stroke"]}, "hospital": ["stroke"],
            "destination": [{"nearest": ["stroke"]}]}
    source = yaml.safe_dump({
        "name": "t", "defaults": {"transport": {"mode": "ambulance", "capabilities": ["ambulance"]}},
        "fallback": [{"nearest": ["emergency"]}], "pathways": [{**good, **pathway}],
        "rules": [{"id": "r", "seed": "s", "then": {"destination": [{"nearest": ["emergency"]}]}}],
    }, allow_unicode=True)
    with pytest.raises(rules.RuleSetInvalid) as raised:
        rules.parse(source)
    assert [e["field"] for e in raised.value.errors] == [field], raised.value.errors
    assert message in raised.value.errors[0]["message"]


def test_the_capability_guard_replaces_a_destination_without_the_care() -> None:
    """The last line of defence, whatever chose the hospital: one without a stroke centre is
    replaced by the nearest open one with it, and the guard names itself."""
    hospitals, _ = xian()
    snapshot = HospitalSnapshot.build(hospitals)
    patient = PatientFacts(**NORMAL, severity="critical", triage=Triage(protocol="stroke"))
    pathway = default_rules().pathway_for({
        "severity": "critical", "category": "ordinary", "infection": "none",
        "zone_status": "normal", "complaint": "stroke", "flags": {}})
    assert pathway is not None
    search = Search(patient=patient, hospitals=snapshot)
    wrong = HospitalChoice(hospital_id="xian-aerospace-general", name="Aerospace", name_zh=None,
                           distance_km=1.0, reason="a rule set that forgot the pathway")
    parts = engine._Parts()
    chosen = engine._capability_guard(parts, search, wrong, pathway)
    assert chosen is not None
    assert chosen.hospital_id == GUARANTEE
    assert [m.id for m in parts.matched] == ["guard:pathway-capability"]
    right = engine._capability_guard(engine._Parts(), search, chosen, pathway)
    assert right is chosen


def test_a_note_that_must_reach_the_crew_does_whichever_rule_chose() -> None:
    """003: a critical patient who cannot be cleared of infection, in a sealed area: the
    sealed-area rule chooses, the buffer-zone note still reaches the crew."""
    suspected = Case("buffer", "003", SEALED, p(infection_status="suspected"), YELLOW)
    decision, _ = decide(suspected)
    assert any("缓冲区" in note for note in decision.crew_notes), decision.crew_notes
    deciders = [m.id for m in decision.matched_rules if "destination" in m.decided]
    assert deciders == ["critical-sealed-or-isolated"]
    silent = [m.id for m in decision.matched_rules if not m.decided]
    assert "critical-suspected" in silent  # matched, decided nothing, said nothing

"""Community care in the routing, seed clause by seed clause, on real PostgreSQL and Redis.

Runs the default rule set against the built-in Xi'an High-tech Zone scenario (seed 000, with
the community places of seeds 002 and 003) through `POST /api/v1/routing/evaluate`. Points as
in tests/test_routing_table.py, plus two community health centres:

- SEALED (34.233, 108.856) in yuhua-sealed-1, served by temporary medical point tmp-yuhua-sealed-1-1;
- CONTROLLED (34.242, 108.866): Yuhuazhai centre's fever room, oxygen station and team ~1 km;
- PRECAUTION (34.205, 108.880): 西安市第九医院's fever clinic 1.1 km, Zhangba centre 1.67 km,
  Fenglin Lvzhou centre 1.69 km (both teams serve Zhangba sub-district);
- NORMAL (34.125, 108.815) in Xiliu: Lanbo centre's fever room 7.1 km, Xiliu team 0.7 km;
- ZHANGBA_CHC and QINDU_CHC: where the referring centres are (no zone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dispatch.hospitals.snapshot import HospitalSnapshot
from dispatch.incidents.enums import InfectionStatus, PatientCategory, Severity
from dispatch.places import hours
from dispatch.places.snapshot import Area, PlaceSnapshot, PlaceView
from dispatch.routing.engine import PatientFacts, RoutingContext, evaluate
from dispatch.scenarios.service import read_scenario
from tests.test_routing_properties import (
    check_invariants,
    default_rules,
    hospital_states,
    patients,
    times,
)
from tests.test_routing_properties import xian as xian_hospitals_and_zones

SEALED = {"lat": 34.233, "lon": 108.856}
CONTROLLED = {"lat": 34.242, "lon": 108.866}
PRECAUTION = {"lat": 34.205, "lon": 108.880}
NORMAL = {"lat": 34.125, "lon": 108.815}
ZHANGBA_CHC = {"lat": 34.190, "lon": 108.880}
QINDU_CHC = {"lat": 34.080, "lon": 108.690}

NP = ["ambulance", "negative_pressure"]
A = ["ambulance"]
CL = ["closed_loop"]
HV = ["home_visit"]
NONE: list[str] = []
POINT = "tmp-yuhua-sealed-1-1"
POINT_UNIT = "MP-yuhua-sealed-1-1"
GUARANTEE = "xian-medical-university-first"
YELLOW = "xian-first"
CERT = ["community_certificate"]


@dataclass(frozen=True)
class Case:
    name: str
    clause: str
    where: dict[str, float]
    patient: dict[str, Any]
    outcome: str
    to: str | None  # place id ("hospital:<id>" for a hospital's fever clinic), or destination hospital
    mode: str
    caps: list[str]
    rule: str  # the rule that decided the outcome, or the destination of a transport
    paperwork: list[str] | None = None
    closed_loop: bool | None = None
    places: dict[str, str] = field(default_factory=dict)  # PUT /places/{id}/status
    hospitals: dict[str, dict[str, Any]] = field(default_factory=dict)  # PATCH /hospitals/{id}
    warning: str | None = None
    reason: str | None = None  # part of the referral's reason


def case(name: str, clause: str, where: dict[str, float], patient: dict[str, Any], outcome: str,
         to: str | None, mode: str, caps: list[str], rule: str, **more: Any) -> Any:
    return pytest.param(Case(name, clause, where, patient, outcome, to, mode, caps, rule, **more),
                        id=name)


def p(severity: str = "non_urgent", category: str = "ordinary", **flags: Any) -> dict[str, Any]:
    top = {k: flags.pop(k) for k in ("infection_status", "referred_by", "isolation",
                                     "has_certificate") if k in flags}
    return {"severity": severity, "category": category, "flags": flags, **top}


CASES = [
    # ---- Fever without danger signs → the nearest open fever clinic (or a home visit when sealed).
    case("fever-hospital-fever-clinic",
         "001 二(一)1: every level-two hospital's 24-hour fever clinic; 003: fever patients go to "
         "the nearest one themselves; 004 二: certificate in a precaution area",
         PRECAUTION, p(fever=True), "refer", "hospital:xian-ninth", "self_travel", NONE,
         "fever-clinic", paperwork=CERT, closed_loop=False, reason="nearest open fever clinic"),
    case("fever-community-fever-room", "002 一(二): community centres' fever rooms, nearest",
         NORMAL, p(fever=True), "refer", "lanbo-fever", "self_travel", NONE, "fever-clinic",
         paperwork=[]),
    case("fever-suspected-goes-themselves",
         "003: fever patients (not yet cleared) outside sealed areas go by themselves",
         PRECAUTION, p(fever=True, infection_status="suspected"), "refer", "hospital:xian-ninth",
         "self_travel", NONE, "fever-clinic"),
    case("fever-controlled-volunteer-car",
         "000 三(三), 004 二: controlled area → volunteer vehicle point to point, certificate",
         CONTROLLED, p(fever=True), "refer", "yuhuazhai-fever", "closed_loop_vehicle", CL,
         "fever-clinic-controlled", paperwork=CERT, closed_loop=True),
    case("fever-sealed-home-visit",
         "003 封控区内: the temporary medical point's GP visits; no certificate, nobody goes out",
         SEALED, p(fever=True), "home_visit", POINT, "home_visit", HV, "fever-home-visit",
         paperwork=[], reason="serving the patient's zone yuhua-sealed-1"),
    case("fever-nearer-clinic-closed", "001 二(一)1 应开尽开: a closed fever room is skipped",
         NORMAL, p(fever=True), "refer", "zhangba-fever", "self_travel", NONE, "fever-clinic",
         places={"lanbo-fever": "closed"}, reason="closer but closed"),
    case("fever-hospital-suspended",
         "000: a suspended hospital's fever clinic is never referred to",
         PRECAUTION, p(fever=True), "refer", "zhangba-fever", "self_travel", NONE, "fever-clinic",
         hospitals={"xian-ninth": {"status": "suspended"}}),
    case("fever-sealed-point-closed",
         "004 一: no temporary medical point open → sealed-area transport to the yellow-code hospital",
         SEALED, p(fever=True), "transport", YELLOW, "negative_pressure_ambulance", NP, "sealed",
         places={POINT: "closed"}, warning="no open temporary medical point"),
    case("fever-isolated-no-point",
         "004 一: isolated, no medical point serves them → yellow-code hospital, negative pressure",
         NORMAL, p(fever=True, isolation=True), "transport", YELLOW, "negative_pressure_ambulance",
         NP, "sealed", warning="no open temporary medical point"),
    case("fever-danger-signs",
         "000 三(三): danger signs make it acute → 120 ambulance to the guarantee hospital",
         PRECAUTION, p("urgent", fever=True, danger_signs=True), "transport", GUARANTEE,
         "ambulance", A, "everyone-else"),
    case("fever-confirmed", "001 二(一)4, 004 一: confirmed infection → makeshift hospital",
         NORMAL, p(fever=True, infection_status="confirmed"), "transport", "gaoxin-makeshift",
         "negative_pressure_ambulance", NP, "confirmed-mild"),
    case("fever-critical-unchanged", "003, 004 二: critical → nearest emergency+ICU, ambulance",
         NORMAL, p("critical", fever=True), "transport", "xian-aerospace-general", "ambulance",
         ["ambulance", "als"], "critical"),

    # ---- Chronic patient needing a refill → family-doctor team (prescriptions up to 12 weeks).
    case("refill-family-doctor",
         "003 1, 004 八: the family-doctor team serving the area; prescriptions up to 12 weeks",
         PRECAUTION, p(category="chronic", prescription_refill=True), "callback_by_doctor",
         "zhangba-fdt", "none", NONE, "refill-family-doctor", paperwork=[],
         reason="serving the patient's sub-district zhangba"),
    case("refill-family-doctor-xiliu", "003 1: the team serving Xiliu", NORMAL,
         p(category="chronic", prescription_refill=True), "callback_by_doctor", "xiliu-fdt",
         "none", NONE, "refill-family-doctor"),
    case("refill-controlled", "003 1, 002 一(三): the team's doctor calls back, nobody moves",
         CONTROLLED, p(category="chronic", prescription_refill=True), "callback_by_doctor",
         "yuhuazhai-fdt", "none", NONE, "refill-family-doctor", paperwork=[]),
    case("refill-sealed-home-visit",
         "003 封控区内 1: long prescriptions brought home by the temporary medical point",
         SEALED, p(category="chronic", prescription_refill=True), "home_visit", POINT,
         "home_visit", HV, "refill-home-visit"),
    case("refill-team-closed", "the serving team off duty → the other team serving Zhangba",
         PRECAUTION, p(category="chronic", prescription_refill=True), "callback_by_doctor",
         "fenglin-lvzhou-fdt", "none", NONE, "refill-family-doctor",
         places={"zhangba-fdt": "closed"}),

    # ---- Needs oxygen → the nearest open oxygen station (24-hour refill).
    case("oxygen-station", "002 一(三): community oxygen stations, 24-hour oxygen refill",
         PRECAUTION, p(needs_oxygen=True), "refer", "zhangba-oxygen", "self_travel", NONE,
         "oxygen-station", paperwork=CERT),
    case("oxygen-controlled", "002 一(三), 004 二: by volunteer vehicle, closed loop", CONTROLLED,
         p(needs_oxygen=True), "refer", "yuhuazhai-oxygen", "closed_loop_vehicle", CL,
         "oxygen-station-controlled", closed_loop=True),
    case("oxygen-station-closed", "002 一(三): the next open station", PRECAUTION,
         p(needs_oxygen=True), "refer", "fenglin-lvzhou-oxygen", "self_travel", NONE,
         "oxygen-station", places={"zhangba-oxygen": "closed"}),
    case("oxygen-sealed", "004 一: nobody leaves a sealed area on their own → yellow-code hospital",
         SEALED, p(needs_oxygen=True), "transport", YELLOW, "negative_pressure_ambulance", NP,
         "sealed"),

    # ---- Referral from a community health centre → its paired tertiary hospital (000 附件).
    case("referral-paired", "000 二(二), 附件: 丈八社区卫生服务中心 → 西安市第三医院", ZHANGBA_CHC,
         p("urgent", referred_by="zhangba-chc"), "transport", "xian-third", "ambulance", A,
         "referral-paired"),
    case("referral-paired-qindu", "000 附件: 秦渡中心卫生院 → 西安医学高等专科学校附属医院",
         QINDU_CHC, p(referred_by="qindu-chc"), "transport", "xian-medical-college-affiliated",
         "self_travel", NONE, "referral-paired"),
    case("referral-paired-suspended",
         "000: paired hospital suspended → the rule set's fallback, the guarantee hospital",
         ZHANGBA_CHC, p("urgent", referred_by="zhangba-chc"), "transport", GUARANTEE, "ambulance",
         A, "referral-paired", hospitals={"xian-third": {"status": "suspended"}},
         warning="no open hospital among its destinations"),
    case("referral-critical-unchanged",
         "003, 004 三: a critical referral goes to the nearest capable hospital", ZHANGBA_CHC,
         p("critical", referred_by="zhangba-chc"), "transport", GUARANTEE, "ambulance",
         ["ambulance", "als"], "critical"),
    case("referral-sealed", "004 一: sealed-area patients → the yellow-code hospital first",
         SEALED, p("urgent", referred_by="yuhuazhai-chc"), "transport", YELLOW,
         "negative_pressure_ambulance", NP, "sealed"),
]


@pytest.mark.parametrize("c", CASES)
async def test_seed_clause(c: Case, client: httpx.AsyncClient, xian: Any) -> None:
    for place_id, status in c.places.items():
        response = await client.put(f"/api/v1/places/{place_id}/status", json={"status": status})
        assert response.status_code == 200, response.text
    for hospital_id, change in c.hospitals.items():
        response = await client.patch(f"/api/v1/hospitals/{hospital_id}", json=change)
        assert response.status_code == 200, response.text
    response = await client.post("/api/v1/routing/evaluate", json={**c.where, **c.patient})
    assert response.status_code == 200, response.text
    decision = response.json()

    assert decision["outcome"] == c.outcome, (c.clause, decision["matched_rules"], decision["warnings"])
    assert decision["transport_mode"] == c.mode, c.clause
    assert decision["required_unit_capabilities"] == c.caps
    if c.outcome == "transport":
        assert decision["referral"] is None
        assert decision["destination"]["hospital_id"] == c.to, (c.clause, decision["destination"])
        deciding = [m["id"] for m in decision["matched_rules"] if "destination" in m["decided"]]
    else:
        assert decision["destination"] is None
        assert decision["alternatives"] == []
        referral = decision["referral"]
        chosen = referral["place_id"] or f"hospital:{referral['hospital_id']}"
        assert chosen == c.to, (c.clause, referral)
        assert referral["distance_km"] >= 0
        assert referral["direction"] in ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
        assert referral["directions"].startswith(f"{referral['distance_km']:.1f} km {referral['direction']}")
        assert "location approximate" in referral["directions"]
        assert set(referral) >= {"phone", "hours", "name", "name_zh", "lat", "lon"}
        if c.outcome == "home_visit":
            assert referral["unit_id"] == POINT_UNIT
            assert referral["hours"] == "24h"  # 003: on duty 24 hours
        if c.reason:
            assert c.reason in referral["reason"], referral["reason"]
        deciding = [m["id"] for m in decision["matched_rules"] if "outcome" in m["decided"]]
    assert deciding == [c.rule], decision["matched_rules"]
    if c.paperwork is not None:
        assert decision["paperwork"] == c.paperwork
    if c.closed_loop is not None:
        assert decision["closed_loop"] is c.closed_loop
    if c.warning is not None:
        assert any(c.warning in w for w in decision["warnings"]), decision["warnings"]
    # The default rule set never needs the engine's guards.
    assert not [m for m in decision["matched_rules"] if m["id"].startswith("guard:")]


def test_the_table_covers_every_community_clause() -> None:
    cases = [c.values[0] for c in CASES]
    rules = {c.rule for c in cases}
    assert {"fever-clinic", "fever-clinic-controlled", "fever-home-visit", "refill-family-doctor",
            "refill-home-visit", "oxygen-station", "oxygen-station-controlled",
            "referral-paired"} <= rules
    assert {c.outcome for c in cases} == {"transport", "refer", "home_visit", "callback_by_doctor"}


# ---- Properties of the pure engine with the Xi'an places: emergency paths never change.

COMMUNITY_FLAGS = st.fixed_dictionaries({
    "fever": st.booleans(), "needs_oxygen": st.booleans(), "prescription_refill": st.booleans(),
}, optional={"danger_signs": st.booleans()})


@cache
def xian_places() -> PlaceSnapshot:
    scenario, _ = read_scenario("xian-high-tech-zone")
    posts = {p.id: p for p in scenario.posts}
    areas = {s.id: Area(s.id, s.location.lat, s.location.lon, s.radius_km) for s in scenario.sub_districts}
    views = []
    for place in scenario.places:
        at = place.location or posts[place.post or ""].location
        views.append(PlaceView(
            id=place.id, kind=place.kind.value, name=place.name, name_zh=place.name_zh, lat=at.lat,
            lon=at.lon, hours_text=place.hours, hours=hours.parse(place.hours),
            services=frozenset(s.value for s in place.services),
            paired_hospital_id=place.paired_hospital or posts[place.post or ""].paired_hospital,
            areas=tuple(areas[s] for s in place.served_sub_districts)))
    views.append(PlaceView(id=POINT, kind="temporary_medical_point", name="point", name_zh=None,
                           lat=34.233, lon=108.856, hours_text="24h", hours=hours.parse("24h"),
                           served_zone_id="yuhua-sealed-1", unit_id=POINT_UNIT))
    return PlaceSnapshot.build(views)


@st.composite
def callers(draw: st.DrawFn) -> PatientFacts:
    """Any patient, but mostly non-urgent, uninfected callers near the community places."""
    patient = draw(patients())
    where = draw(st.sampled_from([SEALED, CONTROLLED, PRECAUTION, NORMAL, ZHANGBA_CHC, QINDU_CHC]))
    return patient.model_copy(update={
        "severity": draw(st.sampled_from([Severity.NON_URGENT] * 4 + list(Severity))),
        "category": draw(st.sampled_from([PatientCategory.CHRONIC, PatientCategory.ORDINARY,
                                          patient.category])),
        "infection_status": draw(st.sampled_from([InfectionStatus.NONE, InfectionStatus.NONE,
                                                  InfectionStatus.SUSPECTED, patient.infection_status])),
        "isolation": draw(st.sampled_from([False, False, False, patient.isolation])),
        **(where if draw(st.integers(0, 3)) else {}),
        "zone": None if draw(st.integers(0, 3)) else patient.zone,
    })


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient=st.one_of(callers(), callers(), callers(), patients()), snapshot=hospital_states(),
       at=times,
       extra=COMMUNITY_FLAGS,
       referred=st.none() | st.sampled_from(["zhangba-chc", "qindu-chc", "lanbo-chc"]))
def test_community_care_leaves_the_emergency_paths_alone(
    patient: PatientFacts, snapshot: HospitalSnapshot, at: datetime, extra: dict[str, bool],
    referred: str | None,
) -> None:
    """Community facts change nothing for urgent and critical patients, nor for anyone they do
    not send to community care; those they do are never critical, sealed-and-sent-out or lost."""
    ctx = RoutingContext(rules=default_rules(), hospitals=snapshot,
                         zones=xian_hospitals_and_zones()[1], at=at, places=xian_places())
    plain = evaluate(patient, ctx)
    with_facts = patient.model_copy(update={"flags": {**patient.flags, **extra}, "referred_by": referred})
    decision = evaluate(with_facts, ctx)
    event(decision.outcome)
    if decision.outcome == "transport":
        check_invariants(with_facts, snapshot, decision)
    # In a sealed area fever, an oxygen need or danger signs put a non-urgent patient in an
    # ambulance instead of the volunteer car (rule sealed-by-ambulance): only the transport moves.
    sealed_non_urgent = decision.zone.status == "sealed" and patient.severity == Severity.NON_URGENT
    exclude = {"warnings"} | ({"transport_mode", "required_unit_capabilities", "matched_rules",
                               "crew_notes"} if sealed_non_urgent else set())
    if decision.outcome == "transport" and referred is None:
        assert decision.model_dump(exclude=exclude) == plain.model_dump(exclude=exclude)
    if patient.severity != Severity.NON_URGENT:
        assert decision.outcome == "transport"
        if referred is None:
            assert decision == plain
    if decision.outcome != "transport":
        assert not patient.critical
        assert decision.destination is None
        assert decision.referral is not None
        assert decision.paperwork == [] or decision.outcome == "refer"
        assert with_facts.flags.get("danger_signs") is not True
        if decision.outcome == "refer":
            assert decision.zone.status != "sealed"
            assert not patient.isolation
            assert patient.infection_status != "confirmed"
            hospital = decision.referral.hospital_id
            assert hospital is None or snapshot.by_id[hospital].open
        if decision.outcome == "home_visit":
            assert decision.required_unit_capabilities == ["home_visit"]
            assert decision.referral.served_zone_id == decision.zone.id
    assert not [m.id for m in decision.matched_rules if m.id.startswith("guard:")]

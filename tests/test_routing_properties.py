"""Properties of routing for any patient, zone and hospital state (hypothesis, pure engine)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.hospitals.enums import HospitalStatus
from dispatch.hospitals.snapshot import HospitalSnapshot, HospitalView
from dispatch.incidents.enums import InfectionStatus, PatientCategory, Severity
from dispatch.routing import rules
from dispatch.routing.engine import PatientFacts, RoutingContext, evaluate
from dispatch.routing.schemas import Decision
from dispatch.routing.service import default_source
from dispatch.scenarios.service import read_scenario
from dispatch.zones.enums import ZoneStatus
from dispatch.zones.index import IndexedZone, ZoneIndex, ZoneMatch

AMBULANCES = {"ambulance", "negative_pressure_ambulance"}


@cache
def xian() -> tuple[tuple[HospitalView, ...], ZoneIndex]:
    scenario, _ = read_scenario("xian-high-tech-zone")
    hospitals = tuple(
        HospitalView(id=h.id, name=h.name, name_zh=h.name_zh, lat=h.location.lat,
                     lon=h.location.lon, level=h.level,
                     capabilities=frozenset(c.value for c in h.capabilities),
                     designations=tuple(d.value for d in h.designations), status=h.status.value)
        for h in scenario.hospitals
    )
    zones = ZoneIndex(
        IndexedZone(id=z.id, name=z.name, status=z.status, sub_district=z.sub_district,
                    community=z.community, valid_from=z.valid_from, valid_to=z.valid_to,
                    geometry=z.geometry)
        for z in scenario.zones
    )
    return hospitals, zones


@cache
def default_rules() -> rules.CompiledRuleSet:
    return rules.load(default_source(), version=1)


categories = st.sampled_from([c.value for c in PatientCategory])


@st.composite
def hospital_states(draw: st.DrawFn) -> HospitalSnapshot:
    """The Xi'an hospitals, each maybe suspended or full for some categories."""
    hospitals, _ = xian()
    out = []
    for h in hospitals:
        status = draw(st.sampled_from([HospitalStatus.OPEN.value] * 3 + [HospitalStatus.SUSPENDED.value]))
        full = draw(st.frozensets(categories, max_size=3))
        out.append(HospitalView(id=h.id, name=h.name, name_zh=h.name_zh, lat=h.lat, lon=h.lon,
                                level=h.level, capabilities=h.capabilities,
                                designations=h.designations, status=status, full_categories=full))
    return HospitalSnapshot.build(out)


hospital_ids = st.sampled_from([h.id for h in xian()[0]] + ["no-such-hospital"])


@st.composite
def patients(draw: st.DrawFn) -> PatientFacts:
    """Any patient, anywhere around the High-tech Zone, in any zone status."""
    zone = draw(st.one_of(
        st.none(),  # looked up in the scenario's zones
        st.sampled_from(list(ZoneStatus)).map(lambda s: ZoneMatch(id="z", name="z", status=s)),
    ))
    return PatientFacts(
        lat=draw(st.floats(34.0, 34.35)), lon=draw(st.floats(108.4, 109.1)),
        severity=draw(st.sampled_from(list(Severity))),
        category=draw(st.sampled_from(list(PatientCategory))),
        infection_status=draw(st.sampled_from(list(InfectionStatus))),
        isolation=draw(st.booleans()), has_certificate=draw(st.booleans()),
        registered_hospital_id=draw(st.none() | hospital_ids),
        treating_hospital_id=draw(st.none() | hospital_ids),
        flags=draw(st.dictionaries(st.sampled_from(["in_labour", "oxygen", "note"]),
                                   st.booleans() | st.text(max_size=5), max_size=2)),
        zone=zone,
    )


times = st.datetimes(min_value=datetime(2021, 1, 1), max_value=datetime(2027, 1, 1),
                     timezones=st.just(UTC))


def isolating(patient: PatientFacts, decision: Decision) -> bool:
    """Negative pressure: infected, suspected or isolated, or carried by ambulance from a sealed area."""
    sealed = decision.zone.status == ZoneStatus.SEALED and decision.transport_mode in AMBULANCES
    return (patient.infection_status in (InfectionStatus.CONFIRMED, InfectionStatus.SUSPECTED)
            or sealed or patient.isolation)


def check_invariants(patient: PatientFacts, snapshot: HospitalSnapshot, decision: Decision) -> None:
    named = [decision.destination, *decision.alternatives]
    for choice in (c for c in named if c is not None):
        assert snapshot.by_id[choice.hospital_id].open, choice
    if patient.critical:
        assert decision.paperwork == []
        assert decision.transport_mode in AMBULANCES
        assert "als" in decision.required_unit_capabilities
        if patient.infection_status != InfectionStatus.NONE:
            assert "monitoring" in decision.required_unit_capabilities
    if decision.zone.status == ZoneStatus.SEALED and not patient.critical:
        assert decision.transport_mode in (*AMBULANCES, "closed_loop_vehicle", "home_visit")
    if isolating(patient, decision):
        assert decision.transport_mode == "negative_pressure_ambulance"
        assert {"ambulance", "negative_pressure"} <= set(decision.required_unit_capabilities)
    if any(h.open and "emergency" in h.capabilities for h in snapshot.hospitals):
        assert decision.destination is not None
    decision.model_dump_json()  # JSON-serialisable


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient=patients(), snapshot=hospital_states(), at=times)
def test_default_rules_keep_the_invariants_by_themselves(
    patient: PatientFacts, snapshot: HospitalSnapshot, at: datetime
) -> None:
    """Never a suspended hospital, never paperwork for the critical, negative pressure when needed.

    The default rule set holds these by its own rules: the engine's guards never step in.
    """
    ctx = RoutingContext(rules=default_rules(), hospitals=snapshot, zones=xian()[1], at=at)
    decision = evaluate(patient, ctx)
    check_invariants(patient, snapshot, decision)
    assert not [m.id for m in decision.matched_rules if m.id.startswith("guard:")]
    assert decision.rule_set_version == 1


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@settings(max_examples=200, deadline=None)
@given(patient=patients(), snapshot=hospital_states(), at=times)
def test_critical_patients_get_the_nearest_capable_open_hospital(
    patient: PatientFacts, snapshot: HospitalSnapshot, at: datetime
) -> None:
    """A critical patient with no special need goes to the nearest open emergency+ICU hospital."""
    patient = patient.model_copy(update={
        "severity": Severity.CRITICAL, "category": PatientCategory.ORDINARY,
        "infection_status": InfectionStatus.NONE, "isolation": False,
        "zone": ZoneMatch(status=ZoneStatus.PRECAUTION),
    })
    decision = evaluate(patient, RoutingContext(rules=default_rules(), hospitals=snapshot, at=at))
    capable = [h for h in snapshot.hospitals if h.open and {"emergency", "icu"} <= h.capabilities]
    if not capable:
        capable = [h for h in snapshot.hospitals if h.open and "emergency" in h.capabilities]
    if not capable:
        return
    best = min(km(patient.lat, patient.lon, h.lat, h.lon) for h in capable)
    assert decision.destination is not None
    assert abs(decision.destination.distance_km - best) < 0.006  # rounded to 10 m
    assert decision.transport_mode == "ambulance"
    assert decision.paperwork == []


# A rule set that breaks every rule a safe rule set keeps; the engine's guards must hold anyway.
HOSTILE = """
name: hostile
defaults:
  transport: {mode: self_travel, capabilities: []}
fallback:
  - {nearest: [emergency]}
rules:
  - id: everyone-walks
    seed: "test"
    then:
      transport: {mode: closed_loop_vehicle, capabilities: [closed_loop]}
      paperwork: [community_certificate]
      destination: [{hospital: xian-gaoxin}, {nearest: [oncology]}]
"""


def hostile_rules() -> rules.CompiledRuleSet:
    import yaml

    # Built without the semantic checks (upload would reject it: paperwork for the critical).
    doc = rules.RuleSetDoc.model_validate(yaml.safe_load(HOSTILE))
    return rules.compile_rule_set(doc, version=99)


@settings(max_examples=200, deadline=None)
@given(patient=patients(), snapshot=hospital_states(), at=times)
def test_guards_hold_whatever_the_rule_set(
    patient: PatientFacts, snapshot: HospitalSnapshot, at: datetime
) -> None:
    ctx = RoutingContext(rules=hostile_rules(), hospitals=snapshot, zones=xian()[1], at=at)
    decision = evaluate(patient, ctx)
    check_invariants(patient, snapshot, decision)
    guards = {m.id for m in decision.matched_rules if m.id.startswith("guard:")}
    if patient.critical:
        assert "guard:critical-no-paperwork" in guards
    if isolating(patient, decision):
        assert "guard:negative-pressure" in guards


def test_hostile_rule_set_is_rejected_on_upload() -> None:
    with pytest.raises(rules.RuleSetInvalid) as caught:
        rules.parse(HOSTILE)
    assert caught.value.errors[0]["field"] == "rules[0] (everyone-walks).then.paperwork"


@given(at=times, lat=st.floats(34.22, 34.25), lon=st.floats(108.83, 108.88))
def test_zone_lookup_takes_the_strictest_zone_in_force(at: datetime, lat: float, lon: float) -> None:
    """Overlapping zones resolve to the strictest status; zones out of their window do not count."""
    square = {"type": "Polygon", "coordinates": [[[108.85, 34.228], [108.862, 34.228],
                                                  [108.862, 34.238], [108.85, 34.238],
                                                  [108.85, 34.228]]]}
    big = {"type": "Polygon", "coordinates": [[[108.84, 34.22], [108.872, 34.22], [108.872, 34.246],
                                               [108.84, 34.246], [108.84, 34.22]]]}
    start = datetime(2024, 1, 1, tzinfo=UTC)

    def zone(id_: str, status: ZoneStatus, geometry: dict[str, Any], days: int | None) -> IndexedZone:
        return IndexedZone(id=id_, name=id_, status=status, sub_district=None, community=None,
                           valid_from=start, geometry=geometry,
                           valid_to=None if days is None else start + timedelta(days=days))

    index = ZoneIndex([zone("big", ZoneStatus.PRECAUTION, big, None),
                       zone("small", ZoneStatus.SEALED, square, 30)])
    match = index.lookup(lat, lon, at)
    in_small = 108.85 <= lon <= 108.862 and 34.228 <= lat <= 34.238
    in_big = 108.84 <= lon <= 108.872 and 34.22 <= lat <= 34.246
    small_in_force = start <= at < start + timedelta(days=30)
    big_in_force = start <= at
    if in_small and small_in_force:
        assert (match.id, match.status) == ("small", ZoneStatus.SEALED)
        assert match.overlapping == (("small", "big") if in_big else ("small",))
    elif in_big and big_in_force:
        assert (match.id, match.status) == ("big", ZoneStatus.PRECAUTION)
    else:
        assert (match.id, match.status) == (None, ZoneStatus.NORMAL)


def test_named_facts_may_come_inside_flags() -> None:
    """Callers may pass isolation, certificate and hospitals as flags, as incidents store them."""
    patient = PatientFacts(lat=34.125, lon=108.815, severity="non_urgent",  # type: ignore[arg-type]
                           flags={"isolation": True, "treating_hospital_id": "xidian", "floor": 6})
    assert (patient.isolation, patient.treating_hospital_id, patient.flags) == (True, "xidian", {"floor": 6})
    hospitals, zones = xian()
    ctx = RoutingContext(rules=default_rules(), hospitals=HospitalSnapshot.build(hospitals), zones=zones,
                         at=datetime(2026, 1, 1, tzinfo=UTC))
    decision = evaluate(patient, ctx)
    assert decision.destination is not None
    assert decision.destination.hospital_id == "xian-first"  # isolated → yellow-code hospital (004 一)
    assert decision.transport_mode == "negative_pressure_ambulance"

"""Evaluate a rule set for one patient: pure (no I/O, no clock; the time comes in).

Besides the rules, guards hold whatever rule set is active, and name themselves in
`matched_rules` when they had to step in: critical patients never get paperwork and always
travel by ambulance with advanced life support (and monitoring when infected); infected,
suspected and isolated patients transported by a unit, and sealed-area patients carried by
ambulance, always need a negative-pressure one; a patient whose pathway needs a hospital
capability never goes to a hospital without it while one with it is open. Suspended hospitals
are never candidates at all, and a location outside the service area is routed nowhere.
Community care outcomes (refer, home_visit, callback_by_doctor) have guards of their own
(see `dispatch.routing.community`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch.fleet.enums import UnitCapability
from dispatch.hospitals.snapshot import HospitalSnapshot
from dispatch.incidents.enums import InfectionStatus, PatientCategory, Severity
from dispatch.incidents.triage import Triage, onset_note
from dispatch.places.hours import zone_info
from dispatch.places.snapshot import PlaceSnapshot
from dispatch.routing import community, words
from dispatch.routing.rules import CompiledPathway, CompiledRule, CompiledRuleSet, Transport
from dispatch.routing.schemas import (
    Decision,
    HospitalChoice,
    MatchedRule,
    Outcome,
    PathwayRef,
    TransportMode,
    ZoneRef,
)
from dispatch.routing.search import NO_REFUSAL, Search
from dispatch.schemas import Latitude, Longitude
from dispatch.zones.enums import ZoneStatus
from dispatch.zones.index import NO_ZONE, ZoneIndex, ZoneMatch

__all__ = ["Decision", "PatientFacts", "RoutingContext", "evaluate", "outside_service_area"]

INFECTIOUS = frozenset({InfectionStatus.CONFIRMED, InfectionStatus.SUSPECTED})
NP_CAPS = [UnitCapability.AMBULANCE, UnitCapability.NEGATIVE_PRESSURE]
AMBULANCE_MODES = (TransportMode.AMBULANCE, TransportMode.NEGATIVE_PRESSURE_AMBULANCE)
NAMED_FLAGS = ("isolation", "has_certificate", "registered_hospital_id", "treating_hospital_id",
               "referred_by")


class PatientFacts(BaseModel):
    """What routing knows about a patient."""

    model_config = ConfigDict(frozen=True)

    lat: Latitude
    lon: Longitude
    severity: Severity
    category: PatientCategory = PatientCategory.ORDINARY
    infection_status: InfectionStatus = InfectionStatus.NONE
    isolation: bool = False  # 隔离观察人员: treated like sealed-area residents (seed 004 一)
    has_certificate: bool = False  # community identity certificate already issued
    registered_hospital_id: str | None = None  # 建档 hospital (pregnant women, newborns)
    treating_hospital_id: str | None = None  # original treating hospital (首诊负责制)
    referred_by: str | None = None  # the community health centre referring upward (a place id)
    flags: dict[str, bool | int | float | str] = Field(default_factory=dict)
    triage: Triage | None = None  # the call-taker's structured triage
    zone: ZoneMatch | None = None  # resolved already, or looked up in the context's index

    @model_validator(mode="before")
    @classmethod
    def _named_flags(cls, data: Any) -> Any:
        """Accept the named facts inside `flags` too, as incidents record them."""
        if isinstance(data, dict) and isinstance(data.get("flags"), dict):
            flags = dict(data["flags"])
            data = dict(data)
            for name in NAMED_FLAGS:
                if name in flags:
                    value = flags.pop(name)
                    if data.get(name) is None or data.get(name) is False:
                        data[name] = value
            data["flags"] = flags
        return data

    @property
    def critical(self) -> bool:
        return self.severity == Severity.CRITICAL

    @property
    def category_value(self) -> str:
        return self.category.value


@dataclass(frozen=True, slots=True)
class RoutingContext:
    rules: CompiledRuleSet
    hospitals: HospitalSnapshot
    at: datetime
    zones: ZoneIndex | None = None
    places: PlaceSnapshot | None = None
    service_radius_km: float | None = None  # farther than this from every hospital: not served
    timezone: str = "Asia/Shanghai"  # local time for what crews read (Settings.timezone)


@dataclass
class _Parts:
    outcome: Outcome | None = None
    destination_rule: CompiledRule | None = None
    transport: Transport | None = None
    closed_loop: bool | None = None
    paperwork: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    matched: list[MatchedRule] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    care: community.CareRule | None = None  # the community care plan, if a rule made one


def _facts(patient: PatientFacts, zone: ZoneMatch) -> dict[str, Any]:
    flags: dict[str, Any] = dict(patient.flags)
    flags["isolation"] = patient.isolation
    flags["has_certificate"] = patient.has_certificate
    flags["referred"] = patient.referred_by is not None
    triage = patient.triage
    if triage is not None:
        flags["danger_signs"] = bool(flags.get("danger_signs")) or bool(triage.danger_signs)
        flags["infant"] = triage.infant
    protocol = triage.protocol.value if triage is not None and triage.protocol else "none"
    return {"severity": patient.severity.value, "category": patient.category.value,
            "infection": patient.infection_status.value, "zone_status": zone.status.value,
            "complaint": protocol, "flags": flags}


DECIDING = ("outcome", "destination", "transport", "closed_loop")
FALLBACK = words.english("兜底：", "fallback: ")  # the rule set's fallback found it


def _apply_rules(rules: CompiledRuleSet, facts: dict[str, Any], zone: ZoneMatch) -> _Parts:
    """Read the rules; a rule's crew notes count only if it decided something (or is a note)."""
    parts = _Parts()
    for rule in rules.rules:
        if not rule.when.matches(facts):
            continue
        reasons = rule.when.reasons(facts)
        then, decided = rule.then, []
        why = ", ".join(r if not r.startswith("zone_status=") or zone.id is None
                        else f"{r} ({zone.id})" for r in reasons) or "always"
        if then.outcome not in (None, Outcome.TRANSPORT):
            if parts.outcome is None and parts.care is None:  # a plan of its own (see rules.py)
                parts.care = community.CareRule(rule=rule, why=why)
            continue
        if then.outcome is not None and parts.outcome is None:
            parts.outcome = then.outcome
            decided.append("outcome")
        if then.destination is not None and parts.destination_rule is None:
            parts.destination_rule = rule
            decided.append("destination")
        if then.transport is not None and parts.transport is None:
            parts.transport = then.transport
            decided.append("transport")
        if then.closed_loop is not None and parts.closed_loop is None:
            parts.closed_loop = then.closed_loop
            decided.append("closed_loop")
        for paper in then.paperwork:
            if paper.value not in parts.paperwork:
                parts.paperwork.append(paper.value)
                if "paperwork" not in decided:
                    decided.append("paperwork")
        only_notes = not then.paperwork and all(getattr(then, name) is None for name in DECIDING)
        if decided or only_notes:
            for note in then.notes:
                if note not in parts.notes:
                    parts.notes.append(note)
                    if "notes" not in decided:
                        decided.append("notes")
        parts.matched.append(MatchedRule.model_construct(
            id=rule.id, why=why, seed=rule.seed, decided=decided, description=rule.description,
            description_zh=rule.description_zh))
        if rule.stop:
            break
    return parts


def _guard(parts: _Parts, patient: PatientFacts, zone: ZoneMatch,
           mode: TransportMode, caps: list[UnitCapability]) -> tuple[TransportMode, list[UnitCapability]]:
    if patient.critical and parts.paperwork:
        parts.paperwork.clear()
        parts.matched.append(MatchedRule(
            id="guard:critical-no-paperwork", seed="004 二",
            why="critical patients never wait for paperwork", decided=["paperwork"]))
    if patient.critical and mode not in AMBULANCE_MODES:
        mode, caps = TransportMode.AMBULANCE, [UnitCapability.AMBULANCE]
        parts.matched.append(MatchedRule(
            id="guard:critical-by-ambulance", seed="004 二",
            why="critical patients travel by 120 ambulance", decided=["transport"]))
    infectious = patient.infection_status in INFECTIOUS
    sealed_by_ambulance = zone.status == ZoneStatus.SEALED and mode in AMBULANCE_MODES
    if (infectious or patient.isolation or sealed_by_ambulance) and (
            mode != TransportMode.NEGATIVE_PRESSURE_AMBULANCE or not set(NP_CAPS) <= set(caps)):
        keep = [c for c in caps if c in (UnitCapability.ALS, UnitCapability.MONITORING)]
        mode, caps = TransportMode.NEGATIVE_PRESSURE_AMBULANCE, [*NP_CAPS, *keep]
        parts.matched.append(MatchedRule(
            id="guard:negative-pressure", seed="004 六",
            why="infected, suspected or isolated patients, and sealed-area patients carried by "
                "ambulance, need a negative-pressure unit", decided=["transport"]))
    wanted = [UnitCapability.ALS] if patient.critical else []
    if patient.critical and infectious:
        wanted.append(UnitCapability.MONITORING)
    if missing := [c for c in wanted if c not in caps]:
        caps = [*caps, *missing]
        parts.matched.append(MatchedRule(
            id="guard:critical-unit", seed="004 二, 004 六",
            why="critical patients need advanced life support, and monitoring when infected",
            decided=["transport"]))
    return mode, caps


def _pathway_unit(parts: _Parts, pathway: CompiledPathway | None, mode: TransportMode,
                  caps: list[UnitCapability]) -> tuple[TransportMode, list[UnitCapability]]:
    """The unit capabilities the pathway adds; they need an ambulance."""
    if pathway is None or not pathway.pathway.unit:
        return mode, caps
    if mode not in AMBULANCE_MODES:
        mode, caps = TransportMode.AMBULANCE, [UnitCapability.AMBULANCE]
    return mode, [*caps, *(c for c in pathway.pathway.unit if c not in caps)]


def outside_service_area(hospitals: HospitalSnapshot, lat: float, lon: float,
                         radius_km: float) -> float | None:
    """The distance to the nearest hospital when it is beyond `radius_km`, else None."""
    if not hospitals.hospitals:
        return None
    nearest = float(hospitals.distances_km(lat, lon).min())
    return nearest if nearest > radius_km else None


def _search(patient: PatientFacts, parts: _Parts, ctx: RoutingContext,
            pathway: CompiledPathway | None) -> tuple[Search, int | None, bool]:
    """Walk the deciding rule's destinations (the pathway's between its first and the rest).

    Returns the search, how many candidates the rule (and pathway) gave, and whether the
    destination had to be looked for outside the rule's first set."""
    search = Search(patient=patient, hospitals=ctx.hospitals, places=ctx.places,
                    needs=pathway.needs if pathway else frozenset())
    rule = parts.destination_rule
    strategies = list(rule.then.destination or ()) if rule is not None else []
    outside = False
    if pathway is not None:
        search.walk(strategies[:1])
        if not search.found:
            outside = search.lacking > 0  # the set had open hospitals, none with the care
            label = words.said(pathway.label_zh, pathway.label_en)
            search.walk(pathway.pathway.destination,
                        prefix=label + words.Said("：", ": ", ": "))
        search.walk(strategies[1:])
        if not search.found:
            search.walk(ctx.rules.doc.fallback, prefix=FALLBACK)
        if not search.found:
            search.take_nearest_open()
        if not search.found:  # no open hospital has the care: the rule decides as usual
            zh, en = words.capabilities(sorted(pathway.needs))
            parts.warnings.append(f"no open hospital has {en} ({zh}): routed by the rules alone")
            search.needs, search.trace = frozenset(), []
    if not search.found:
        search.walk(strategies)
    if rule is not None and not search.found:
        parts.warnings.append(f"rule {rule.id}: no open hospital among its destinations; "
                              "using the rule set's fallback")
    chosen_from = len(search.found) or None  # the destination comes from the rule if it can
    search.walk(ctx.rules.doc.fallback, prefix=FALLBACK)  # tops up the alternatives
    return search, chosen_from, outside


def _capability_guard(parts: _Parts, search: Search, destination: HospitalChoice | None,
                      pathway: CompiledPathway | None) -> HospitalChoice | None:
    """Never a hospital without the pathway's care while one with it is open."""
    if pathway is None or destination is None:
        return destination
    if pathway.needs <= _capabilities_of(search, destination.hospital_id):
        return destination
    better = search.nearest_open_with(pathway.needs)
    if better is None:
        return destination
    zh, en = words.capabilities(sorted(pathway.needs))
    parts.matched.append(MatchedRule(
        id="guard:pathway-capability", seed="003 2, 003 (就近转运至救治能力强的医疗机构)",
        why=f"{pathway.id} needs {en}; {destination.name_zh or destination.name} has none",
        decided=["destination"]))
    reason = words.said(f"最近的具备{zh}的开放医院", f"nearest open hospital with {en}")
    return HospitalChoice.model_construct(
        hospital_id=better.id, name=better.name, name_zh=better.name_zh,
        distance_km=round(search.km(better), 2), reason=reason.both, reason_zh=reason.zh,
        reason_en=reason.en, full=False)


def _capabilities_of(search: Search, hospital_id: str) -> frozenset[str]:
    hospital = search.hospitals.by_id.get(hospital_id)
    return hospital.capabilities if hospital is not None else frozenset()


def _pathway_ref(pathway: CompiledPathway, patient: PatientFacts, at: datetime, timezone: str,
                 outside: bool, unit: list[UnitCapability]) -> PathwayRef:
    zh, en = words.capabilities(sorted(pathway.needs))
    triage = patient.triage
    return PathwayRef(
        id=pathway.id, label_zh=pathway.label_zh, label_en=pathway.label_en, seed=pathway.seed,
        hospital_needs=sorted(pathway.needs), hospital_needs_words=words.both(zh, en),
        unit_needs=[c.value for c in unit], outside_rule_set=outside,
        onset_minutes=triage.onset_minutes(at) if triage else None,
        onset=onset_note(triage, at, zone_info(timezone)) if triage else None)


def evaluate(patient: PatientFacts, ctx: RoutingContext) -> Decision:
    """Decide where and how the patient goes, with the rules that matched and why."""
    zone = patient.zone
    if zone is None:
        zone = ctx.zones.lookup(patient.lat, patient.lon, ctx.at) if ctx.zones else NO_ZONE
    facts = _facts(patient, zone)
    parts = _apply_rules(ctx.rules, facts, zone)
    if ctx.service_radius_km is not None and (km := outside_service_area(
            ctx.hospitals, patient.lat, patient.lon, ctx.service_radius_km)) is not None:
        parts.warnings.append(f"outside the service area: the nearest hospital is {km:,.0f} km "
                              "away; check the location")
        return _nowhere(parts, zone, ctx)
    pathway = ctx.rules.pathway_for(facts)
    if parts.care is not None and pathway is None:  # a pathway needs a hospital
        decision = _care(parts, parts.care, patient, zone, ctx)
        if decision is not None:
            return decision
    doc = ctx.rules.doc
    search, chosen_from, outside = _search(patient, parts, ctx, pathway)
    chosen, others = search.pick(chosen_from)
    category = patient.category.value
    destination = search.choice(chosen, chosen=True) if chosen else None
    destination = _capability_guard(parts, search, destination, pathway)
    if destination is None:
        parts.warnings.append("no open hospital can take this patient")
    elif destination.full:
        parts.warnings.append(f"{destination.hospital_id} is full for {category}; {NO_REFUSAL}")

    transport = parts.transport or doc.defaults.transport
    mode, caps = _pathway_unit(parts, pathway, transport.mode, list(transport.capabilities))
    mode, caps = _guard(parts, patient, zone, mode, caps)
    closed_loop = doc.defaults.closed_loop if parts.closed_loop is None else parts.closed_loop
    notes = parts.notes
    ref = None
    if pathway is not None:
        ref = _pathway_ref(pathway, patient, ctx.at, ctx.timezone, outside,
                           list(pathway.pathway.unit))
        notes = [*pathway.pathway.notes, *([ref.onset] if ref.onset else []), *notes]
        parts.matched.insert(0, MatchedRule.model_construct(
            id=f"pathway:{pathway.id}", why=f"{pathway.label_en} ({pathway.label_zh})",
            seed=pathway.seed, decided=["destination"],
            description=f"needs {ref.hospital_needs_words}"))
    return Decision(
        outcome=parts.outcome or Outcome.TRANSPORT,
        destination=destination,
        alternatives=[search.choice(c) for c in others
                      if destination is None or c.hospital.id != destination.hospital_id],
        transport_mode=mode,
        required_unit_capabilities=caps,
        closed_loop=closed_loop,
        paperwork=parts.paperwork,
        crew_notes=notes,
        pathway=ref,
        zone=ZoneRef(id=zone.id, name=zone.name, name_zh=zone.name_zh, status=zone.status),
        matched_rules=parts.matched,
        warnings=parts.warnings,
        rule_set_version=ctx.rules.version,
        at=ctx.at,
    )


def _nowhere(parts: _Parts, zone: ZoneMatch, ctx: RoutingContext) -> Decision:
    """No decision for a point outside the service area: nothing is sent, the warning says why."""
    return Decision(
        outcome=Outcome.TRANSPORT, destination=None, transport_mode=TransportMode.AMBULANCE,
        required_unit_capabilities=[UnitCapability.AMBULANCE], closed_loop=False,
        zone=ZoneRef(id=zone.id, name=zone.name, name_zh=zone.name_zh, status=zone.status), matched_rules=[],
        warnings=parts.warnings, rule_set_version=ctx.rules.version, at=ctx.at)


ADVISORY = frozenset({"paperwork", "notes"})


def _care(parts: _Parts, care: community.CareRule, patient: PatientFacts, zone: ZoneMatch,
          ctx: RoutingContext) -> Decision | None:
    """The community care decision, or None when the patient must be transported after all."""
    isolating = community.isolating_for_referral(patient.infection_status, zone, patient.isolation)
    guard = community.refused(care, critical=patient.critical, isolating=isolating)
    if guard is not None:
        parts.matched.append(guard)
        return None
    found = community.find(care, lat=patient.lat, lon=patient.lon, zone=zone, places=ctx.places,
                           hospitals=ctx.hospitals, at=ctx.at)
    if found is None and care.rule.then.place:
        parts.warnings.append(community.missing(care))
        return None
    mode, caps = community.transport(care)
    matched, notes, paperwork = [community.matched(care)], list(care.rule.then.notes), []
    if care.outcome == Outcome.REFER:  # the caller goes out: the zone's paperwork still applies
        paperwork = parts.paperwork
        advisory = [m for m in parts.matched if m.decided and set(m.decided) <= ADVISORY]
        matched += advisory
        by_id = {r.id: r for r in ctx.rules.rules}
        notes += [n for m in advisory for n in by_id[m.id].then.notes if n not in notes]
    return Decision(
        outcome=care.outcome,
        destination=None,
        referral=community.choice(found) if found else None,
        transport_mode=mode,
        required_unit_capabilities=caps,
        closed_loop=bool(care.rule.then.closed_loop),
        paperwork=paperwork,
        crew_notes=notes,
        zone=ZoneRef(id=zone.id, name=zone.name, name_zh=zone.name_zh, status=zone.status),
        matched_rules=matched,
        warnings=parts.warnings,
        rule_set_version=ctx.rules.version,
        at=ctx.at,
    )

"""Evaluate a rule set for one patient: pure (no I/O, no clock; the time comes in).

Besides the rules, three guards hold whatever rule set is active, and name themselves in
`matched_rules` when they had to step in: critical patients never get paperwork and always
travel by ambulance; infected, suspected, sealed-area and isolated patients transported by a
unit always need a negative-pressure one. Suspended hospitals are never candidates at all.
Community care outcomes (refer, home_visit, callback_by_doctor) have guards of their own
(see `dispatch.routing.community`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch.fleet.models import UnitCapability
from dispatch.hospitals.snapshot import HospitalSnapshot, HospitalView
from dispatch.incidents.models import InfectionStatus, PatientCategory, Severity
from dispatch.places.snapshot import PlaceSnapshot
from dispatch.routing import community
from dispatch.routing.rules import (
    CompiledRule,
    CompiledRuleSet,
    DesignatedList,
    Named,
    Nearest,
    Own,
    Paired,
    Strategy,
    Transport,
)
from dispatch.routing.schemas import (
    Decision,
    HospitalChoice,
    MatchedRule,
    Outcome,
    TransportMode,
    ZoneRef,
)
from dispatch.zones.index import NO_ZONE, ZoneIndex, ZoneMatch
from dispatch.zones.models import ZoneStatus

__all__ = ["Decision", "PatientFacts", "RoutingContext", "evaluate"]

MAX_ALTERNATIVES = 5
INFECTIOUS = frozenset({InfectionStatus.CONFIRMED, InfectionStatus.SUSPECTED})
NP_CAPS = [UnitCapability.AMBULANCE, UnitCapability.NEGATIVE_PRESSURE]
NO_REFUSAL = "hospitals may not refuse for lack of beds (seed 004 三)"
NAMED_FLAGS = ("isolation", "has_certificate", "registered_hospital_id", "treating_hospital_id",
               "referred_by")


class PatientFacts(BaseModel):
    """What routing knows about a patient."""

    model_config = ConfigDict(frozen=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    severity: Severity
    category: PatientCategory = PatientCategory.ORDINARY
    infection_status: InfectionStatus = InfectionStatus.NONE
    isolation: bool = False  # 隔离观察人员: treated like sealed-area residents (seed 004 一)
    has_certificate: bool = False  # community identity certificate already issued
    registered_hospital_id: str | None = None  # 建档 hospital (pregnant women, newborns)
    treating_hospital_id: str | None = None  # original treating hospital (首诊负责制)
    referred_by: str | None = None  # the community health centre referring upward (a place id)
    flags: dict[str, bool | int | float | str] = Field(default_factory=dict)
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


@dataclass(frozen=True, slots=True)
class RoutingContext:
    rules: CompiledRuleSet
    hospitals: HospitalSnapshot
    at: datetime
    zones: ZoneIndex | None = None
    places: PlaceSnapshot | None = None


@dataclass(slots=True)
class _Candidate:
    hospital: HospitalView
    reason: str
    full: bool
    trace: tuple[str, ...]  # why the strategies before this one gave nothing


@dataclass
class _Search:
    """Walks destination strategies in order, collecting open candidates nearest first."""

    patient: PatientFacts
    hospitals: HospitalSnapshot
    places: PlaceSnapshot | None = None
    seen: set[str] = field(default_factory=set)
    found: list[_Candidate] = field(default_factory=list)
    ready: int = 0  # candidates found that are not full
    trace: list[str] = field(default_factory=list)
    _distances: npt.NDArray[np.float64] | None = None

    @property
    def distances(self) -> npt.NDArray[np.float64]:
        if self._distances is None:
            self._distances = self.hospitals.distances_km(self.patient.lat, self.patient.lon)
        return self._distances

    def km(self, h: HospitalView) -> float:
        return float(self.distances[self.hospitals.index_of[h.id]])

    @property
    def enough(self) -> bool:
        return self.ready > MAX_ALTERNATIVES

    def _nearest_first(self, positions: npt.NDArray[np.intp]) -> list[HospitalView]:
        order = positions[np.argsort(self.distances[positions], kind="stable")]
        hospitals = self.hospitals.hospitals
        return [hospitals[i] for i in order.tolist()]

    def _listed(self, strategy: Strategy) -> tuple[list[HospitalView], str]:
        p = self.patient
        if isinstance(strategy, Nearest):
            caps = "+".join(c.value for c in strategy.nearest)
            pool = self.hospitals.with_capabilities(
                frozenset(c.value for c in strategy.nearest),
                frozenset(c.value for c in strategy.exclude))
            text = f"nearest hospital with {caps}"
            if strategy.exclude:
                text += " (not " + "/".join(c.value for c in strategy.exclude) + ")"
            return self._nearest_first(pool), text
        if isinstance(strategy, DesignatedList):
            group = strategy.designated.value
            pool = self.hospitals.designated(group)
            return self._nearest_first(pool), f"designated hospital for {group}, nearest first"
        if isinstance(strategy, Own):
            wanted = p.registered_hospital_id if strategy.own == "registered" else p.treating_hospital_id
            text = f"patient's {strategy.own} hospital"
            if wanted is None:
                self.trace.append(f"no {strategy.own} hospital recorded")
                return [], text
            own = self.hospitals.by_id.get(wanted)
            if own is None:
                self.trace.append(f"{strategy.own} hospital {wanted!r} is not known")
                return [], text
            return [own], text
        if isinstance(strategy, Paired):
            return self._paired()
        assert isinstance(strategy, Named)
        named = self.hospitals.by_id.get(strategy.hospital)
        if named is None:
            self.trace.append(f"hospital {strategy.hospital!r} is not known")
        return ([named] if named else []), f"named hospital {strategy.hospital}"

    def walk(self, strategies: list[Strategy] | tuple[Strategy, ...], prefix: str = "") -> None:
        """Collect open candidates until the destination and every alternative are known."""
        category = self.patient.category.value
        critical = self.patient.critical
        for strategy in strategies:
            if self.enough:
                return
            listed, text = self._listed(strategy)
            suspended: list[str] = []
            added = 0
            for h in listed:
                if not h.open:
                    if added == 0:
                        suspended.append(h.name_zh or h.name)
                    continue
                if h.id in self.seen:
                    continue
                self.seen.add(h.id)
                full = not critical and h.full_for(category)
                reason = prefix + text
                if suspended and added == 0:
                    reason += f"; closer but {self._status(listed)}: {', '.join(suspended)}"
                self.found.append(_Candidate(h, reason, full, tuple(self.trace)))
                added += 1
                if not full:
                    self.ready += 1
                    if self.enough:
                        return
            if listed and added == 0 and suspended:
                self.trace.append(f"{text}: {', '.join(suspended)} {self._status(listed)}")
            elif not listed and isinstance(strategy, Nearest | DesignatedList):
                self.trace.append(f"{text}: none")

    def _paired(self) -> tuple[list[HospitalView], str]:
        referrer = self.patient.referred_by
        text = "paired hospital of the referring community health centre"
        if referrer is None:
            self.trace.append("no referring community health centre recorded")
            return [], text
        place = self.places.by_id.get(referrer) if self.places is not None else None
        if place is None or place.paired_hospital_id is None:
            self.trace.append(f"referring place {referrer!r} has no paired hospital")
            return [], text
        paired = self.hospitals.by_id.get(place.paired_hospital_id)
        if paired is None:
            self.trace.append(f"paired hospital {place.paired_hospital_id!r} is not known")
            return [], text
        return [paired], f"paired hospital of {place.name_zh or place.name} (000 附件)"

    @staticmethod
    def _status(listed: list[HospitalView]) -> str:
        return "suspended" if any(h.status == "suspended" for h in listed) else "not open"

    def pick(self, first: int | None = None) -> tuple[_Candidate | None, list[_Candidate]]:
        """The destination (among the first `first` candidates) and the ranked alternatives.

        Candidates full for the patient's category come after every other one.
        """
        def ranked(candidates: list[_Candidate]) -> list[_Candidate]:
            return [c for c in candidates if not c.full] + [c for c in candidates if c.full]

        chosen = next(iter(ranked(self.found[:first])), None)
        others = [c for c in ranked(self.found) if c is not chosen]
        return chosen, others[:MAX_ALTERNATIVES]


def _choice(c: _Candidate, search: _Search, category: str, *, chosen: bool = False) -> HospitalChoice:
    reason = c.reason + (f"; full for {category}, {NO_REFUSAL}" if c.full else "")
    if chosen and c.trace:
        reason = "; ".join(c.trace) + " → " + reason
    return HospitalChoice.model_construct(  # built from validated data: no need to validate
        hospital_id=c.hospital.id, name=c.hospital.name, name_zh=c.hospital.name_zh,
        distance_km=round(search.km(c.hospital), 2), reason=reason, full=c.full)


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
    return {"severity": patient.severity.value, "category": patient.category.value,
            "infection": patient.infection_status.value, "zone_status": zone.status.value,
            "flags": flags}


def _apply_rules(rules: CompiledRuleSet, facts: dict[str, Any], zone: ZoneMatch) -> _Parts:
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
        for note in then.notes:
            if note not in parts.notes:
                parts.notes.append(note)
                if "notes" not in decided:
                    decided.append("notes")
        parts.matched.append(MatchedRule.model_construct(id=rule.id, why=why, seed=rule.seed,
                                                         decided=decided))
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
    if patient.critical and mode not in (TransportMode.AMBULANCE,
                                         TransportMode.NEGATIVE_PRESSURE_AMBULANCE):
        mode, caps = TransportMode.AMBULANCE, [UnitCapability.AMBULANCE]
        parts.matched.append(MatchedRule(
            id="guard:critical-by-ambulance", seed="004 二",
            why="critical patients travel by 120 ambulance", decided=["transport"]))
    isolating = (patient.infection_status in INFECTIOUS or zone.status == ZoneStatus.SEALED
                 or patient.isolation)
    if isolating and (mode != TransportMode.NEGATIVE_PRESSURE_AMBULANCE
                      or not set(NP_CAPS) <= set(caps)):
        keep = [c for c in caps if c in (UnitCapability.ALS, UnitCapability.MONITORING)]
        mode, caps = TransportMode.NEGATIVE_PRESSURE_AMBULANCE, [*NP_CAPS, *keep]
        parts.matched.append(MatchedRule(
            id="guard:negative-pressure", seed="004 六",
            why="infected, suspected, sealed-area or isolated patients need a negative-pressure unit",
            decided=["transport"]))
    return mode, caps


def evaluate(patient: PatientFacts, ctx: RoutingContext) -> Decision:
    """Decide where and how the patient goes, with the rules that matched and why."""
    zone = patient.zone
    if zone is None:
        zone = ctx.zones.lookup(patient.lat, patient.lon, ctx.at) if ctx.zones else NO_ZONE
    parts = _apply_rules(ctx.rules, _facts(patient, zone), zone)
    if parts.care is not None:
        decision = _care(parts, parts.care, patient, zone, ctx)
        if decision is not None:
            return decision
    doc = ctx.rules.doc

    search = _Search(patient=patient, hospitals=ctx.hospitals, places=ctx.places)
    rule = parts.destination_rule
    if rule is not None and rule.then.destination:
        search.walk(rule.then.destination)
    if rule is not None and not search.found:
        parts.warnings.append(f"rule {rule.id}: no open hospital among its destinations; "
                              "using the rule set's fallback")
    chosen_from = len(search.found) or None  # the destination comes from the rule if it can
    search.walk(doc.fallback, prefix="fallback: ")  # tops up the alternatives
    chosen, others = search.pick(chosen_from)
    category = patient.category.value
    destination = _choice(chosen, search, category, chosen=True) if chosen else None
    if destination is None:
        parts.warnings.append("no open hospital can take this patient")
    elif destination.full:
        parts.warnings.append(f"{destination.hospital_id} is full for {category}; {NO_REFUSAL}")

    transport = parts.transport or doc.defaults.transport
    mode, caps = _guard(parts, patient, zone, transport.mode, list(transport.capabilities))
    closed_loop = doc.defaults.closed_loop if parts.closed_loop is None else parts.closed_loop
    return Decision(
        outcome=parts.outcome or Outcome.TRANSPORT,
        destination=destination,
        alternatives=[_choice(c, search, category) for c in others],
        transport_mode=mode,
        required_unit_capabilities=caps,
        closed_loop=closed_loop,
        paperwork=parts.paperwork,
        crew_notes=parts.notes,
        zone=ZoneRef(id=zone.id, name=zone.name, status=zone.status),
        matched_rules=parts.matched,
        warnings=parts.warnings,
        rule_set_version=ctx.rules.version,
        at=ctx.at,
    )


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
        zone=ZoneRef(id=zone.id, name=zone.name, status=zone.status),
        matched_rules=matched,
        warnings=parts.warnings,
        rule_set_version=ctx.rules.version,
        at=ctx.at,
    )

"""The rule-set language: YAML in, a validated and compiled rule set out (pure).

A rule set is read top to bottom. Each rule whose `when` matches the patient contributes to
the decision: for `outcome`, `destination`, `transport` and `closed_loop` the first matching
rule that sets one decides it; `paperwork` and `notes` are gathered from every matching rule.
`stop: true` ends the reading. What no rule sets comes from `defaults`; a destination whose
strategies find no open hospital falls through to `fallback`.

A pathway (stroke, chest pain, major trauma, …) names the hospital capabilities and unit
capabilities its patients need; the first pathway whose `when` matches is the patient's. A
patient on a pathway goes where the deciding rule sends them only if that hospital has the
capabilities: the rule's first destination (the set a zone or group restricts to, e.g. the
yellow-code hospital) is searched for one that has them, then the pathway's own destinations,
then the rule's other destinations and the fallback, every one filtered the same way (see
dispatch.routing.engine).

A rule whose outcome is not `transport` (refer, home_visit, callback_by_doctor) is a plan of
its own: its `place`, `transport`, `closed_loop` and `notes` apply only if it is taken, and the
rules after it still decide the transport the patient gets should no open place be found.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

from dispatch.fleet.enums import UnitCapability
from dispatch.hospitals.enums import Designation, HospitalCapability
from dispatch.incidents.enums import InfectionStatus, PatientCategory, Severity
from dispatch.incidents.triage import ComplaintProtocol
from dispatch.places.enums import PlaceKind, PlaceService
from dispatch.routing.schemas import Outcome, Paperwork, TransportMode
from dispatch.zones.enums import ZoneStatus

RULE_ID = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
FlagValue = bool | int | float | str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Destination strategies: each yields hospitals in order; suspended ones are never taken.
class Nearest(Strict):
    """The nearest hospitals having every capability listed (and none of `exclude`)."""

    nearest: list[HospitalCapability] = Field(min_length=1)
    exclude: list[HospitalCapability] = Field(default_factory=list)


class DesignatedList(Strict):
    """The hospitals designated for a group of patients (seed 000), nearest first."""

    designated: Designation


class Own(Strict):
    """The patient's own hospital: registered (建档) or treating (原治疗/首诊)."""

    own: Literal["registered", "treating"]


class Named(Strict):
    """One hospital by id."""

    hospital: str = Field(min_length=1, max_length=64)


class Paired(Strict):
    """The paired tertiary hospital of the community health centre referring the patient (000 附件)."""

    paired: Literal["referring"]


def _strategy_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        for key in ("nearest", "designated", "own", "hospital", "paired"):
            if key in value:
                return key
    return None


Strategy = Annotated[
    Annotated[Nearest, Tag("nearest")] | Annotated[DesignatedList, Tag("designated")]
    | Annotated[Own, Tag("own")] | Annotated[Named, Tag("hospital")]
    | Annotated[Paired, Tag("paired")],
    Discriminator(
        _strategy_kind, custom_error_type="destination",
        custom_error_message="a destination is one of {nearest: [capability, …]}, "
        "{designated: group}, {own: registered|treating}, {paired: referring} or {hospital: id}",
    ),
]


class PlaceSearch(Strict):
    """The open place of a kind serving the patient's zone or area, else the nearest open one.

    `offering`: it must offer these services; `hospitals_with`: open hospitals having these
    capabilities count as places of the kind too (a hospital's own fever clinic);
    `serving_only`: only a place serving the patient's zone or area will do.
    """

    kind: PlaceKind
    offering: list[PlaceService] = Field(default_factory=list)
    hospitals_with: list[HospitalCapability] = Field(default_factory=list)
    serving_only: bool = False

# Unit capabilities each transport mode must (and must not) ask for.
MODE_NEEDS: dict[TransportMode, tuple[frozenset[str], frozenset[str]]] = {
    TransportMode.AMBULANCE: (frozenset({"ambulance"}), frozenset({"negative_pressure", "closed_loop"})),
    TransportMode.NEGATIVE_PRESSURE_AMBULANCE: (
        frozenset({"ambulance", "negative_pressure"}), frozenset({"closed_loop"})),
    TransportMode.CLOSED_LOOP_VEHICLE: (
        frozenset({"closed_loop"}), frozenset({"ambulance", "negative_pressure"})),
    TransportMode.SELF_TRAVEL: (frozenset(), frozenset(c.value for c in UnitCapability)),
    TransportMode.HOME_VISIT: (frozenset({"home_visit"}),
                               frozenset({"ambulance", "negative_pressure", "closed_loop"})),
    TransportMode.NONE: (frozenset(), frozenset(c.value for c in UnitCapability)),
}
# What a pathway may add to the ambulance a rule gives (the rules choose the kind of unit).
PATHWAY_UNIT = frozenset({"als", "monitoring"})
# The transport modes each outcome allows, the first being its default.
OUTCOME_MODES: dict[Outcome, tuple[TransportMode, ...]] = {
    Outcome.TRANSPORT: (TransportMode.AMBULANCE, TransportMode.NEGATIVE_PRESSURE_AMBULANCE,
                        TransportMode.CLOSED_LOOP_VEHICLE, TransportMode.SELF_TRAVEL),
    Outcome.REFER: (TransportMode.SELF_TRAVEL, TransportMode.CLOSED_LOOP_VEHICLE),
    Outcome.HOME_VISIT: (TransportMode.HOME_VISIT,),
    Outcome.CALLBACK_BY_DOCTOR: (TransportMode.NONE,),
}


class Transport(Strict):
    mode: TransportMode
    capabilities: list[UnitCapability] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Transport:
        needs, forbids = MODE_NEEDS[self.mode]
        have = {c.value for c in self.capabilities}
        if missing := sorted(needs - have):
            raise ValueError(f"{self.mode.value} needs unit capabilities {missing}")
        if wrong := sorted(forbids & have):
            raise ValueError(f"{self.mode.value} cannot ask for unit capabilities {wrong}")
        return self


class When(Strict):
    """Every condition given must hold; a list means any of its values. `any`: one branch holds."""

    zone_status: list[ZoneStatus] | None = Field(default=None, min_length=1)
    severity: list[Severity] | None = Field(default=None, min_length=1)
    category: list[PatientCategory] | None = Field(default=None, min_length=1)
    infection: list[InfectionStatus] | None = Field(default=None, min_length=1)
    complaint: list[ComplaintProtocol] | None = Field(default=None, min_length=1)
    flags: dict[str, FlagValue] | None = Field(default=None, min_length=1)
    any: list[When] | None = Field(default=None, min_length=1)


class Then(Strict):
    outcome: Outcome | None = None
    destination: list[Strategy] | None = Field(default=None, min_length=1)
    place: list[PlaceSearch] | None = Field(default=None, min_length=1)
    transport: Transport | None = None
    closed_loop: bool | None = None
    paperwork: list[Paperwork] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Rule(Strict):
    id: str = Field(pattern=RULE_ID)
    seed: str = Field(min_length=1, max_length=200, description="Seed document and clause.")
    description: str | None = None
    description_zh: str | None = Field(default=None, description="the description in Chinese")
    when: When = Field(default_factory=When)
    then: Then
    stop: bool = False


class Pathway(Strict):
    """A clinical pathway: whom it is for, the hospital care and the unit they need."""

    id: str = Field(pattern=RULE_ID)
    seed: str = Field(min_length=1, max_length=200, description="Seed document and clause.")
    label_zh: str = Field(min_length=1, max_length=40)
    label_en: str = Field(min_length=1, max_length=60)
    when: When
    hospital: list[HospitalCapability] = Field(
        min_length=1, description="capabilities the receiving hospital must have, every one")
    destination: list[Strategy] = Field(
        min_length=1, description="where to look when the deciding rule's set has none with them")
    unit: list[UnitCapability] = Field(
        default_factory=list, description="unit capabilities added to the transport's (ambulance)")
    notes: list[str] = Field(default_factory=list)


class Defaults(Strict):
    transport: Transport
    closed_loop: bool = False


class RuleSetDoc(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    defaults: Defaults
    fallback: list[Strategy] = Field(min_length=1)
    pathways: list[Pathway] = Field(default_factory=list)
    rules: list[Rule] = Field(min_length=1)


class RuleSetInvalid(Exception):
    """A rule set rejected whole; each error names the offending rule and field."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


def _path(loc: tuple[Any, ...], raw: Any) -> str:
    """`rules[3] (critical-sealed).when.severity[0]` from a pydantic location."""
    out, node = "", raw
    for k, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if (out.startswith(("rules[", "pathways[")) and out.count("[") == 1
                    and isinstance(node, dict)):
                out += f" ({node.get('id', '?')})"
        elif (k >= 2 and isinstance(loc[k - 1], int)
              and loc[k - 2] in ("destination", "fallback")):
            continue  # the strategy's tag, which pydantic adds before the strategy's own fields
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def _semantic_errors(doc: RuleSetDoc) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, rule in enumerate(doc.rules):
        where = f"rules[{i}] ({rule.id})"
        if rule.id in seen:
            errors.append({"field": f"{where}.id", "message": f"duplicate rule id {rule.id!r}"})
        seen.add(rule.id)
        severities = rule.when.severity
        if rule.then.paperwork and (severities is None or Severity.CRITICAL in severities):
            errors.append({
                "field": f"{where}.then.paperwork",
                "message": "a rule asking for paperwork must limit `when.severity` to non-critical "
                           "patients (seed 004 二: critical patients never wait for paperwork)",
            })
        errors += _outcome_errors(rule, where)
    seen_pathways: set[str] = set()
    for i, pathway in enumerate(doc.pathways):
        where = f"pathways[{i}] ({pathway.id})"
        if pathway.id in seen_pathways:
            errors.append({"field": f"{where}.id", "message": f"duplicate pathway id {pathway.id!r}"})
        seen_pathways.add(pathway.id)
        if wrong := sorted(c.value for c in pathway.unit if c.value not in PATHWAY_UNIT):
            errors.append({"field": f"{where}.unit", "message": f"a pathway adds only "
                           f"{sorted(PATHWAY_UNIT)} to an ambulance, not {wrong}"})
    if doc.defaults.transport.mode not in OUTCOME_MODES[Outcome.TRANSPORT]:
        errors.append({"field": "defaults.transport.mode",
                       "message": f"{doc.defaults.transport.mode.value} does not take a patient anywhere"})
    return errors


def _outcome_errors(rule: Rule, where: str) -> list[dict[str, str]]:
    then, errors = rule.then, []
    outcome = then.outcome or Outcome.TRANSPORT
    if then.transport is not None and then.transport.mode not in OUTCOME_MODES[outcome]:
        allowed = ", ".join(m.value for m in OUTCOME_MODES[outcome])
        errors.append({"field": f"{where}.then.transport.mode",
                       "message": f"outcome {outcome.value} travels by one of: {allowed}"})
    if outcome == Outcome.TRANSPORT:
        if then.place is not None:
            errors.append({"field": f"{where}.then.place",
                           "message": "a place is for outcomes refer, home_visit or callback_by_doctor"})
        return errors
    severities = rule.when.severity
    if severities is None or Severity.CRITICAL in severities:
        errors.append({"field": f"{where}.when.severity",
                       "message": f"outcome {outcome.value} must limit `when.severity` to non-critical "
                                  "patients (critical patients go by 120 ambulance, 004 二)"})
    if then.place is None and outcome != Outcome.CALLBACK_BY_DOCTOR:
        errors.append({"field": f"{where}.then.place",
                       "message": f"outcome {outcome.value} needs a place to send the caller to"})
    for name in ("destination", "paperwork"):
        if getattr(then, name):
            errors.append({"field": f"{where}.then.{name}",
                           "message": f"outcome {outcome.value} sends nobody to a hospital"})
    if rule.stop:
        errors.append({"field": f"{where}.stop", "message": "a community care rule may not stop the "
                       "reading: the rules after it decide the transport if no place is open"})
    return errors


def parse(source: str) -> RuleSetDoc:
    """Read and validate a YAML rule set; raise RuleSetInvalid naming each bad rule."""
    try:
        raw = yaml.safe_load(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(source)"
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise RuleSetInvalid([{"field": where, "message": str(problem)}]) from None
    if not isinstance(raw, dict):
        raise RuleSetInvalid([{"field": "(top level)",
                               "message": "a rule set is a mapping: name, defaults, fallback, rules"}])
    try:
        doc = RuleSetDoc.model_validate(raw)
    except ValidationError as error:
        raise RuleSetInvalid([
            {"field": _path(e["loc"], raw), "message": e["msg"].removeprefix("Value error, ")}
            for e in error.errors()
        ]) from None
    if errors := _semantic_errors(doc):
        raise RuleSetInvalid(errors)
    return doc


def named_hospitals(doc: RuleSetDoc) -> list[tuple[str, str]]:
    """(field, hospital id) of every hospital a rule names, to check they exist."""
    found = [(f"fallback[{i}].hospital", s.hospital)
             for i, s in enumerate(doc.fallback) if isinstance(s, Named)]
    for i, rule in enumerate(doc.rules):
        for j, s in enumerate(rule.then.destination or ()):
            if isinstance(s, Named):
                found.append((f"rules[{i}] ({rule.id}).then.destination[{j}].hospital", s.hospital))
    for i, pathway in enumerate(doc.pathways):
        for j, s in enumerate(pathway.destination):
            if isinstance(s, Named):
                found.append((f"pathways[{i}] ({pathway.id}).destination[{j}].hospital", s.hospital))
    return found


@dataclass(frozen=True, slots=True)
class CompiledWhen:
    """A `when` as plain sets: cheap to test for every patient, explained only when it holds."""

    checks: tuple[tuple[str, frozenset[str]], ...]  # (fact, allowed values)
    flags: tuple[tuple[str, FlagValue, FlagValue | None], ...]  # (flag, wanted, value if absent)
    branches: tuple[CompiledWhen, ...]

    def matches(self, facts: dict[str, Any]) -> bool:
        for fact, allowed in self.checks:
            if facts[fact] not in allowed:
                return False
        if self.flags:
            given = facts["flags"]
            for name, wanted, absent in self.flags:
                if given.get(name, absent) != wanted:
                    return False
        return not self.branches or any(b.matches(facts) for b in self.branches)

    def reasons(self, facts: dict[str, Any]) -> list[str]:
        """Why it holds, e.g. ["severity=critical", "zone_status=sealed"] (call after `matches`)."""
        out = [f"{fact}={facts[fact]}" for fact, _ in self.checks]
        out += [f"{name}={str(wanted).lower() if isinstance(wanted, bool) else wanted}"
                for name, wanted, _ in self.flags]
        for branch in self.branches:
            if branch.matches(facts):
                out += branch.reasons(facts)
                break
        return out


def compile_when(when: When) -> CompiledWhen:
    checks = tuple(
        (fact, frozenset(str(v) for v in values))
        for fact, values in (("severity", when.severity), ("category", when.category),
                             ("infection", when.infection), ("zone_status", when.zone_status),
                             ("complaint", when.complaint))
        if values is not None
    )
    flags = tuple((name, value, False if isinstance(value, bool) else None)
                  for name, value in (when.flags or {}).items())
    return CompiledWhen(checks=checks, flags=flags,
                        branches=tuple(compile_when(b) for b in when.any or ()))


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    seed: str
    then: Then
    stop: bool
    when: CompiledWhen
    description: str | None = None
    description_zh: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledPathway:
    id: str
    seed: str
    label_zh: str
    label_en: str
    needs: frozenset[str]  # hospital capabilities
    pathway: Pathway
    when: CompiledWhen


@dataclass(frozen=True, slots=True)
class CompiledRuleSet:
    version: int
    name: str
    checksum: str
    doc: RuleSetDoc
    rules: tuple[CompiledRule, ...]
    pathways: tuple[CompiledPathway, ...] = ()

    def pathway_for(self, facts: dict[str, Any]) -> CompiledPathway | None:
        """The patient's pathway: the first whose `when` matches."""
        return next((p for p in self.pathways if p.when.matches(facts)), None)

    @property
    def rule_ids(self) -> list[str]:
        return [r.id for r in self.rules]


def checksum(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def compile_rule_set(doc: RuleSetDoc, *, version: int, source_checksum: str = "") -> CompiledRuleSet:
    return CompiledRuleSet(
        version=version, name=doc.name, checksum=source_checksum, doc=doc,
        rules=tuple(CompiledRule(id=r.id, seed=r.seed, then=r.then, stop=r.stop,
                                 when=compile_when(r.when), description=r.description,
                                 description_zh=r.description_zh)
                    for r in doc.rules),
        pathways=tuple(CompiledPathway(
            id=p.id, seed=p.seed, label_zh=p.label_zh, label_en=p.label_en,
            needs=frozenset(c.value for c in p.hospital), pathway=p, when=compile_when(p.when))
            for p in doc.pathways),
    )


def load(source: str, *, version: int) -> CompiledRuleSet:
    """Parse, validate and compile in one step."""
    return compile_rule_set(parse(source), version=version, source_checksum=checksum(source))

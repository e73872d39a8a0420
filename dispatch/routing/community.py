"""Community care outcomes (refer, home_visit, callback_by_doctor): find the place; pure.

A rule with such an outcome is taken only when an open place is found for it; otherwise the
transport the other rules decided stands, with a warning. Two guards hold whatever the rule
set: critical patients are always transported (004 二), and sealed-area, isolated or
confirmed-infected patients are never told to make their own way to a place (004 一, 六).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatch.fleet.enums import UnitCapability
from dispatch.hospitals.snapshot import HospitalSnapshot
from dispatch.incidents.enums import InfectionStatus
from dispatch.places.snapshot import Found, PlaceSnapshot, compass
from dispatch.routing import words
from dispatch.routing.rules import OUTCOME_MODES, CompiledRule, Transport
from dispatch.routing.schemas import MatchedRule, Outcome, PlaceChoice, TransportMode
from dispatch.zones.enums import ZoneStatus
from dispatch.zones.index import ZoneMatch


@dataclass(frozen=True, slots=True)
class CareRule:
    """The first matching rule with a community care outcome, and why it matched."""

    rule: CompiledRule
    why: str

    @property
    def outcome(self) -> Outcome:
        assert self.rule.then.outcome is not None
        return self.rule.then.outcome


def refused(care: CareRule, *, critical: bool, isolating: bool) -> MatchedRule | None:
    """The guard that keeps this patient on the transport path, if one must."""
    if critical:
        return MatchedRule(id="guard:critical-transport", seed="004 二", decided=["outcome"],
                           why=f"critical patients go by 120 ambulance, not {care.outcome.value}")
    if isolating and care.outcome == Outcome.REFER:
        return MatchedRule(id="guard:no-referral-when-isolating", seed="004 一, 004 六",
                           decided=["outcome"],
                           why="sealed-area, isolated or infected patients do not travel on their own")
    return None


def isolating_for_referral(infection: InfectionStatus, zone: ZoneMatch, isolation: bool) -> bool:
    # Suspected (fever) patients outside sealed areas may go to a fever clinic themselves (003).
    return infection == InfectionStatus.CONFIRMED or zone.status == ZoneStatus.SEALED or isolation


def find(
    care: CareRule, *, lat: float, lon: float, zone: ZoneMatch, places: PlaceSnapshot | None,
    hospitals: HospitalSnapshot, at: datetime,
) -> Found | None:
    """The place for this rule: its searches in order, the first that finds an open place."""
    if places is None:
        return None
    zone_ids = zone.overlapping or ((zone.id,) if zone.id else ())
    for search in care.rule.then.place or ():
        found = places.find(
            search.kind.value, lat=lat, lon=lon, at=at, zone_ids=zone_ids,
            offering=frozenset(s.value for s in search.offering), hospitals=hospitals,
            hospitals_with=frozenset(c.value for c in search.hospitals_with),
            serving_only=search.serving_only)
        if found is not None:
            return found
    return None


def missing(care: CareRule) -> str:
    kinds = " or ".join(s.kind.value.replace("_", " ") for s in care.rule.then.place or ())
    return f"rule {care.rule.id}: no open {kinds}; the patient is routed as a transport instead"


SERVING_ZH = {"zone": "区域", "sub-district": "街道"}


def why_place(found: Found) -> words.Said:
    """Why this place: it serves the patient's zone or sub-district, or it is the nearest open."""
    kind = found.place.kind
    zh_kind, en_kind = words.PLACE_KIND.get(kind, (kind, kind.replace("_", " ")))
    if found.serving:
        what, _, which = found.serving.partition(" ")
        reason = words.english(f"服务患者所在{SERVING_ZH.get(what, what)}（{which}）的{zh_kind}",
                               f"{en_kind} serving the patient's {found.serving}")
    else:
        reason = words.english(f"最近的开放{zh_kind}", f"nearest open {en_kind}")
    if found.closed_closer:
        names = words.joined(words.name(p.name_zh, p.name) for p in found.closed_closer)
        reason += words.Said(f"；更近的{names.zh}已关闭或不在开放时间",
                             f"; closer but closed or out of hours: {names.en}",
                             f"; closer but closed or out of hours: {names.both}")
    return reason


def choice(found: Found) -> PlaceChoice:
    p = found.place
    reason = why_place(found)
    direction = compass(found.bearing_deg)
    directions = f"{found.distance_km:.1f} km {direction}"
    if p.address:
        directions += f", {p.address}"
    if p.location_approximate:
        directions += " (location approximate)"
    return PlaceChoice(
        place_id=None if p.hospital_id else p.id, hospital_id=p.hospital_id, kind=p.kind,
        name=p.name, name_zh=p.name_zh, phone=p.phone, hours=p.hours_text, address=p.address,
        lat=p.lat, lon=p.lon, location_approximate=p.location_approximate,
        distance_km=found.distance_km, bearing_deg=found.bearing_deg, direction=direction,
        directions=directions, unit_id=p.unit_id, served_zone_id=p.served_zone_id,
        reason=reason.both, reason_zh=reason.zh, reason_en=reason.en,
    )


def transport(care: CareRule) -> tuple[TransportMode, list[UnitCapability]]:
    """How the caller (or the visiting team) travels: the rule's, else the outcome's default."""
    chosen: Transport | None = care.rule.then.transport
    if chosen is not None:
        return chosen.mode, list(chosen.capabilities)
    mode = OUTCOME_MODES[care.outcome][0]
    return mode, [UnitCapability.HOME_VISIT] if mode == TransportMode.HOME_VISIT else []


def matched(care: CareRule) -> MatchedRule:
    then = care.rule.then
    decided = ["outcome", "place", "transport"]
    if then.closed_loop is not None:
        decided.append("closed_loop")
    if then.notes:
        decided.append("notes")
    return MatchedRule.model_construct(id=care.rule.id, why=care.why, seed=care.rule.seed,
                                       decided=decided, description=care.rule.description,
                                       description_zh=care.rule.description_zh)

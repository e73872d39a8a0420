"""The hospital search of one decision: destination strategies walked in order (pure).

Suspended hospitals are never candidates. When the patient's pathway needs hospital
capabilities (`needs`), a hospital lacking one is passed over and the trace says so, so the
explanation can tell the call-taker why the zone's usual hospital was not taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dispatch.hospitals.snapshot import HospitalSnapshot, HospitalView
from dispatch.places.snapshot import PlaceSnapshot
from dispatch.routing import words
from dispatch.routing.rules import DesignatedList, Named, Nearest, Own, Paired, Strategy
from dispatch.routing.schemas import HospitalChoice
from dispatch.routing.words import Said

MAX_ALTERNATIVES = 5
NO_REFUSAL = "hospitals may not refuse for lack of beds (seed 004 三)"
NO_REFUSAL_ZH = "医院不得以床位不足为由拒收（种子004 三）"
STATUS = {"suspended": ("已停诊", "suspended"), "not open": ("未开放", "not open")}


class Patient(Protocol):
    """What the search reads of the patient."""

    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...
    @property
    def critical(self) -> bool: ...
    @property
    def category_value(self) -> str: ...
    @property
    def registered_hospital_id(self) -> str | None: ...
    @property
    def treating_hospital_id(self) -> str | None: ...
    @property
    def referred_by(self) -> str | None: ...


@dataclass(slots=True)
class Candidate:
    hospital: HospitalView
    reason: Said
    full: bool
    trace: tuple[Said, ...]  # why the strategies before this one gave nothing


@dataclass
class Search:
    """Walks destination strategies in order, collecting open candidates nearest first."""

    patient: Patient
    hospitals: HospitalSnapshot
    places: PlaceSnapshot | None = None
    needs: frozenset[str] = frozenset()  # hospital capabilities the patient's pathway needs
    seen: set[str] = field(default_factory=set)
    found: list[Candidate] = field(default_factory=list)
    ready: int = 0  # candidates found that are not full
    lacking: int = 0  # open hospitals passed over for lack of the care the pathway needs
    trace: list[Said] = field(default_factory=list)
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

    def _listed(self, strategy: Strategy) -> tuple[list[HospitalView], Said]:
        p = self.patient
        if isinstance(strategy, Nearest):
            pool = self.hospitals.with_capabilities(
                frozenset(c.value for c in strategy.nearest),
                frozenset(c.value for c in strategy.exclude))
            return self._nearest_first(pool), words.nearest(
                [c.value for c in strategy.nearest], [c.value for c in strategy.exclude])
        if isinstance(strategy, DesignatedList):
            group = strategy.designated.value
            zh, en = words.DESIGNATION.get(group, (group, group))
            return (self._nearest_first(self.hospitals.designated(group)),
                    words.said(f"{zh}，由近及远", f"{en}, nearest first"))
        if isinstance(strategy, Own):
            wanted = p.registered_hospital_id if strategy.own == "registered" else p.treating_hospital_id
            text = words.OWN[strategy.own]
            if wanted is None:
                self.trace.append(words.english(f"未登记{text.zh}", f"no {strategy.own} hospital recorded"))
                return [], text
            own = self.hospitals.by_id.get(wanted)
            if own is None:
                self.trace.append(words.english(f"{text.zh} {wanted} 不在系统中",
                                                f"{strategy.own} hospital {wanted!r} is not known"))
                return [], text
            return [own], text
        if isinstance(strategy, Paired):
            return self._paired()
        assert isinstance(strategy, Named)
        named = self.hospitals.by_id.get(strategy.hospital)
        if named is None:
            self.trace.append(words.english(f"医院 {strategy.hospital} 不在系统中",
                                            f"hospital {strategy.hospital!r} is not known"))
        return ([named] if named else []), words.english(f"指定医院 {strategy.hospital}",
                                                         f"named hospital {strategy.hospital}")

    def walk(self, strategies: list[Strategy] | tuple[Strategy, ...], prefix: Said | None = None) -> None:
        """Collect open candidates until the destination and every alternative are known."""
        category = self.patient.category_value
        critical = self.patient.critical
        for strategy in strategies:
            if self.enough:
                return
            listed, text = self._listed(strategy)
            suspended: list[Said] = []
            lacking: list[Said] = []
            added = 0
            for h in listed:
                if not h.open:
                    if added == 0:
                        suspended.append(words.name(h.name_zh, h.name))
                    continue
                if not self.needs <= h.capabilities:
                    lacking.append(words.name(h.name_zh, h.name))
                    self.lacking += 1
                    continue
                if h.id in self.seen:
                    continue
                self.seen.add(h.id)
                full = not critical and h.full_for(category)
                reason = prefix + text if prefix is not None else text
                if suspended and added == 0:
                    zh, en = STATUS[self._status(listed)]
                    reason += words.english(f"；更近的{words.joined(suspended).zh}{zh}",
                                            f"; closer but {en}: {words.joined(suspended).en}")
                self.found.append(Candidate(h, reason, full, tuple(self.trace)))
                added += 1
                if not full:
                    self.ready += 1
                    if self.enough:
                        return
            if listed and added == 0 and lacking:
                zh, en = words.capabilities(sorted(self.needs))
                names = words.joined(lacking[:3])
                self.trace.append(text + Said(f"：{names.zh} 不具备{zh}", f": {names.en} has no {en}",
                                              f": {names.both} 不具备{zh} (has no {en})"))
            elif listed and added == 0 and suspended:
                zh, en = STATUS[self._status(listed)]
                names = words.joined(suspended)
                self.trace.append(text + Said(f"：{names.zh}{zh}", f": {names.en} {en}",
                                              f": {names.both} {en}"))
            elif not listed and isinstance(strategy, Nearest | DesignatedList):
                self.trace.append(text + words.english("：无", ": none"))

    def _paired(self) -> tuple[list[HospitalView], Said]:
        referrer = self.patient.referred_by
        text = words.english("转诊社区卫生服务中心的对口医院",
                             "paired hospital of the referring community health centre")
        if referrer is None:
            self.trace.append(words.english("未登记转诊的社区卫生服务中心",
                                            "no referring community health centre recorded"))
            return [], text
        place = self.places.by_id.get(referrer) if self.places is not None else None
        if place is None or place.paired_hospital_id is None:
            self.trace.append(words.english(f"转诊机构 {referrer} 没有对口医院",
                                            f"referring place {referrer!r} has no paired hospital"))
            return [], text
        paired = self.hospitals.by_id.get(place.paired_hospital_id)
        if paired is None:
            self.trace.append(words.english(f"对口医院 {place.paired_hospital_id} 不在系统中",
                                            f"paired hospital {place.paired_hospital_id!r} is not known"))
            return [], text
        referring = words.name(place.name_zh, place.name)
        return [paired], Said(f"{referring.zh}的对口医院 (000 附件)",
                              f"paired hospital of {referring.en} (seed 000, annex)",
                              f"paired hospital of {referring.both} (000 附件)")

    @staticmethod
    def _status(listed: list[HospitalView]) -> str:
        return "suspended" if any(h.status == "suspended" for h in listed) else "not open"

    def pick(self, first: int | None = None) -> tuple[Candidate | None, list[Candidate]]:
        """The destination (among the first `first` candidates) and the ranked alternatives.

        Candidates full for the patient's category come after every other one.
        """
        def ranked(candidates: list[Candidate]) -> list[Candidate]:
            return [c for c in candidates if not c.full] + [c for c in candidates if c.full]

        chosen = next(iter(ranked(self.found[:first])), None)
        others = [c for c in ranked(self.found) if c is not chosen]
        return chosen, others[:MAX_ALTERNATIVES]

    def nearest_open_with(self, needs: frozenset[str]) -> HospitalView | None:
        """The nearest open hospital having every capability in `needs`."""
        return next((h for h in self._nearest_first(self.hospitals.with_capabilities(needs))
                     if h.open), None)

    def take_nearest_open(self) -> None:
        """The nearest open hospital with the care the pathway needs, wherever it is."""
        best = self.nearest_open_with(self.needs) if self.needs else None
        if best is not None and best.id not in self.seen:
            zh, en = words.capabilities(sorted(self.needs))
            self.seen.add(best.id)
            self.found.append(Candidate(best, words.said(f"最近的具备{zh}的开放医院",
                                                         f"nearest open hospital with {en}"),
                                        False, tuple(self.trace)))
            self.ready += 1

    def choice(self, c: Candidate, *, chosen: bool = False) -> HospitalChoice:
        category = self.patient.category_value
        reason = c.reason
        if c.full:
            reason += words.english(f"；{words.CATEGORY.get(category, category)}床位已满，{NO_REFUSAL_ZH}",
                                    f"; full for {category}, {NO_REFUSAL}")
        if chosen and c.trace:
            reason = words.joined(c.trace, "；", "; ") + " → " + reason
        return HospitalChoice.model_construct(  # built from validated data: no need to validate
            hospital_id=c.hospital.id, name=c.hospital.name, name_zh=c.hospital.name_zh,
            distance_km=round(self.km(c.hospital), 2), reason=reason.both, reason_zh=reason.zh,
            reason_en=reason.en, full=c.full)

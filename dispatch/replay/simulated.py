"""Unit timelines for a stream that has none, drawn from the bundled San Francisco stream.

Each medical call gets one ambulance whose intervals (entry to dispatch, to en route, to on
scene, to transporting, to at hospital, to available) are those of one San Francisco ambulance
response picked at random among the responses that ran the whole state machine, so the
intervals keep their joint distribution (a long scene time goes with its transport).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from itertools import pairwise

from dispatch.replay.stream import MILESTONES, CallRecord, CallStream, UnitTimes

SIMULATED_UNIT = "simulated"  # crews pick a recommended unit; this id names none


@dataclass(frozen=True)
class Intervals:
    """Whole responses as steps in seconds: entry → dispatched, then between milestones."""

    steps: tuple[tuple[float, ...], ...]
    source: str

    @classmethod
    def of(cls, stream: CallStream) -> Intervals:
        """Every ambulance response of `stream` with all six milestones, in order."""
        steps = []
        for call in stream.calls:
            for unit in call.units:
                times = [getattr(unit, m) for m in MILESTONES]
                if any(t is None for t in times):
                    continue
                entered = min(call.entered_s or 0.0, times[0])
                steps.append((times[0] - entered,
                              *(later - earlier for earlier, later in pairwise(times))))
        if not steps:
            raise ValueError(f"{stream.header.name}: no unit ran the whole state machine")
        return cls(tuple(steps), stream.header.name)

    def draw(self, call: CallRecord, rng: random.Random) -> UnitTimes:
        """One ambulance's timeline for `call`, from a response picked at random."""
        steps = rng.choice(self.steps)
        at = call.entered_s or 0.0
        values = {}
        for milestone, step in zip(MILESTONES, steps, strict=True):
            at += step
            values[milestone] = round(at, 1)
        return UnitTimes(id=SIMULATED_UNIT, **values)


def has_unit_times(stream: CallStream) -> bool:
    """True when some unit of the stream has a dispatch time its crew can follow."""
    return any(unit.dispatched_s is not None for call in stream.calls for unit in call.units)


def with_crews(stream: CallStream, intervals: Intervals, *, seed: int) -> CallStream:
    """The stream with one simulated ambulance timeline on every medical call."""
    rng = random.Random(seed)
    calls = tuple(c.model_copy(update={"units": (intervals.draw(c, rng),)}) if c.medical else c
                  for c in stream.calls)
    note = (f"unit timelines: one ambulance per medical call, intervals drawn from "
            f"{intervals.source} ({len(intervals.steps)} responses)")
    return replace(stream, calls=calls, simulated=(*stream.simulated, note))

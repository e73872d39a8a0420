"""When the demo's callers ring: the hour-of-day pattern of the bundled San Francisco week.

The replay's copy of the SF Fire Department week (`loadtests/data/callstreams/`, read by
dispatch/replay/adapters/sf.py) gives each hour of the day its share of the medical calls, in
San Francisco's local time. The demo applies those shares to its own local hours, scaled so
that the day's mean is the configured rate, with a floor so that no hour is dead (a newcomer
sees calls ring at 4 a.m. too). Arrivals are a Poisson process whose rate follows the hour,
drawn by thinning (exact for a rate that is constant within each hour).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, tzinfo

HOURS = 24
FLAT: tuple[float, ...] = (1.0,) * HOURS
FLOOR_SHARE = 0.5  # no hour below half the day's mean rate
FIRST_RING_SECONDS = 20.0  # the first generated call rings within this of the start


def hourly_weights(rung_at: Iterable[datetime], timezone: tzinfo) -> tuple[float, ...]:
    """Each local hour's calls over the mean hour's (24 weights averaging 1); flat if none."""
    counts = [0] * HOURS
    for at in rung_at:
        counts[at.astimezone(timezone).hour] += 1
    total = sum(counts)
    if total == 0:
        return FLAT
    return tuple(c * HOURS / total for c in counts)


def with_floor(weights: Sequence[float], floor: float = FLOOR_SHARE) -> tuple[float, ...]:
    """The weights raised to at least `floor` and scaled down elsewhere so that they still
    average 1 (the day's mean rate is kept)."""
    if floor >= 1.0:
        return FLAT

    def mean(scale: float) -> float:
        return sum(max(scale * w, floor) for w in weights) / len(weights)

    low, high = 0.0, 1.0  # mean(0) = floor < 1 <= mean(1): the mean grows with the scale
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if mean(middle) < 1.0 else (low, middle)
    return tuple(max(high * w, floor) for w in weights)




class Arrivals:
    """Generated calls at `per_minute` on average over a day, following hourly `weights`."""

    def __init__(self, per_minute: float, weights: Sequence[float], timezone: tzinfo) -> None:
        self.per_minute = tuple(per_minute * w for w in weights)
        self.timezone = timezone
        self.peak = max(self.per_minute)

    def rate_at(self, at: datetime) -> float:
        """Calls per minute at a moment (its local hour's rate)."""
        return self.per_minute[at.astimezone(self.timezone).hour]

    def next_wait(self, now: datetime, rng: random.Random, *, first: bool = False) -> float:
        """Seconds from `now` to the next call; the `first` call comes within
        FIRST_RING_SECONDS whatever the hour."""
        if self.peak <= 0:
            return float("inf")
        waited = 0.0
        while True:
            waited += rng.expovariate(self.peak / 60.0)
            if first and waited >= FIRST_RING_SECONDS:
                return FIRST_RING_SECONDS
            if rng.random() * self.peak < self.rate_at(now + timedelta(seconds=waited)):
                return waited

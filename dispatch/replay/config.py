"""How a replay runs: pace, staffing, and how long people take."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

HumanTime = Literal["real", "scaled"]


# The overlay bar: call events per second the hub must take on 2 workers (issue 9).
BAR_RATE = 500.0


@dataclass(frozen=True)
class People:
    """Human-like durations in seconds of real life (log-normal: median, spread).

    With `human_time="real"` they are slept as they are: the stream arrives `speed` times
    faster, the call-takers do not work faster (a surge). With "scaled" they shrink with the
    stream, and answer times are reported in stream seconds.
    """

    reaction_median: float = 3.0  # offer on screen → answer
    reaction_sigma: float = 0.45
    talk_default: float = 70.0  # answer → incident recorded, when the stream does not say
    talk_min: float = 20.0
    hangup_after_incident: float = 4.0
    wrap_up_median: float = 10.0
    patience_median: float = 45.0  # how long a caller waits before hanging up
    patience_sigma: float = 0.6
    crew_reaction_median: float = 15.0  # assignment on the tablet → acknowledged


def lognormal(rng: random.Random, median: float, sigma: float, low: float, high: float) -> float:
    return min(max(median * math.exp(rng.gauss(0.0, sigma)), low), high)


@dataclass
class ReplayConfig:
    url: str
    speed: float = 100.0
    overlay: int = 1
    duration: float | None = None  # wall seconds to replay at most
    positions: int | None = None  # call-taker positions to staff (None: sized for the stream)
    consoles: int = 4
    crews: Literal["auto", "on", "off"] = "auto"
    human_time: HumanTime = "real"
    people: People = field(default_factory=People)
    seed: int = 120
    answer_target: float = 10.0
    # A caller waits at least this long in real seconds: with people scaled, the hub's latency
    # is not scaled, and must not make callers hang up.
    min_patience: float = 0.0
    drain_seconds: float | None = None  # after the last ring, how long calls may take to finish
    settle_seconds: float = 10.0  # how long to wait for the last events on sockets
    # Overlay acceptance: sustained call events per second, and the p99 of hub-added latency.
    target_rate: float = BAR_RATE
    latency_limit_ms: float = 50.0
    progress: bool = True
    out: Path | None = None  # folder for report.json and report.html
    label: str = "replay"

    def __post_init__(self) -> None:
        if self.human_time == "scaled" and self.min_patience == 0.0:
            self.min_patience = 5.0

    @property
    def human_scale(self) -> float:
        """Factor on human durations (1 in real time)."""
        return 1.0 if self.human_time == "real" else 1.0 / self.speed

    @property
    def report_scale(self) -> float:
        """Factor turning measured answer times into the stream's seconds."""
        return 1.0 if self.human_time == "real" else self.speed

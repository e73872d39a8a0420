"""Queueing arithmetic shared by the live SLO, the quality report and the replay: quantiles,
Erlang C and the call-takers needed to answer a share of calls within a target (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

TARGET_SHARE = 0.95  # of calls answered within the target (seed 004)


def quantile(values: Sequence[float] | NDArray[np.float64], q: float, *,
             ordered: bool = False) -> float | None:
    """Nearest-rank quantile (q in 0..1); `ordered` when the values are sorted already (a list or
    a numpy array)."""
    if len(values) == 0:
        return None
    ranked = values if ordered else sorted(values)
    rank = max(1, math.ceil(q * len(ranked)))
    return round(float(ranked[rank - 1]), 3)


def erlang_c(agents: int, load: float) -> float:
    """Probability that a call waits, with `agents` servers and `load` Erlangs offered."""
    if agents <= load:
        return 1.0
    blocking = 1.0  # Erlang B by recursion, then Erlang C from it
    for n in range(1, agents + 1):
        blocking = load * blocking / (n + load * blocking)
    return agents * blocking / (agents - load * (1 - blocking))


def share_answered_within(agents: int, rate_per_s: float, handling_s: float, target_s: float) -> float:
    load = rate_per_s * handling_s
    if load == 0:
        return 1.0
    if agents <= load:
        return 0.0
    waiting = erlang_c(agents, load)
    return 1.0 - waiting * math.exp(-(agents - load) * target_s / handling_s)


def agents_needed(rate_per_s: float, handling_s: float, target_s: float,
                  share: float = TARGET_SHARE) -> int:
    """Fewest call-takers that answer `share` of calls within `target_s` (at least one)."""
    agents = max(1, math.ceil(rate_per_s * handling_s))
    while share_answered_within(agents, rate_per_s, handling_s, target_s) < share:
        agents += 1
    return agents


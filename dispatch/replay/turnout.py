"""Turnout and response times of a stream that carries unit times (the SF export does): would the
calls it records meet the national 3-minute turnout (dispatch -> en route, >= 95 %)?

Per call, as the quality indicators count an incident (docs/quality.md): from its first dispatch
to its first unit en route, and from the first ring to its first unit on scene.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from dispatch.erlang import quantile
from dispatch.replay.stream import CallStream

TURNOUT_TARGET_S = 180.0


def spread(values: list[float]) -> dict[str, Any]:
    return {"count": len(values), "p50_s": quantile(values, 0.5), "p90_s": quantile(values, 0.9)}


def unit_figures(stream: CallStream) -> dict[str, Any] | None:
    """The stream's turnout and response figures, or None when it records no unit times."""
    turnouts: list[float] = []
    responses: list[float] = []
    by_severity: dict[str, list[float]] = defaultdict(list)
    dispatched = 0
    for call in stream.calls:
        sent = [u.dispatched_s for u in call.units if u.dispatched_s is not None]
        if not sent:
            continue
        dispatched += 1
        left = [u.en_route_s for u in call.units if u.en_route_s is not None]
        if left:
            turnouts.append(round(min(left) - min(sent), 3))
        arrived = [u.on_scene_s for u in call.units if u.on_scene_s is not None]
        if arrived:
            responses.append(min(arrived))
            by_severity[call.severity.value].append(min(arrived))
    if not dispatched:
        return None
    within = sum(1 for t in turnouts if t <= TURNOUT_TARGET_S)
    return {
        "source": "the stream's own unit times (what the recorded centre achieved)",
        "calls_dispatched": dispatched,
        "turnout": {**spread(turnouts), "within_3min": within,
                    "share_within_3min": round(within / len(turnouts), 4) if turnouts else None,
                    "target_share": 0.95},
        "response": spread(responses),
        "response_by_severity": {k: spread(v) for k, v in sorted(by_severity.items())},
    }


def summary_line(figures: dict[str, Any] | None) -> str | None:
    if figures is None:
        return None
    t, r = figures["turnout"], figures["response"]
    share = t["share_within_3min"]
    return (f"  stream unit times: out within 3 min {'—' if share is None else f'{share * 100:.1f} %'} "
            f"(target 95 %), turnout p90 {t['p90_s']} s; response p50 {r['p50_s']} s p90 {r['p90_s']} s "
            f"(n={r['count']})")

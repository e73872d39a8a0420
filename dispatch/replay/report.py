"""The replay's report: figures as a dict (written as JSON), a terminal summary, the machine."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from dispatch.replay.config import BAR_RATE, ReplayConfig
from dispatch.replay.record import CALL_EVENTS, LATENCIES, CallFacts, Recorder
from dispatch.replay.stream import CallStream
from dispatch.replay.turnout import summary_line, unit_figures

# The latencies the hub adds (each from the client's request to the event on a socket).
HUB_ADDED = ("ring_to_offer", "ring_to_console", "assignment_to_crew")
PACKAGES = ("dispatch-120", "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "sqlalchemy",
            "asyncpg", "redis", "hiredis", "pydantic", "orjson", "httpx")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0–100); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def shown(value: object) -> str:
    """A figure for people: a dash where there is none."""
    return "—" if value is None else str(value)


def _command(*args: str) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=5, check=False)  # noqa: S603
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                       "unknown")
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(), "platform": platform.platform(), "cpu": cpu,
        "cpus": os.cpu_count(), "load_average_at_end": [round(x, 2) for x in load] if load else None,
        "python": sys.version.split()[0],
        "postgresql": _command("psql", "--version"), "redis": _command("redis-server", "--version"),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def ms_summary(values: Sequence[float]) -> dict[str, float | int]:
    return {"count": len(values),
            "p50_ms": round(percentile(values, 50) * 1000, 2),
            "p90_ms": round(percentile(values, 90) * 1000, 2),
            "p99_ms": round(percentile(values, 99) * 1000, 2),
            "max_ms": round(max(values) * 1000, 2) if values else math.nan}


def throughput(recorder: Recorder) -> dict[str, Any]:
    """Call events the hub accepted per second: mean, best 60-s window, busiest second."""
    total: Counter[int] = Counter()
    for counts in recorder.events.values():
        total.update(counts)
    if not total:
        return {"call_events": 0, "by_kind": {}, "mean_per_s": 0.0, "best_60s_per_s": 0.0,
                "peak_1s": 0, "active_seconds": 0}
    first, last = min(total), max(total)
    seconds = last - first + 1
    window = min(60, seconds)
    best = max(sum(total.get(s, 0) for s in range(start, start + window))
               for start in range(first, last - window + 2))
    return {
        "call_events": sum(total.values()),
        "by_kind": {k: sum(recorder.events[k].values()) for k in CALL_EVENTS},
        "active_seconds": seconds,
        "mean_per_s": round(sum(total.values()) / seconds, 1),
        "best_60s_per_s": round(best / window, 1),
        "window_s": window,
        "peak_1s": max(total.values()),
    }


def cpu_figures(info: dict[str, Any], events: int, elapsed: float) -> dict[str, Any]:
    """CPU the hub (if the replay started it), the simulation and the servers on this host
    used during the run; per call event, and the cores that cost would take at the bar's rate."""
    hub, client = info.get("hub_cpu_s"), info.get("client_cpu_s")
    parts = {"hub": hub, "simulation": client, **info.get("server_cpu_s", {})}
    per_event = {name: round(used * 1000 / events, 2) for name, used in parts.items()
                 if used is not None and events}
    return {
        "hub_cpu_s": hub, "client_cpu_s": client, "server_cpu_s": info.get("server_cpu_s", {}),
        "hub_cores_busy": round(hub / elapsed, 2) if hub is not None and elapsed > 0 else None,
        "hub_ms_per_call_event": per_event.get("hub"),
        "ms_per_call_event": per_event,
        "cores_at_bar_rate": (round(sum(per_event.values()) * BAR_RATE / 1000, 2)
                              if hub is not None and per_event else None),
    }


def answer_figures(recorder: Recorder, config: ReplayConfig) -> dict[str, Any]:
    scale = config.report_scale
    times = [f.answer_seconds * scale for f in recorder.calls.values()
             if f.answered and f.answer_seconds is not None]
    answered = sum(1 for f in recorder.calls.values() if f.answered)
    abandoned = sum(1 for f in recorder.calls.values() if f.abandoned)
    within = sum(1 for t in times if t <= config.answer_target)
    decided = answered + abandoned
    return {
        "target_s": config.answer_target,
        "clock": "stream seconds (people scaled with the stream)" if config.human_time == "scaled"
        else "seconds",
        "within_target": within,
        "share_within_target": round(within / decided, 4) if decided else None,
        "p50_s": round(percentile(times, 50), 2), "p90_s": round(percentile(times, 90), 2),
        "p95_s": round(percentile(times, 95), 2),
        "max_s": round(max(times), 2) if times else math.nan,
        "times": [round(t, 3) for t in times],
    }


def _phase(calls: list[CallFacts], samples: list[float], config: ReplayConfig) -> dict[str, Any]:
    scale = config.report_scale
    times = [f.answer_seconds * scale for f in calls if f.answered and f.answer_seconds is not None]
    answered = sum(1 for f in calls if f.answered)
    abandoned = sum(1 for f in calls if f.abandoned)
    within = sum(1 for t in times if t <= config.answer_target)
    return {
        "calls": len(calls), "answered": answered, "abandoned": abandoned,
        "unfinished": len(calls) - answered - abandoned,
        "share_within_target": round(within / (answered + abandoned), 4)
        if answered + abandoned else None,
        # None, not NaN, when no call was answered in the phase (NaN is not JSON)
        "answer_p50_s": round(percentile(times, 50), 2) if times else None,
        "answer_p95_s": round(percentile(times, 95), 2) if times else None,
        "answer_max_s": round(max(times), 2) if times else None,
        "hub_added": ms_summary(samples),
    }


def fault_figures(recorder: Recorder, config: ReplayConfig) -> list[dict[str, Any]]:
    """Each injected fault with the calls and hub-added latency before, during and after it.

    "During" is the fault until the hub was whole again, plus the answer target: a call is in
    it if it was ringing at any moment of that window, "before" if it stopped ringing earlier,
    "after" if it rang later. A hub-added latency sample goes where it was measured."""
    end = (recorder.finished or recorder.now()) - recorder.started
    samples = [(at, v) for k in HUB_ADDED for at, v in recorder.latencies[k]]
    out = []
    for fault in recorder.faults:
        start = fault["at_s"]
        stop = (fault.get("whole_s") or end) + config.answer_target
        phases: dict[str, list[CallFacts]] = {"before": [], "during": [], "after": []}
        ringing: list[CallFacts] = []  # at the very moment of the fault
        for facts in recorder.calls.values():
            if facts.posted_at is None or not facts.acknowledged:
                continue
            rang = facts.posted_at - recorder.started
            settled = (facts.settled_at - recorder.started) if facts.settled_at is not None else end
            phase = "before" if settled < start else "after" if rang > stop else "during"
            phases[phase].append(facts)
            if rang <= start <= settled:
                ringing.append(facts)
        latency = {
            "before": [v for at, v in samples if at < start],
            "during": [v for at, v in samples if start <= at <= stop],
            "after": [v for at, v in samples if at > stop],
        }
        out.append({**fault, "window_s": [start, round(stop, 2)],
                    "recovery_s": round(fault["whole_s"] - start, 2) if fault.get("whole_s") else None,
                    "ringing_at_fault": _phase(ringing, [], config),
                    **{name: _phase(calls, latency[name], config) for name, calls in phases.items()}})
    return out


def build(config: ReplayConfig, stream: CallStream, recorder: Recorder, info: dict[str, Any],
          hub: dict[str, Any]) -> dict[str, Any]:
    """Every figure of one replay."""
    counts = recorder.counts()
    lost = info.get("lost", {})
    latency = {k: ms_summary([v for _, v in recorder.latencies[k]]) for k in LATENCIES}
    hub_added = [v for k in HUB_ADDED for _, v in recorder.latencies[k]]
    elapsed = (recorder.finished or recorder.now()) - recorder.started
    return {
        "label": config.label,
        "machine": machine(),
        "hub": hub,
        "config": {
            "speed": config.speed, "overlay": config.overlay, "duration_s": config.duration,
            "human_time": config.human_time, "positions": info.get("positions"),
            "consoles": info.get("consoles"), "crews": info.get("crews"),
            "units": info.get("units"), "seed": config.seed,
        },
        "stream": {
            "name": stream.header.name, "source": stream.header.source,
            "calls": len(stream.calls),
            "first_ring": stream.calls[0].rung_at.isoformat() if stream.calls else None,
            "span_hours": round(stream.span_seconds / 3600, 2),
            "notes": stream.header.notes,
            "simulated": list(stream.simulated),
        },
        "elapsed_s": round(elapsed, 1),
        "calls": {
            "scheduled": counts["scheduled"], "offered": counts["rung"],
            "answered": counts["answered"], "abandoned": counts["abandoned"],
            "incidents": counts["incidents"],
            "unfinished": counts["scheduled"] - counts["done"],
        },
        "answer": answer_figures(recorder, config),
        "units": unit_figures(stream),
        "latency": {"definitions": LATENCIES, **latency,
                    "hub_added": ms_summary(hub_added)},
        "throughput": throughput(recorder),
        "lost": {"total": sum(lost.values()), "by_kind": lost},
        "recorded_differently": info.get("differs", {}),
        "errors": dict(recorder.errors.most_common()),
        "races": dict(recorder.races.most_common()),
        "client_loop_lag": ms_summary(recorder.loop_lag),
        "cpu": cpu_figures(info, throughput(recorder)["call_events"], elapsed),
        "notes": recorder.notes,
        "faults": fault_figures(recorder, config),
        "acceptance": acceptance(config, throughput(recorder), ms_summary(hub_added),
                                 sum(lost.values()))
        if config.overlay > 1 or config.duration is not None else None,
        "series": series(recorder, config),
    }


def acceptance(config: ReplayConfig, rates: dict[str, Any], hub_added: dict[str, Any],
               lost: int) -> dict[str, Any]:
    """The overlay mode's bar: a sustained rate of call events, a p99 latency, nothing lost."""
    rate, p99 = rates["best_60s_per_s"], hub_added["p99_ms"]
    window = rates.get("window_s", 0)
    checks = {
        f"≥ {config.target_rate:g} call events/s for 60 s": window >= 60 and rate >= config.target_rate,
        f"p99 hub-added latency ≤ {config.latency_limit_ms:g} ms": p99 <= config.latency_limit_ms,
        "0 events lost": lost == 0,
    }
    return {"events_per_s_over_60s": rate, "window_s": window, "p99_hub_added_ms": p99,
            "lost": lost, "checks": checks, "passed": all(checks.values())}


def series(recorder: Recorder, config: ReplayConfig, buckets: int = 120) -> dict[str, Any]:
    """Per-bucket counts and latency percentiles over the run, for the plots."""
    end = max([f.posted_at - recorder.started for f in recorder.calls.values() if f.posted_at]
              + [1.0])
    size = max(end / buckets, 1.0)
    n = int(end // size) + 1
    rung, answered, abandoned = [0] * n, [0] * n, [0] * n
    for facts in recorder.calls.values():
        if facts.posted_at is None or not facts.acknowledged:
            continue
        b = min(int((facts.posted_at - recorder.started) // size), n - 1)
        rung[b] += 1
        answered[b] += facts.answered
        abandoned[b] += facts.abandoned
    p99: dict[str, list[float]] = {}
    for kind in ("ring_to_console", "ring_to_offer", "assignment_to_crew"):
        groups: list[list[float]] = [[] for _ in range(n)]
        for at, value in recorder.latencies[kind]:
            groups[min(int(at // size), n - 1)].append(value * 1000)
        if any(groups):
            p99[kind] = [round(percentile(g, 99), 2) if g else math.nan for g in groups]
    total: Counter[int] = Counter()
    for counts in recorder.events.values():
        total.update(counts)
    seconds = max(total) + 1 if total else 0
    return {"bucket_s": round(size, 3), "rung": rung, "answered": answered,
            "abandoned": abandoned, "p99_ms": p99,
            "events_per_s": [total.get(s, 0) for s in range(seconds)]}


def summary(result: dict[str, Any]) -> str:
    """The terminal summary."""
    calls, answer, lost = result["calls"], result["answer"], result["lost"]
    lat, tp, cfg = result["latency"], result["throughput"], result["config"]
    share = answer["share_within_target"]
    lines = [
        f"replay {result['label']}: {result['stream']['name']} ({result['stream']['calls']} calls, "
        f"{result['stream']['span_hours']} h) at {cfg['speed']:g}x, overlay {cfg['overlay']}, "
        f"people {cfg['human_time']}, {cfg['positions']} positions, {cfg['consoles']} consoles, "
        f"crews {'on' if cfg['crews'] else 'off'}; {result['elapsed_s']} s",
        f"  calls offered {calls['offered']}/{calls['scheduled']}  answered {calls['answered']}  "
        f"abandoned {calls['abandoned']}  incidents {calls['incidents']}  "
        f"unfinished {calls['unfinished']}",
        f"  answered within {answer['target_s']:g} s: "
        f"{'—' if share is None else f'{share * 100:.1f} %'}  answer time p50 {answer['p50_s']} "
        f"p90 {answer['p90_s']} p95 {answer['p95_s']} ({answer['clock']})",
    ]
    if units := summary_line(result.get("units")):
        lines.append(units)
    lines += [f"  simulated: {part}" for part in result["stream"].get("simulated", [])]
    for kind in ("ring_to_console", "ring_to_offer", "answer_to_console", "incident_to_console",
                 "assignment_to_crew", "status_to_console", "hub_added"):
        s = lat[kind]
        if s["count"]:
            lines.append(f"  {kind.replace('_', ' '):<22} p50 {s['p50_ms']:>7.1f} ms  "
                         f"p99 {s['p99_ms']:>7.1f} ms  max {s['max_ms']:>8.1f} ms  (n={s['count']})")
    lines.append(f"  call events {tp['call_events']}  mean {tp['mean_per_s']}/s  best "
                 f"{tp.get('window_s', 0)} s {tp['best_60s_per_s']}/s  peak second {tp['peak_1s']}  "
                 f"{tp['by_kind']}")
    lines.append(f"  events lost: {lost['total']}" + (f"  {lost['by_kind']}" if lost["total"] else ""))
    if result["recorded_differently"]:
        lines.append(f"  recorded differently: {result['recorded_differently']}")
    lines.append(f"  errors: {result['errors'] or 0}")
    if result["races"]:
        lines.append(f"  races (expected): {result['races']}")
    lag, cpu = result["client_loop_lag"], result["cpu"]
    lines.append(f"  client loop lag p99 {lag['p99_ms']} ms max {lag['max_ms']} ms; CPU: simulation "
                 f"{cpu['client_cpu_s']} s, hub {cpu['hub_cpu_s']} s ({cpu['hub_cores_busy']} cores, "
                 f"{cpu['hub_ms_per_call_event']} ms per call event)")
    if cpu.get("cores_at_bar_rate") is not None:
        lines.append("  CPU per call event: " + ", ".join(
            f"{name} {ms} ms" for name, ms in cpu["ms_per_call_event"].items())
            + f"; at {BAR_RATE} call events/s that is {cpu['cores_at_bar_rate']} cores")
    for fault in result.get("faults", []):
        recovery = fault["recovery_s"]
        lines.append(f"  fault {fault['label']} ({fault.get('done')}) at {fault['at_s']} s, hub whole "
                     + ("again after " + f"{recovery} s" if recovery is not None else "NOT again")
                     + f"; calls before / during / after it (during: {fault['window_s'][0]}–"
                     f"{fault['window_s'][1]} s):")
        at_fault = fault["ringing_at_fault"]
        lines.append(f"    ringing at the fault: {at_fault['calls']}, answered {at_fault['answered']} "
                     f"(max {at_fault['answer_max_s']} s), abandoned {at_fault['abandoned']}")
        for name in ("before", "during", "after"):
            phase, hub = fault[name], fault[name]["hub_added"]
            share = phase["share_within_target"]
            lines.append(
                f"    {name:<7} {phase['calls']:>5} calls  answered {phase['answered']}  abandoned "
                f"{phase['abandoned']}  within {result['answer']['target_s']:g} s "
                f"{'—' if share is None else f'{share * 100:.1f} %'}  answer p50 "
                f"{shown(phase['answer_p50_s'])} p95 {shown(phase['answer_p95_s'])} max "
                f"{shown(phase['answer_max_s'])} s  "
                f"hub-added p50 {hub['p50_ms']} p99 {hub['p99_ms']} ms (n={hub['count']})")
    lines.extend(f"  note: {note}" for note in result["notes"])
    verdict = result.get("acceptance")
    if verdict:
        lines.append("  overlay acceptance: " + ("PASS" if verdict["passed"] else "FAIL") + "  " +
                     "; ".join(f"{k}: {'yes' if ok else 'no'}" for k, ok in verdict["checks"].items()))
    return "\n".join(lines)

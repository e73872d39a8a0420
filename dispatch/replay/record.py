"""What a replay measures while it runs: per-call facts, latencies, event rates and errors."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dispatch.replay.stream import Scheduled

# Hub-added latencies, each from the client's request to the event's arrival on a socket.
LATENCIES = {
    "ring_to_console": "call posted → call.ringing on every console",
    "ring_to_offer": "call posted (or position ready, whichever is later) → call.offered",
    "answer_to_console": "answer sent → call.answered on every console",
    "incident_to_console": "incident posted → incident.created on every console",
    "assignment_to_crew": "assignment posted → assignment event on the crew tablet",
    "status_to_console": "unit status posted → unit.status on every console",
}
# The call events the hub takes from outside, counted for the throughput figure.
CALL_EVENTS = ("ring", "answer", "incident", "assignment", "unit_status")


@dataclass
class CallFacts:
    """One replayed call, as the simulation saw it."""

    scheduled: Scheduled
    posted_at: float | None = None  # perf_counter when the POST was sent
    call_id: str | None = None
    acknowledged: bool = False
    intake_status: int | None = None  # HTTP status of the POST (0: no response); None: pending
    answer_sent_at: float | None = None
    answered: bool = False
    answer_seconds: float | None = None  # the hub's ring → answer time (wall seconds)
    settled_at: float | None = None  # perf_counter when it stopped ringing (answered or abandoned)
    abandoned: bool = False
    ended: bool = False
    incident_id: str | None = None
    incident_sent_at: float | None = None
    routed: bool = False
    done: bool = False


@dataclass
class Recorder:
    """Everything measured, with times relative to the replay's start (perf_counter)."""

    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    calls: dict[str, CallFacts] = field(default_factory=dict)  # by telephony id
    by_call_id: dict[str, CallFacts] = field(default_factory=dict)
    latencies: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: {k: [] for k in LATENCIES})
    events: dict[str, Counter[int]] = field(
        default_factory=lambda: {k: Counter() for k in CALL_EVENTS})
    errors: Counter[str] = field(default_factory=Counter)
    races: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)  # see dispatch.replay.faults
    loop_lag: list[float] = field(default_factory=list)

    def now(self) -> float:
        return time.perf_counter()

    def since_start(self, at: float) -> float:
        return at - self.started

    def latency(self, kind: str, value: float, at: float) -> None:
        self.latencies[kind].append((at - self.started, max(value, 0.0)))

    def event(self, kind: str, at: float | None = None) -> None:
        self.events[kind][int((at if at is not None else time.perf_counter()) - self.started)] += 1

    def error(self, kind: str) -> None:
        self.errors[kind] += 1

    def race(self, kind: str) -> None:
        self.races[kind] += 1

    def link(self, facts: CallFacts, call_id: str) -> None:
        facts.call_id = call_id
        self.by_call_id[call_id] = facts

    def counts(self) -> dict[str, Any]:
        calls = self.calls.values()
        return {
            "scheduled": len(self.calls),
            "rung": sum(1 for c in calls if c.acknowledged),
            "answered": sum(1 for c in calls if c.answered),
            "abandoned": sum(1 for c in calls if c.abandoned),
            "incidents": sum(1 for c in calls if c.incident_id),
            "done": sum(1 for c in calls if c.done),
        }


async def watch_loop_lag(recorder: Recorder, interval: float = 0.1) -> None:
    """How late this process wakes up: the client's own delay, included in every latency."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(interval)
        recorder.loop_lag.append(time.perf_counter() - before - interval)

"""Run a replay against a hub: telephony rings the stream's calls on time, call-takers answer on
their consoles, crews run their jobs; then check that nothing was lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dispatch.erlang import agents_needed
from dispatch.replay import faults as fault_plan
from dispatch.replay import verify
from dispatch.replay.calltakers import CallTaker
from dispatch.replay.client import HubClient, Tokens
from dispatch.replay.config import ReplayConfig, lognormal
from dispatch.replay.crews import Crews, fleet_available
from dispatch.replay.progress import Progress, bar
from dispatch.replay.record import CallFacts, Recorder, watch_loop_lag
from dispatch.replay.sockets import HubSocket
from dispatch.replay.stream import Scheduled, peak_rate

log = logging.getLogger(__name__)


class ReplayError(Exception):
    """The replay cannot start; the message says what to do."""


def handling_seconds(schedule: list[Scheduled], config: ReplayConfig) -> float:
    """Mean time a position spends on a call (answer → ready again), in wall seconds."""
    people = config.people
    talks = [c.call.entered_s for c in schedule if c.call.entered_s is not None]
    talk = (sum(talks) / len(talks)) if talks else people.talk_default
    return (max(talk, people.talk_min) + people.hangup_after_incident + people.wrap_up_median
            + people.reaction_median) * config.human_scale


def staffing(schedule: list[Scheduled], config: ReplayConfig) -> int:
    """Call-taker positions for ≥ 95 % answered within the target at the stream's busiest
    moment, by Erlang C over a window of twice the handling time (people's reaction time is
    taken off the target), or one per call in the busiest burst shorter than a call."""
    people, scale = config.people, config.human_scale
    handling = handling_seconds(schedule, config)
    wall = [s.at / config.speed for s in schedule]
    rate = peak_rate(wall, min(max(2 * handling, 60.0 * scale, 1.0), 900.0))
    target = max(config.answer_target - 2 * people.reaction_median, 1.0) * scale
    erlang = int(agents_needed(rate, max(handling, 0.001), target) * 1.1) + 1
    # A burst shorter than a call (a short replay) needs a position for each of its calls.
    burst = round(peak_rate(wall, max(handling, 0.001)) * max(handling, 0.001))
    return max(2, erlang, burst)


class Replay:
    def __init__(self, config: ReplayConfig, schedule: list[Scheduled], tokens: Tokens, *,
                 own_hub: bool = False, cpu: Callable[[], float | None] | None = None,
                 server_cpu: Callable[[], dict[str, float]] | None = None,
                 faults: list[fault_plan.Fault] | None = None,
                 fault_target: fault_plan.Target | None = None) -> None:
        self.cpu = cpu or (lambda: None)
        self.server_cpu = server_cpu or dict
        self.config = config
        self.schedule = schedule
        self.tokens = tokens
        self.own_hub = own_hub
        self.faults = faults or []
        self.fault_target = fault_target
        self.recorder = Recorder()
        self.rng = random.Random(config.seed)
        self.client = HubClient(config.url, tokens, self.recorder)
        self.consoles: list[HubSocket] = []
        self.seen: dict[str, verify.Seen] = {}
        self.takers: dict[str, CallTaker] = {}
        self.offered_once: set[str] = set()
        self.crews: Crews | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.info: dict[str, Any] = {}

    @property
    def ws_base(self) -> str:
        return self.config.url.replace("https://", "wss://").replace("http://", "ws://")

    async def run(self) -> dict[str, Any]:
        """Replay the schedule; returns the raw figures for the report."""
        rec = self.recorder
        try:
            await self._prepare()
            lag = asyncio.create_task(watch_loop_lag(rec))
            progress = Progress(self._line, enabled=self.config.progress)
            rec.started = rec.now()
            cpu_before, client_before = self.cpu(), time.process_time()
            servers_before = self.server_cpu()
            progress.start()
            faults = (asyncio.create_task(fault_plan.run(self.faults, self.fault_target, rec))
                      if self.faults and self.fault_target is not None else None)
            try:
                await self._ring_all()
                await self._drain()
                if faults is not None:  # a fault late in the run: wait until the hub is whole
                    await asyncio.wait_for(faults, fault_plan.RECOVERY_TIMEOUT * len(self.faults))
            finally:
                await progress.stop()
                lag.cancel()
                if faults is not None:
                    faults.cancel()
                await self._stop_people()
            rec.finished = rec.now()
            cpu_after, servers_after = self.cpu(), self.server_cpu()
            self.info["client_cpu_s"] = round(time.process_time() - client_before, 2)
            self.info["server_cpu_s"] = {name: round(used - servers_before.get(name, used), 2)
                                         for name, used in servers_after.items()}
            if cpu_before is not None and cpu_after is not None:
                self.info["hub_cpu_s"] = round(cpu_after - cpu_before, 2)
            await verify.settle(rec.calls.values(), self.seen, self.config.settle_seconds)
            lost, differs = await verify.in_database(self.client, rec)
            lost += verify.missing_on_consoles(rec.calls.values(), self.seen)
            if self.crews is not None:
                missing = self.crews.missing_on_tablets()
                if missing:
                    lost["assignment missing on a crew tablet"] += missing
            self.info.update(lost=dict(lost), differs=dict(differs))
            return self.info
        finally:
            await self._close()

    async def _prepare(self) -> None:
        config, client = self.config, self.client
        ringing = await client.ringing()
        if ringing.ok and isinstance(ringing.body, list) and ringing.body:
            if not self.own_hub:
                raise ReplayError(f"{len(ringing.body)} call(s) are ringing on the hub; replay "
                                  "against a quiet hub (the simulated call-takers would answer them)")
            for call in ringing.body:  # left by an interrupted replay on our own hub
                await client.abandoned(str(call["id"]))
        listed = await client.positions()
        if not listed.ok or not isinstance(listed.body, list):
            raise ReplayError(f"cannot list positions ({listed.status} {listed.problem()}): "
                              "check the URL and that the token has a console role")
        free = [p["id"] for p in listed.body if not p.get("supervisor")]
        wanted = self.config.positions or staffing(self.schedule, config)
        if len(free) < wanted:
            self.recorder.notes.append(f"{wanted} positions wanted, the hub has {len(free)}")
        positions = free[:wanted]
        if not positions:
            raise ReplayError("the hub has no call-taker positions: load a scenario first")
        crews_on = config.crews == "on" or (config.crews == "auto" and await fleet_available(client))
        self.info.update(positions=len(positions), consoles=config.consoles, crews=crews_on,
                         scheduled=len(self.schedule))
        for index in range(max(1, config.consoles)):
            socket = HubSocket(f"console-{index}", f"{self.ws_base}/ws/console",
                               self.tokens.console, self.recorder, self._on_console)
            await socket.start()
            self.consoles.append(socket)
            self.seen[socket.name] = set()
        for index, position in enumerate(positions):
            console = self.consoles[index % len(self.consoles)]
            self.takers[position] = CallTaker(
                position, console, config=config, recorder=self.recorder, client=client,
                rng=self.rng, on_incident=self._on_incident if crews_on else None)
        for position, taker in self.takers.items():
            taker.ready_at = self.recorder.now()
            response = await client.login(position, f"replay-{position}")
            if response.status == 409:  # busy from an earlier run
                await client.set_state(position, "wrap_up")
                await client.set_state(position, "ready")
        if crews_on:
            units = await client.request("units", "GET", "/api/v1/units", token=self.tokens.dispatcher)
            ids = [str(u["id"]) for u in units.body] if isinstance(units.body, list) else []
            self.crews = Crews(config, self.recorder, client, ids, self.rng)
            await self.crews.start(self.ws_base)
            self.info["units"] = len(ids)

    def _on_incident(self, facts: CallFacts, incident_id: str, at: float) -> None:
        if self.crews is not None:
            self.crews.serve(facts.scheduled.call, incident_id, at)

    def _on_console(self, socket: HubSocket, frame: dict[str, Any], at: float) -> None:
        rec, kind = self.recorder, frame["type"]
        data = frame.get("data") or {}
        seen = self.seen[socket.name]
        if kind == "call.ringing":
            facts = rec.calls.get(str(data.get("telephony_call_id")))
            if facts is None:
                return
            if facts.call_id is None:
                rec.link(facts, str(data["call_id"]))
            if ("ring", facts.scheduled.telephony_id) not in seen:
                seen.add(("ring", facts.scheduled.telephony_id))
                if facts.posted_at is not None:
                    rec.latency("ring_to_console", at - facts.posted_at, at)
        elif kind == "call.offered":
            call_id, taker = str(data.get("call_id")), self.takers.get(str(data.get("position_id")))
            if taker is None or taker.console is not socket:
                return
            facts = rec.by_call_id.get(call_id)
            if facts is not None and facts.posted_at is not None and call_id not in self.offered_once:
                self.offered_once.add(call_id)
                rec.latency("ring_to_offer", at - max(facts.posted_at, taker.ready_at), at)
            taker.offer(call_id)
        elif kind in ("call.answered", "call.abandoned"):
            call_id = str(data.get("call_id"))
            key = "answered" if kind == "call.answered" else "abandoned"
            if (key, call_id) not in seen:
                seen.add((key, call_id))
                facts = rec.by_call_id.get(call_id)
                if key == "answered" and facts is not None:
                    if facts.answer_sent_at is not None:
                        rec.latency("answer_to_console", at - facts.answer_sent_at, at)
                    if data.get("answer_seconds") is not None:
                        facts.answer_seconds = float(data["answer_seconds"])
        elif kind == "incident.created":
            seen.add(("incident", str(data.get("id"))))
            for call_id in data.get("call_ids") or ():
                facts = rec.by_call_id.get(str(call_id))
                if facts is not None and facts.incident_sent_at is not None:
                    rec.latency("incident_to_console", at - facts.incident_sent_at, at)
        elif kind == "routing.decided":
            seen.add(("routed", str(data.get("incident_id"))))
        elif kind.startswith("unit.") and self.crews is not None and socket is self.consoles[0]:
            self.crews.on_console(frame, at)

    async def _ring_all(self) -> None:
        rec, speed = self.recorder, self.config.speed
        for item in self.schedule:
            rec.calls[item.telephony_id] = CallFacts(item)
        for index, item in enumerate(self.schedule):
            delay = rec.started + item.at / speed - rec.now()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self._call(item, index))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _call(self, item: Scheduled, index: int) -> None:
        rec, facts = self.recorder, self.recorder.calls[item.telephony_id]
        location = item.call.location
        body: dict[str, Any] = {
            "telephony_call_id": item.telephony_id, "caller_number": f"555{index % 10**7:07d}",
            "line": "replay", "rung_at": datetime.now(UTC).isoformat(),
        }
        if location is not None:
            body["carrier_location"] = {"lat": location.lat, "lon": location.lon, "accuracy_m": 100}
        facts.posted_at = rec.now()
        response = await self.client.post_call(body)
        facts.intake_status = response.status
        if not response.ok or not isinstance(response.body, dict):
            facts.done = True
            return
        facts.acknowledged = True
        rec.event("ring")
        if facts.call_id is None:
            rec.link(facts, str(response.body["id"]))
        people = self.config.people
        patience = lognormal(self.rng, people.patience_median, people.patience_sigma, 5.0, 600.0)
        await asyncio.sleep(max(patience * self.config.human_scale, self.config.min_patience))
        while not facts.answered and not facts.done:
            if facts.answer_sent_at is not None and rec.now() - facts.answer_sent_at < 5.0:
                await asyncio.sleep(0.2)  # an answer is on its way
                continue
            await self._abandon(facts)
            return

    async def _abandon(self, facts: CallFacts) -> None:
        assert facts.call_id is not None
        for taker in self.takers.values():
            if taker.offered == facts.call_id and not taker.busy:
                taker.ready_at = self.recorder.now()  # the hub offers it the next call now
        response = await self.client.abandoned(facts.call_id)
        if response.ok:
            facts.abandoned = True
            facts.settled_at = self.recorder.now()
            facts.done = True
        elif response.status == 409:
            self.recorder.race("abandon: call answered meanwhile (409)")
        else:
            facts.done = True

    async def _drain(self) -> None:
        longest = max((s.call.entered_s or 0.0 for s in self.schedule), default=0.0)
        longest_job = max((u.available_s or 0.0 for s in self.schedule for u in s.call.units),
                          default=0.0)
        people = self.config.people
        drain = self.config.drain_seconds or (
            60.0 + min(longest + people.patience_median * 4 + people.wrap_up_median * 6, 1800.0)
            * self.config.human_scale + longest_job / self.config.speed)
        deadline = self.recorder.now() + drain
        while self.recorder.now() < deadline:
            # Done when every call has ended and every crew is back available.
            if all(f.done for f in self.recorder.calls.values()) and not (
                    self.crews is not None and self.crews.tasks):
                return
            await asyncio.sleep(0.2)
        stuck = sum(1 for f in self.recorder.calls.values() if not f.done)
        if stuck:
            self.recorder.error(f"calls unfinished after {drain:.0f} s drain")
            self.recorder.notes.append(f"{stuck} call(s) had not finished when the replay stopped")
        jobs = len(self.crews.tasks) if self.crews is not None else 0
        if jobs:
            self.recorder.notes.append(f"{jobs} crew job(s) were cut short when the replay stopped")

    def _line(self) -> str:
        counts = self.recorder.counts()
        elapsed = self.recorder.now() - self.recorder.started
        total = (self.schedule[-1].at / self.config.speed) if self.schedule else 0.0
        errors = sum(self.recorder.errors.values())
        ringing = counts["rung"] - counts["answered"] - counts["abandoned"]
        return (f"{bar(elapsed, total)} {counts['rung']}/{counts['scheduled']} calls  "
                f"answered {counts['answered']}  abandoned {counts['abandoned']}  "
                f"ringing {max(ringing, 0)}  errors {errors}")

    async def _stop_people(self) -> None:
        """Stop whatever is still going on, so nothing changes while the results are checked."""
        tasks = [*self.tasks, *(t.task for t in self.takers.values() if t.task is not None)]
        if self.crews is not None:
            tasks += list(self.crews.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            for position in self.takers:
                await self.client.console("logout", "POST", f"/api/v1/positions/{position}/logout",
                                          quiet=(409,))
        if self.crews is not None:
            await self.crews.close()
        for socket in self.consoles:
            await socket.close()
        await self.client.close()


def new_run_id() -> str:
    return uuid.uuid4().hex[:6]


def error_summary(recorder: Recorder) -> dict[str, int]:
    return dict(Counter(recorder.errors).most_common())

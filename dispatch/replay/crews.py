"""Simulated dispatchers and crews: assign a recommended unit, then move it through the unit state
machine on the stream's own intervals, with a tablet socket per unit.

Written against the fleet API contract (units, jobs, recommendations, assignments, unit status
and position); `fleet_available` switches this part off on a hub that does not offer it.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Iterable
from typing import Any

from dispatch.replay.client import HubClient, Response
from dispatch.replay.config import ReplayConfig, lognormal
from dispatch.replay.record import Recorder
from dispatch.replay.sockets import HubSocket
from dispatch.replay.stream import CallRecord, UnitTimes

NEEDED_PATHS = ("/api/v1/assignments", "/api/v1/units/{unit_id}/status")
# A job's states in the order the unit state machine passes them.
JOB_STATES = ("acknowledged", "en_route", "on_scene", "transporting", "at_hospital", "handover_done")


def missing_steps(last: str, status: str) -> list[str]:
    """States the stream skipped between `last` and `status` that the state machine needs."""
    if status == "available":  # after a transport the handover comes first
        return {"transporting": ["at_hospital", "handover_done"],
                "at_hospital": ["handover_done"]}.get(last, [])
    if status in JOB_STATES and last in JOB_STATES:
        return list(JOB_STATES[JOB_STATES.index(last) + 1: JOB_STATES.index(status)])
    return []
TABLET_WAIT = 10.0


async def fleet_available(client: HubClient) -> bool:
    """True when the hub publishes the assignment and unit-status routes the crews need."""
    paths = await client.openapi_paths()
    normalised = {_normal(p) for p in paths}
    return all(_normal(p) in normalised for p in NEEDED_PATHS)


def _normal(path: str) -> str:
    parts = path.split("/")
    return "/".join("{}" if p.startswith("{") else p for p in parts)


def _first_list(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        if isinstance(body.get("candidates"), list):  # the hub's recommendations
            return list(body["candidates"])
        for value in body.values():
            if isinstance(value, list):
                return value
    return []


def _unit_of(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    unit = item.get("unit")
    value = item.get("unit_id") or (unit.get("id") if isinstance(unit, dict) else None) or item.get("id")
    return str(value) if value else None


def _id_of(body: Any, *names: str) -> str | None:
    if isinstance(body, dict):
        for name in names:
            if body.get(name):
                return str(body[name])
    return None


class Crews:
    """Every unit's tablet, and the dispatcher who assigns units to incidents."""

    def __init__(self, config: ReplayConfig, recorder: Recorder, client: HubClient,
                 unit_ids: Iterable[str], rng: random.Random) -> None:
        self.config = config
        self.recorder = recorder
        self.client = client
        self.unit_ids = sorted(unit_ids)
        self.rng = rng
        self.tablets: dict[str, HubSocket] = {}
        self.busy: set[str] = set()
        self.sent: dict[str, float] = {}  # assignment id -> when it was posted
        self.seen: dict[str, asyncio.Event] = {}
        self.status_sent: dict[tuple[str, str], float] = {}
        self.expected_tablet: set[str] = set()
        self.tablet_seen: dict[str, float] = {}  # assignment id -> arrival on the tablet
        self.tasks: set[asyncio.Task[None]] = set()
        # Jobs waiting for a unit to come free, oldest first (see _free_unit).
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def start(self, ws_base: str) -> None:
        for unit in self.unit_ids:
            tablet = HubSocket(f"crew-{unit}", f"{ws_base}/ws/crew/{unit}",
                               self.client.tokens.crew(unit), self.recorder, self.on_tablet)
            await tablet.start()
            self.tablets[unit] = tablet

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for tablet in self.tablets.values():
            await tablet.close()

    def on_tablet(self, socket: HubSocket, frame: dict[str, Any], at: float) -> None:
        if not frame["type"].startswith("assignment."):
            return
        assignment = _id_of(frame.get("data"), "assignment_id", "id")
        if assignment is None or assignment in self.tablet_seen:
            return
        self.tablet_seen[assignment] = at
        if assignment in self.sent:
            self.recorder.latency("assignment_to_crew", at - self.sent[assignment], at)
        self.seen.setdefault(assignment, asyncio.Event()).set()

    def on_console(self, frame: dict[str, Any], at: float) -> None:
        if frame["type"] != "unit.status":
            return
        data = frame.get("data") or {}
        key = (str(data.get("unit_id") or data.get("id")), str(data.get("status")))
        sent = self.status_sent.pop(key, None)
        if sent is not None:
            self.recorder.latency("status_to_console", at - sent, at)
        if key[1] == "available":
            self._wake_one()

    def _wake_one(self) -> None:
        """A unit came free: the job waiting longest looks at the recommendations again."""
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def serve(self, call: CallRecord, incident_id: str, created_at: float) -> None:
        """Send the stream's units to the incident, each on its own timeline."""
        for unit in call.units:
            if unit.dispatched_s is None:
                continue
            task = asyncio.create_task(self._job(call, unit, incident_id, created_at))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _wall(self, stream_seconds: float) -> float:
        return max(stream_seconds, 0.0) / self.config.speed

    async def _job(self, call: CallRecord, times: UnitTimes, incident_id: str, anchor: float) -> None:
        dispatched = times.dispatched_s or 0.0
        await asyncio.sleep(self._wall(dispatched - (call.entered_s or 0.0)))
        unit = await self._free_unit(incident_id)
        if unit is None:
            self.recorder.error("assign: no recommended unit free")
            return
        self.busy.add(unit)
        try:
            assignment = await self._assign(incident_id, unit)
            if assignment is None:
                return
            people = self.config.people
            await asyncio.sleep(lognormal(self.rng, people.crew_reaction_median, 0.4, 3, 60)
                                * self.config.human_scale)
            ack = await self.client.request("acknowledge", "POST",
                                            f"/api/v1/assignments/{assignment}/acknowledge",
                                            token=self.client.tokens.crew(unit), json={})
            if ack.ok:
                self.recorder.event("unit_status")
            start = self.recorder.now()
            last = "acknowledged"
            for status, offset in self.milestones(times):
                delay = start + self._wall(offset - dispatched) - self.recorder.now()
                await asyncio.sleep(max(delay, 0.0))
                if status == "available" and last in ("acknowledged", "en_route"):
                    # Stood down before reaching the patient: the dispatcher cancels the job.
                    cancelled = await self.client.request(
                        "cancel", "POST", f"/api/v1/assignments/{assignment}/cancel",
                        token=self.client.tokens.dispatcher, json={"reason": "replay: stood down"})
                    if cancelled.ok:
                        self.recorder.event("unit_status")
                    return
                # The stream may skip steps the hub's state machine needs: fill them in.
                for step in missing_steps(last, status):
                    if not await self._status(unit, step):
                        return
                last = status
                if status == "on_scene" and call.location is not None:
                    await self.client.request(
                        "unit position", "POST", f"/api/v1/units/{unit}/position",
                        token=self.client.tokens.crew(unit),
                        json={"lat": call.location.lat, "lon": call.location.lon})
                if not await self._status(unit, status):
                    return
        finally:
            self.busy.discard(unit)
            self._wake_one()

    @staticmethod
    def milestones(times: UnitTimes) -> list[tuple[str, float]]:
        steps: list[tuple[str, float]] = []
        for status, value in (("en_route", times.en_route_s), ("on_scene", times.on_scene_s),
                              ("transporting", times.transporting_s),
                              ("at_hospital", times.at_hospital_s)):
            if value is not None:
                steps.append((status, value))
        if times.at_hospital_s is not None and times.available_s is not None:
            handover = times.at_hospital_s + (times.available_s - times.at_hospital_s) / 2
            steps.append(("handover_done", handover))
        last = steps[-1][1] if steps else (times.dispatched_s or 0.0)
        steps.append(("available", times.available_s if times.available_s is not None else last + 60))
        return steps

    async def _free_unit(self, incident_id: str, *, patience: float = 30.0) -> str | None:
        """A unit to send, as a dispatcher finds one: from the recommendations, or — every unit
        busy — waiting up to `patience` seconds for the board to show one come free, the
        oldest waiting job first. Asking the hub again every second for every waiting job
        would make an overloaded hub answer thousands of recommendations a second that no
        call event counts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        unit = await self._choose(incident_id)
        first = False  # a job woken and still without a unit keeps its place at the front
        while unit is None and (left := deadline - loop.time()) > 0:
            waiter: asyncio.Future[None] = loop.create_future()
            if first:
                self.waiting.appendleft(waiter)
            else:
                self.waiting.append(waiter)
            try:
                await asyncio.wait_for(waiter, left)
            except TimeoutError:
                return await self._choose(incident_id)
            unit = await self._choose(incident_id)
            first = True
        return unit

    async def _choose(self, incident_id: str) -> str | None:
        response = await self.client.request(
            "recommendations", "GET", f"/api/v1/incidents/{incident_id}/recommendations",
            token=self.client.tokens.dispatcher)
        for item in _first_list(response.body):
            unit = _unit_of(item)
            if unit and unit not in self.busy and unit in self.tablets:
                return unit
        return None

    async def _assign(self, incident_id: str, unit: str) -> str | None:
        sent = self.recorder.now()
        response: Response = await self.client.request(
            "assign", "POST", "/api/v1/assignments", token=self.client.tokens.dispatcher,
            json={"incident_id": incident_id, "unit_id": unit}, quiet=(409,))
        assignment = _id_of(response.body, "id", "assignment_id")
        if not response.ok or assignment is None:
            if response.status == 409:
                self.recorder.race("assign: unit taken meanwhile (409)")
            return None
        self.recorder.event("assignment")
        self.sent[assignment] = sent
        self.expected_tablet.add(assignment)
        if assignment in self.tablet_seen:  # the tablet was faster than the HTTP response
            arrival = self.tablet_seen[assignment]
            self.recorder.latency("assignment_to_crew", arrival - sent, arrival)
            return assignment
        event = self.seen.setdefault(assignment, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), TABLET_WAIT)
        except TimeoutError:
            self.recorder.error("crew tablet: assignment not received")
        return assignment

    async def _status(self, unit: str, status: str) -> bool:
        if status == "available":
            # A unit that carried an infectious patient is disinfected first, as a crew would.
            current = await self.client.request(
                "unit", "GET", f"/api/v1/units/{unit}", token=self.client.tokens.crew(unit),
                quiet=(404,))
            body = current.body if isinstance(current.body, dict) else {}
            if body.get("infectious_load") and not await self._status(unit, "disinfecting"):
                return False
        self.status_sent[(unit, status)] = self.recorder.now()
        # No simulated hospital confirms the handover: the crew says why it marks it itself.
        extra = {"reason": "replay: handed over at the door"} if status == "handover_done" else {}
        response = await self.client.request(
            f"unit status {status}", "POST", f"/api/v1/units/{unit}/status",
            token=self.client.tokens.crew(unit), json={"status": status, **extra})
        if response.ok:
            self.recorder.event("unit_status")
            return True
        self.status_sent.pop((unit, status), None)
        return False

    def missing_on_tablets(self) -> int:
        return len(self.expected_tablet - self.tablet_seen.keys())

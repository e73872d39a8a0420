"""Simulated call-takers: each sits at a position on a console, answers what is offered to it
after a human-like delay, records the incident, and gets ready for the next call.

Offers arrive on the console's socket; answers and state changes go over HTTP. (The hub runs
one socket's actions one after another, as a browser console sends them; several simulated
positions share a socket here, and must not queue behind each other.)"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from dispatch.replay.client import HubClient
from dispatch.replay.config import ReplayConfig, lognormal
from dispatch.replay.record import CallFacts, Recorder
from dispatch.replay.sockets import HubSocket

OnIncident = Callable[[CallFacts, str, float], None]


def incident_body(facts: CallFacts) -> dict[str, Any] | None:
    """What the call-taker types in; never the caller's address, only the point."""
    call = facts.scheduled.call
    if not call.medical or call.location is None or facts.call_id is None:
        return None
    return {
        "call_id": facts.call_id,
        "location": {"lat": call.location.lat, "lon": call.location.lon},
        "severity": call.severity.value,
        "category": call.category.value,
        "complaint": call.complaint,
    }


class CallTaker:
    """One position. Its only input is what its console shows: offers for this position."""

    def __init__(self, position_id: str, console: HubSocket, *, config: ReplayConfig,
                 recorder: Recorder, client: HubClient, rng: random.Random,
                 on_incident: OnIncident | None) -> None:
        self.position_id = position_id
        self.console = console
        self.config = config
        self.recorder = recorder
        self.client = client
        self.rng = rng
        self.on_incident = on_incident
        self.ready_at = recorder.now()
        self.offered: str | None = None
        self.busy = False
        self.task: asyncio.Task[None] | None = None

    def offer(self, call_id: str) -> None:
        if self.busy or self.offered == call_id:
            return
        self.offered = call_id
        self.task = asyncio.create_task(self._take(call_id))

    def _human(self, seconds: float) -> float:
        return seconds * self.config.human_scale

    async def _take(self, call_id: str) -> None:
        people = self.config.people
        await asyncio.sleep(self._human(lognormal(
            self.rng, people.reaction_median, people.reaction_sigma, 0.8, 20.0)))
        if self.offered != call_id or self.busy:
            return
        self.busy = True
        facts = self.recorder.by_call_id.get(call_id)
        if facts is not None:
            facts.answer_sent_at = self.recorder.now()
        reply = await self.client.answer(call_id, self.position_id)
        self.offered = None
        if not reply.ok:
            if reply.status == 409:
                self.recorder.race("answer: call no longer ringing (409)")
            self.busy = False
            return
        self.recorder.event("answer")
        if facts is None:
            self.recorder.error("answer: a call the replay did not post")
            await self._finish(call_id, None)
            return
        facts.answered = True
        facts.settled_at = self.recorder.now()
        await self._talk(facts)
        await self._finish(call_id, facts)

    async def _talk(self, facts: CallFacts) -> None:
        people = self.config.people
        entered = facts.scheduled.call.entered_s
        talk = (max(entered - people.reaction_median, people.talk_min) if entered is not None
                else lognormal(self.rng, people.talk_default, 0.4, people.talk_min, 600))
        await asyncio.sleep(self._human(talk))
        body = incident_body(facts)
        if body is None:
            return
        facts.incident_sent_at = self.recorder.now()
        response = await self.client.create_incident(body)
        if not response.ok or not isinstance(response.body, dict):
            return
        self.recorder.event("incident")
        facts.incident_id = str(response.body["id"])
        facts.routed = response.body.get("decision") is not None
        if self.on_incident is not None:
            self.on_incident(facts, facts.incident_id, self.recorder.now())

    async def _finish(self, call_id: str, facts: CallFacts | None) -> None:
        people = self.config.people
        await asyncio.sleep(self._human(people.hangup_after_incident))
        ended = await self.client.ended(call_id)
        if facts is not None:
            facts.ended = ended.ok
        await asyncio.sleep(self._human(lognormal(self.rng, people.wrap_up_median, 0.4, 2, 60)))
        await self.ready()
        if facts is not None:
            facts.done = True

    async def ready(self) -> None:
        """Back to ready (from wrap-up, or from on call if the end was not recorded)."""
        self.ready_at = self.recorder.now()
        self.busy = False  # an offer may arrive before the reply does
        reply = await self.client.set_state(self.position_id, "ready")
        if not reply.ok:
            await self.client.set_state(self.position_id, "wrap_up")
            self.ready_at = self.recorder.now()
            reply = await self.client.set_state(self.position_id, "ready")
            if not reply.ok:
                self.recorder.error("position: could not get ready")

"""After a replay: is every call in PostgreSQL, and did every console see every call's events?"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from typing import Any

from dispatch.replay.client import HubClient
from dispatch.replay.record import CallFacts, Recorder

Seen = set[tuple[str, str]]


def expected(facts: CallFacts) -> list[tuple[str, str]]:
    """The events about this call every console must have received."""
    if not facts.acknowledged:
        return []
    keys = [("ring", facts.scheduled.telephony_id)]
    if facts.call_id and facts.answered:
        keys.append(("answered", facts.call_id))
    if facts.call_id and facts.abandoned:
        keys.append(("abandoned", facts.call_id))
    if facts.incident_id:
        keys.append(("incident", facts.incident_id))
        if facts.routed:
            keys.append(("routed", facts.incident_id))
    return keys


NAMES = {
    "ring": "call.ringing", "answered": "call.answered", "abandoned": "call.abandoned",
    "incident": "incident.created", "routed": "routing.decided",
}


def missing_on_consoles(calls: Iterable[CallFacts], seen: dict[str, Seen]) -> Counter[str]:
    out: Counter[str] = Counter()
    wanted = [key for facts in calls for key in expected(facts)]
    for got in seen.values():
        for key in wanted:
            if key not in got:
                out[f"{NAMES[key[0]]} missing on a console"] += 1
    return out


async def settle(calls: Iterable[CallFacts], seen: dict[str, Seen], within: float) -> None:
    """Wait (up to `within` seconds) for the last events to reach every console."""
    wanted = [key for facts in calls for key in expected(facts)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if all(key in got for got in seen.values() for key in wanted):
            return
        await asyncio.sleep(0.1)


def _state_problem(facts: CallFacts, row: dict[str, Any]) -> str | None:
    status = row.get("status")
    if facts.abandoned and status != "abandoned":
        return f"abandoned call is {status} in PostgreSQL"
    if facts.answered and facts.ended and status != "ended":
        return f"ended call is {status} in PostgreSQL"
    if facts.incident_id and row.get("incident_id") != facts.incident_id:
        return "call not linked to its incident in PostgreSQL"
    return None


async def in_database(client: HubClient, recorder: Recorder, *, concurrency: int = 16
                      ) -> tuple[Counter[str], Counter[str]]:
    """Look every call up through the API (the hub reads it from PostgreSQL).

    Returns what is lost and what is recorded differently from what the simulation did."""
    lost: Counter[str] = Counter()
    differs: Counter[str] = Counter()
    gate = asyncio.Semaphore(concurrency)

    async def check(facts: CallFacts) -> None:
        if not facts.acknowledged:
            if facts.intake_status is None:
                lost["call still waiting for the hub's answer when the replay stopped"] += 1
            else:
                lost[f"call refused at intake ({facts.intake_status or 'no response'})"] += 1
            return
        async with gate:
            response = await client.get_call(facts.call_id or facts.scheduled.telephony_id)
        if response.status == 404:
            lost["call not in PostgreSQL"] += 1
        elif not response.ok or not isinstance(response.body, dict):
            lost[f"call could not be checked ({response.status})"] += 1
        else:
            problem = _state_problem(facts, response.body)
            if problem:
                differs[problem] += 1

    await asyncio.gather(*(check(f) for f in recorder.calls.values()))
    return lost, differs

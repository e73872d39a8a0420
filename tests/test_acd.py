"""The ACD's Lua scripts against a plain Python model of call distribution (real Redis).

Random sequences of rings, answers, hang-ups and position changes must leave Redis exactly
where the model is: the same offers, priority lines first then the longest-ringing call, to
the longest-idle position; and the indexes the scripts keep (waiting for an offer, escalation
and breach timers) must hold exactly the calls they describe.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from redis.asyncio import Redis

from dispatch.calls.acd import Acd, Offer
from dispatch.redis import Keys

ESCALATE_MS, BREACH_MS = 6_000, 10_000


@dataclass
class Model:
    calls: dict[str, dict[str, object]] = field(default_factory=dict)  # id -> rung, prio, offered
    positions: dict[str, dict[str, object]] = field(default_factory=dict)  # id -> state, idle, offered

    def distribute(self) -> list[Offer]:
        offers = []
        while True:
            ready = sorted((p["idle"], pid) for pid, p in self.positions.items()
                           if p["state"] == "ready" and not p["offered"])
            waiting = sorted((not c["prio"], c["rung"], cid) for cid, c in self.calls.items()
                             if not c["offered"])
            if not ready or not waiting:
                return offers
            pid, cid = ready[0][1], waiting[0][2]
            self.calls[cid]["offered"], self.positions[pid]["offered"] = pid, cid
            offers.append(Offer(cid, pid))

    def ring(self, cid: str, rung: int, prio: bool) -> list[Offer]:
        self.calls[cid] = {"rung": rung, "prio": prio, "offered": ""}
        return self.distribute()

    def answer(self, cid: str, pid: str, now: int) -> str:
        if cid not in self.calls:
            return "not_ringing"
        position = self.positions.get(pid)
        if position is None or position["state"] != "ready":
            return f"position_{position['state'] if position else 'logged_out'}"
        holder = self.calls.pop(cid)["offered"]
        if holder and holder != pid:
            self.positions[str(holder)]["offered"] = ""
        own = position["offered"]
        if own and own != cid and own in self.calls:
            self.calls[str(own)]["offered"] = ""
        position.update(state="on_call", offered="")
        return "ok"

    def hang_up(self, cid: str) -> None:
        call = self.calls.pop(cid, None)
        if call and call["offered"]:
            self.positions[str(call["offered"])]["offered"] = ""

    def set_state(self, pid: str, state: str, now: int) -> None:
        position = self.positions.setdefault(pid, {"state": "logged_out", "idle": 0, "offered": ""})
        old = position["state"]
        if old == "logged_out" and state not in ("ready", "not_ready", "logged_out"):
            return
        if old == state or (old in ("on_call", "dialling") and state not in ("wrap_up", "on_call")):
            return
        if old == "ready" and position["offered"] in self.calls:
            self.calls[str(position["offered"])]["offered"] = ""
        position.update(state=state, offered="")
        if state == "ready":
            position["idle"] = now


async def test_scripts_match_the_model_over_random_sequences(redis: Redis) -> None:
    await run_against_the_model(redis, Keys("acdtest"))


async def run_against_the_model(redis: Redis, keys: Keys) -> None:
    """600 random steps (rings, answers, hang-ups, position changes), each checked against the
    model; tests/test_redis_cluster.py runs the same on a Redis Cluster."""
    acd = Acd(redis, keys)
    rng = random.Random(20261123)
    model = Model()
    now, serial = 1_800_000_000_000, 0
    seen = {"offers": 0, "answered": 0, "longest_queue": 0}
    for step in range(600):
        now += rng.randint(1, 400)
        roll = rng.random()
        if roll < 0.3:
            serial += 1
            cid, prio = f"c{serial}", rng.random() < 0.2
            rung = now - rng.randint(0, 3000)
            got = await acd.enqueue(cid, rung_ms=rung, priority=prio)
            assert got == model.ring(cid, rung, prio), step
            seen["offers"] += len(got)
        elif roll < 0.45 and model.calls:
            cid = rng.choice(sorted(model.calls))
            pid = f"P{rng.randint(1, 6)}"
            expected = model.answer(cid, pid, now)
            result = await acd.answer(cid, pid, now_ms=now)
            assert result.status == expected, step
            if expected == "ok":
                assert result.offers == model.distribute(), step
                seen["answered"] += 1
                seen["offers"] += len(result.offers)
        elif roll < 0.55 and model.calls:
            cid = rng.choice(sorted(model.calls))
            model.hang_up(cid)
            ok, offers = await acd.release(cid)
            assert ok
            assert offers == model.distribute(), step
            seen["offers"] += len(offers)
        else:
            pid = f"P{rng.randint(1, 6)}"
            state = rng.choice(["ready", "ready", "ready", "not_ready", "wrap_up", "wrap_up", "logged_out"])
            model.set_state(pid, state, now)
            result = await acd.set_position(pid, state, user="u", now_ms=now)
            if result.status == "ok":
                assert result.offers == model.distribute(), step
                seen["offers"] += len(result.offers)
        await assert_indexes_match(redis, keys, acd, model)
        seen["longest_queue"] = max(seen["longest_queue"], len(model.calls))
    # The sequence must have exercised what it claims to.
    assert seen["offers"] > 20, seen
    assert seen["answered"] > 20
    assert seen["longest_queue"] > 10


async def assert_indexes_match(redis: Redis, keys: Keys, acd: Acd, model: Model) -> None:
    rows = {row["id"]: row for row in await acd.ringing()}
    assert set(rows) == set(model.calls)
    for cid, call in model.calls.items():
        assert rows[cid]["offered"] == call["offered"], cid
    waiting, escalate, breach = keys.acd_indexes
    assert {str(i) for i in await redis.zrange(waiting, 0, -1)} == \
        {cid for cid, c in model.calls.items() if not c["offered"]}
    assert {str(i) for i in await redis.zrange(escalate, 0, -1)} == set(model.calls)
    assert {str(i) for i in await redis.zrange(breach, 0, -1)} == set(model.calls)


async def test_timers_take_each_call_once_and_forget_answered_calls(redis: Redis) -> None:
    keys = Keys("acdtest")
    acd = Acd(redis, keys)
    t0 = 1_800_000_000_000
    for n in range(3):
        await acd.enqueue(f"c{n}", rung_ms=t0 + n * 1000, priority=False)
    await acd.set_position("P1", "ready", user="u", now_ms=t0)
    assert (await acd.answer("c1", "P1", now_ms=t0 + 2000)).status == "ok"
    due = {"escalate_ms": ESCALATE_MS, "breach_ms": BREACH_MS}
    assert await acd.due(now_ms=t0 + 5_999, **due) == ([], [])
    assert await acd.due(now_ms=t0 + 8_000, **due) == (["c0", "c2"], [])
    assert await acd.due(now_ms=t0 + 9_000, **due) == ([], [])
    assert await acd.due(now_ms=t0 + 12_000, **due) == ([], ["c0", "c2"])
    assert await acd.due(now_ms=t0 + 60_000, **due) == ([], [])
    # A call queued again after a Redis loss keeps what already happened to it.
    await acd.clear()
    await acd.enqueue("c0", rung_ms=t0, priority=False, escalated=True, breached=False)
    assert await acd.due(now_ms=t0 + 60_000, **due) == ([], ["c0"])
    assert await redis.hget(keys.call("c0"), "esc") == "1"


async def test_a_call_whose_queue_entry_was_lost_is_queued_again(redis: Redis) -> None:
    """A rebuild's clear can race a new call: its hash survives without its queue entry."""
    keys = Keys("acdtest")
    acd = Acd(redis, keys)
    t0 = 1_800_000_000_000
    await acd.set_position("P1", "ready", user="u", now_ms=t0)
    assert await acd.enqueue("c1", rung_ms=t0, priority=False) == [Offer("c1", "P1")]
    await redis.zrem(keys.ringing, "c1")  # what the race leaves: the hash, not the entry
    assert await acd.ringing() == []
    again = await acd.enqueue("c1", rung_ms=t0, priority=False)
    assert again == [Offer("c1", "P1")]  # P1's stale offer was taken back and made again
    assert [row["id"] for row in await acd.ringing()] == ["c1"]
    assert await acd.enqueue("c1", rung_ms=t0, priority=False) == []  # queued once only
    assert (await acd.answer("c1", "P1", now_ms=t0 + 1000)).status == "ok"

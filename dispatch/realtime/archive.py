"""Copy the event stream into PostgreSQL, in batches, through a Redis consumer group.

Every instance runs an archiver in the same group, so each entry is archived once; an entry
is acknowledged only after its row is committed, and entries left pending by an instance that
died are claimed by another after `CLAIM_IDLE_MS`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import datetime
from typing import Any, cast

import orjson
from redis.exceptions import ResponseError

from dispatch.background import OUTAGES, fault, raise_if_cancelled
from dispatch.db import insert_ignoring
from dispatch.realtime.models import Event
from dispatch.realtime.service import StreamEntries
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

GROUP = "archive"
BATCH = 500
CLAIM_IDLE_MS = 30_000
# After a batch smaller than BATCH, let the stream fill for this long before reading again: under
# load one transaction then archives a few hundred events, not one or two (the live stream is
# Redis; the archive is for history and audit, and a fraction of a second behind is fine).
LINGER_S = 0.25


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def ensure_group(rt: Runtime) -> None:
    try:
        await rt.redis.xgroup_create(rt.keys.events, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def to_row(stream_id: str, fields: dict[str, str]) -> dict[str, Any]:
    body = orjson.loads(fields["e"])
    return {
        "stream_id": stream_id,
        "type": body["type"][:40],
        "at": datetime.fromisoformat(body["at"]),
        "data": body["data"],
        "scope": orjson.loads(fields.get("s", "{}")),
    }


async def store(rt: Runtime, entries: StreamEntries) -> int:
    """Insert the entries (once, whoever else tried) and acknowledge them."""
    if not entries:
        return 0
    rows = []
    for stream_id, fields in entries:
        try:
            rows.append(to_row(str(stream_id), fields))
        except (KeyError, ValueError, orjson.JSONDecodeError):
            log.warning("not archiving malformed stream entry %s", stream_id)
    async with rt.sessionmaker() as session:
        if rows:
            await session.execute(insert_ignoring(session, Event, ["stream_id"]), rows)
        await session.commit()
    await rt.redis.xack(rt.keys.events, GROUP, *[sid for sid, _ in entries])
    return len(entries)


async def archive_once(rt: Runtime, consumer: str, *, block_ms: int | None = None) -> int:
    """Archive the next batch of new entries; returns how many."""
    try:
        response = await rt.redis.xreadgroup(
            GROUP, consumer, {rt.keys.events: ">"}, count=BATCH, block=block_ms
        )
    except ResponseError as error:
        if "NOGROUP" not in str(error):
            raise
        await ensure_group(rt)  # Redis lost the group (restart or flush)
        return 0
    entries = cast(list[tuple[str, StreamEntries]], response or [])
    return sum([await store(rt, batch) for _stream, batch in entries])


async def reclaim(rt: Runtime, consumer: str) -> int:
    """Archive entries another instance read but never acknowledged."""
    result = await rt.redis.xautoclaim(
        rt.keys.events, GROUP, consumer, min_idle_time=CLAIM_IDLE_MS, start_id="0-0", count=BATCH
    )
    return await store(rt, cast(StreamEntries, result[1]))


async def run(rt: Runtime, *, linger_s: float = LINGER_S) -> None:
    """The archiver timer: runs for the life of the process."""
    consumer = consumer_name()
    await ensure_group(rt)
    loops = 0
    while True:
        raise_if_cancelled()
        try:
            archived = await archive_once(rt, consumer, block_ms=1000)
            loops += 1
            if loops % 30 == 0:
                await reclaim(rt, consumer)
            if 0 < archived < BATCH:
                await asyncio.sleep(linger_s)
        except asyncio.CancelledError:
            raise
        except OUTAGES as error:
            log.warning("event archive paused (%s)", type(error).__name__)
            await asyncio.sleep(1.0)
        except Exception:
            fault(log, "event archive failed; retrying", "event archive paused")
            await asyncio.sleep(1.0)

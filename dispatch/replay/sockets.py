"""Simulated consoles and crew tablets: a socket that stays connected and resumes after a drop."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from typing import Any

import orjson

from dispatch.replay.record import Recorder
from dispatch.replay.wsclient import WebSocketClient, connect

OnEvent = Callable[["HubSocket", dict[str, Any], float], None]
PING_SECONDS = 10.0
REPLY_SECONDS = 30.0


class HubSocket:
    """One console or crew-tablet connection; events go to `on_event` with their arrival time."""

    def __init__(self, name: str, url: str, token: str, recorder: Recorder, on_event: OnEvent) -> None:
        self.name = name
        self.url = url
        self.token = token
        self.recorder = recorder
        self.on_event = on_event
        self.client: WebSocketClient | None = None
        self.last_event_id: str | None = None
        self.replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.refs = itertools.count()
        self.closing = False
        self.connected = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.hello = asyncio.Event()

    async def start(self) -> None:
        await self._connect()
        self.tasks.append(asyncio.create_task(self._ping()))

    async def _connect(self) -> None:
        url = self.url
        if self.last_event_id:
            url += ("&" if "?" in url else "?") + f"since={self.last_event_id}"
        self.hello.clear()
        self.client = await connect(url, self._message, token=self.token, on_close=self._closed)
        await asyncio.wait_for(self.hello.wait(), REPLY_SECONDS)
        self.connected.set()

    def _message(self, raw: bytes, at: float) -> None:
        frame = orjson.loads(raw)
        kind = frame.get("kind")
        if kind == "event":
            self.last_event_id = frame["id"]
            self.on_event(self, frame, at)
        elif kind in ("result", "error"):
            future = self.replies.pop(frame.get("ref") or "", None)
            if future is not None and not future.done():
                future.set_result(frame)
        elif kind == "hello":
            if self.last_event_id is None:
                self.last_event_id = frame.get("last_event_id")
            self.hello.set()
        elif kind == "resync":
            self.recorder.error(f"{self.name.split('-')[0]} socket: resync (events missed)")
        elif kind == "closing":
            self.recorder.error(f"{self.name.split('-')[0]} socket closed by hub: "
                                f"{str(frame.get('reason'))[:40]}")

    def _closed(self, code: int) -> None:
        self.connected.clear()
        for future in self.replies.values():
            if not future.done():
                future.set_result({"kind": "error", "problem": {"status": 0, "title": "socket closed"}})
        self.replies.clear()
        if not self.closing:
            self.recorder.error(f"{self.name.split('-')[0]} socket dropped ({code})")
            self.tasks.append(asyncio.create_task(self._reconnect()))

    async def _reconnect(self) -> None:
        delay = 0.2
        while not self.closing:
            try:
                await self._connect()
                return
            except (OSError, TimeoutError, ConnectionError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _ping(self) -> None:
        while not self.closing:
            await asyncio.sleep(PING_SECONDS)
            if self.client is not None and self.client.open:
                self.client.send_text('{"action":"ping"}')

    async def request(self, action: str, **fields: Any) -> dict[str, Any]:
        """Send an action and wait for its result or error frame."""
        await asyncio.wait_for(self.connected.wait(), REPLY_SECONDS)
        ref = f"r{next(self.refs)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[ref] = future
        assert self.client is not None
        self.client.send_text(orjson.dumps({"action": action, "ref": ref, **fields}).decode())
        try:
            return await asyncio.wait_for(future, REPLY_SECONDS)
        except TimeoutError:
            self.replies.pop(ref, None)
            return {"kind": "error", "problem": {"status": 0, "title": "no reply"}}

    async def close(self) -> None:
        self.closing = True
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(BaseException):
                await task
        if self.client is not None:
            self.client.close()

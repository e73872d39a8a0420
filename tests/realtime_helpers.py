"""WebSocket client helpers for tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


def ws_url(address: str, path: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"ws://{address}{path}" + (f"?{query}" if query else "")


async def open_socket(
    address: str, path: str, *, max_queue: int | None = None, token: str | None = None,
    **params: str,
) -> tuple[ClientConnection, dict[str, Any]]:
    """Connect (with the address's test token unless `token` is given) and read the hello.

    A small `max_queue` makes a client that stops reading push back on the server (its TCP
    buffers fill)."""
    token = token or getattr(address, "token", None)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    ws = await connect(ws_url(address, path, **params), max_queue=max_queue,
                       additional_headers=headers)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert hello["kind"] == "hello"
    return ws, hello


async def next_frame(ws: ClientConnection, *, kinds: tuple[str, ...] | None = None,
                     timeout: float = 5.0) -> dict[str, Any]:
    """The next frame of one of `kinds` (heartbeats skipped unless asked for)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if kinds is None and frame["kind"] == "heartbeat":
                continue
            if kinds is None or frame["kind"] in kinds:
                return frame


async def events(ws: ClientConnection, count: int, *, timeout: float = 5.0,
                 types: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Read `count` event frames (of `types` if given), skipping other frames."""
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while len(out) < count:
            frame = json.loads(await ws.recv())
            if frame["kind"] == "event" and (types is None or frame["type"] in types):
                out.append(frame)
    return out


async def no_event(ws: ClientConnection, wait: float = 0.3) -> bool:
    """True when no event frame arrives within `wait` seconds."""
    try:
        async with asyncio.timeout(wait):
            while True:
                frame = json.loads(await ws.recv())
                if frame["kind"] == "event":
                    return False
    except TimeoutError:
        return True

"""A minimal HTTP/1.1 client for load generation: a fixed pool of keep-alive connections.

A general client library spends more CPU per request than the hub under test once hundreds of
requests are in flight (httpx's pool matching grows with the queue), so the benchmark would
measure the client. Requests here wait in one queue; each connection takes the next one,
writes it and reads the reply (Content-Length bodies only, which is what the hub sends).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class Pool:
    def __init__(self, base: str, *, connections: int = 32, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.size = connections
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.queue: asyncio.Queue[tuple[bytes, asyncio.Future[Reply]]] = asyncio.Queue()
        self.workers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Pool:
        self.workers = [asyncio.create_task(self._work()) for _ in range(self.size)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for worker in self.workers:
            worker.cancel()
        for worker in self.workers:
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await worker

    async def request(self, method: str, path: str, body: Any = None) -> Reply:
        payload = b"" if body is None else orjson.dumps(body)
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.headers}"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
        done: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        await self.queue.put((head.encode() + payload, done))
        return await done

    async def post(self, path: str, body: Any = None) -> Reply:
        return await self.request("POST", path, body if body is not None else {})

    async def put(self, path: str, body: Any = None) -> Reply:
        return await self.request("PUT", path, body if body is not None else {})

    async def _work(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            while True:
                raw, done = await self.queue.get()
                try:
                    writer.write(raw)
                    status_line = await reader.readline()
                    status = int(status_line.split(b" ", 2)[1])
                    length = 0
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value.strip())
                    done.set_result(Reply(status, await reader.readexactly(length)))
                except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as error:
                    if not done.done():
                        done.set_exception(ConnectionError(str(error) or type(error).__name__))
                    writer.close()
                    reader, writer = await asyncio.open_connection(self.host, self.port)
        finally:
            writer.close()

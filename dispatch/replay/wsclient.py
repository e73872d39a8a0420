"""A lean WebSocket client for simulated consoles and crew tablets.

The replay runs many sockets beside the hub on the same machine; a full client library costs
more CPU per message than the hub spends sending it, and the figures would measure the client.
This one parses frames in `data_received` (no task switch per message), hands each text
message to a callback with its arrival time, and speaks just enough RFC 6455 for that: the
handshake (with the hub's token subprotocols), unfragmented frames, ping → pong, close.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

OnMessage = Callable[[bytes, float], None]
OnClose = Callable[[int], None]


class WebSocketClient(asyncio.Protocol):
    def __init__(self, on_message: OnMessage, on_close: OnClose | None = None) -> None:
        loop = asyncio.get_running_loop()
        self.on_message = on_message
        self.on_close = on_close
        self.buffer = bytearray()
        self.handshaken = False
        self.ready: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[int] = loop.create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.handshaken:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(head.split(b"\r\n")[0].decode()))
                if self.transport:
                    self.transport.close()
                return
            self.handshaken = True
            self.ready.set_result(None)
        self._frames(time.perf_counter())

    def _frames(self, now: float) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            opcode = buf[0] & 0x0F
            length = buf[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length = struct.unpack_from("!H", buf, 2)[0]
                offset = 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length = struct.unpack_from("!Q", buf, 2)[0]
                offset = 10
            if len(buf) < offset + length:
                return
            payload = bytes(buf[offset: offset + length])
            del buf[: offset + length]
            if opcode in (1, 2):
                self.on_message(payload, now)
            elif opcode == 9:
                self.send_frame(0xA, payload)
            elif opcode == 8:
                code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
                self._finish(code)
                if self.transport:
                    self.transport.close()

    def _finish(self, code: int) -> None:
        if not self.closed.done():
            self.closed.set_result(code)
            if self.on_close is not None:
                self.on_close(code)

    def send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        header = bytearray([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        repeated = mask * (n // 4 + 1)
        key = int.from_bytes(repeated, "big") >> (8 * (len(repeated) - n))
        masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")
        if self.transport and not self.transport.is_closing():
            self.transport.write(bytes(header) + mask + masked)

    def send_text(self, text: str) -> None:
        self.send_frame(0x1, text.encode())

    @property
    def open(self) -> bool:
        return self.handshaken and not self.closed.done()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("closed during handshake"))
        self._finish(1006)

    def close(self) -> None:
        if self.transport and not self.transport.is_closing():
            self.send_frame(0x8, struct.pack("!H", 1000))
            self.transport.close()


async def connect(url: str, on_message: OnMessage, *, token: str | None = None,
                  on_close: OnClose | None = None, patience: float = 30) -> WebSocketClient:
    """Open a WebSocket to `url` (ws://host:port/path?query), presenting `token` as the hub's
    `dispatch.v1` + `bearer.<token>` subprotocols."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    loop = asyncio.get_running_loop()
    transport, client = await asyncio.wait_for(loop.create_connection(
        lambda: WebSocketClient(on_message, on_close), host, port), patience)
    key = base64.b64encode(os.urandom(16)).decode()
    protocols = f"Sec-WebSocket-Protocol: dispatch.v1, bearer.{token}\r\n" if token else ""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"{protocols}\r\n"
    )
    client.transport = transport
    transport.write(request.encode())
    await asyncio.wait_for(client.ready, patience)
    return client

"""A minimal WebSocket client for load generation.

Benchmarks run the hub and thousands of simulated consoles on the same small machine; a full
client library costs more CPU per message than the hub does, and the figures would measure the
clients. This client parses frames in `data_received` (no task switch per message) and hands
each text message to a callback. It speaks just enough RFC 6455 for that: the handshake,
unfragmented text frames, ping → pong, close.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

OnMessage = Callable[[bytes], None]


class ClientProtocol(asyncio.Protocol):
    def __init__(self, on_message: OnMessage) -> None:
        self.on_message = on_message
        self.buffer = bytearray()
        self.handshaken = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

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
                return
            self.handshaken = True
            self.ready.set_result(None)
        self._frames()

    def _frames(self) -> None:
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
            if opcode == 1 or opcode == 2:
                self.on_message(payload)
            elif opcode == 9:
                self.send_frame(0xA, payload)
            elif opcode == 8:
                code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
                if not self.closed.done():
                    self.closed.set_result(code)
                if self.transport:
                    self.transport.close()

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
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        if self.transport and not self.transport.is_closing():
            self.transport.write(bytes(header) + mask + masked)

    def send_text(self, text: str) -> None:
        self.send_frame(0x1, text.encode())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("closed during handshake"))
        if not self.closed.done():
            self.closed.set_result(1006)

    def close(self) -> None:
        if self.transport:
            self.transport.close()


async def connect(url: str, on_message: OnMessage, *, handshake_seconds: float = 30,
                  token: str | None = None) -> ClientProtocol:
    """Open a WebSocket to `url` (ws://host:port/path?query), signed in with `token`."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    loop = asyncio.get_running_loop()
    _transport, protocol = await loop.create_connection(
        lambda: ClientProtocol(on_message), host, port
    )
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        + (f"Authorization: Bearer {token}\r\n" if token else "") + "\r\n"
    )
    assert protocol.transport is not None
    protocol.transport.write(request.encode())
    await asyncio.wait_for(protocol.ready, handshake_seconds)
    return protocol

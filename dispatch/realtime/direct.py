"""Write pre-encoded event frames straight to a socket's transport (the fan-out fast path).

Sending through ASGI costs one coroutine chain and one frame encoding per message per client.
Server frames are unmasked and, with permessage-deflate off, identical for every client, so
the hub encodes each event once and writes the same bytes to every socket that is keeping up.
This works with uvicorn's websockets-sansio protocol, reached through the raw ASGI `send`
that `CaptureRawSend` records; with any other server the hub falls back to ASGI sends.
"""

from __future__ import annotations

import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

RAW_SEND = "dispatch.raw_send"


def text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 65536:
        header = bytes((0x81, 126)) + struct.pack("!H", n)
    else:
        header = bytes((0x81, 127)) + struct.pack("!Q", n)
    return header + payload


class DirectWriter:
    """Writes frames to a uvicorn websockets-sansio connection while its buffer has room."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol

    @classmethod
    def for_scope(cls, scope: Scope) -> DirectWriter | None:
        protocol = getattr(scope.get(RAW_SEND), "__self__", None)
        needed = ("transport", "writable", "conn", "close_sent", "disconnected")
        if protocol is None or not all(hasattr(protocol, a) for a in needed):
            return None
        if getattr(protocol.conn, "extensions", None):  # compression negotiated: frames differ
            return None
        return cls(protocol)

    def write(self, data: bytes) -> bool:
        """Write now if the socket is open and not backed up; False means use the slow path."""
        p = self.protocol
        if p.disconnected or p.close_sent or not p.writable.is_set():
            return False
        transport = p.transport
        if transport.is_closing():
            return False
        transport.write(data)
        return True


class CaptureRawSend:
    """Record the server's own `send` for WebSocket connections (see DirectWriter)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)

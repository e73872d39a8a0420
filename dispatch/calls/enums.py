"""The calls domain's enumerations (no ORM: pure code imports these)."""

from __future__ import annotations

from enum import StrEnum


class CallStatus(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    ENDED = "ended"


class CallbackStatus(StrEnum):
    PENDING = "pending"
    DIALLING = "dialling"
    RESOLVED = "resolved"


class PositionState(StrEnum):
    LOGGED_OUT = "logged_out"
    NOT_READY = "not_ready"
    READY = "ready"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    DIALLING = "dialling"  # calling back a caller who hung up

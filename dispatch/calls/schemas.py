"""API shapes of calls, call-taker positions, callbacks and the answer-time SLO."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dispatch.schemas import Latitude, Longitude, StrictIn

PHONE = r"^\+?[0-9]{3,20}$"
REF = r"^[A-Za-z0-9._:@-]{1,128}$"


class CarrierLocation(StrictIn):
    lat: Latitude
    lon: Longitude
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)


class CallIn(StrictIn):
    """A ringing call as telephony (a CTI adapter) reports it."""

    telephony_call_id: str = Field(pattern=REF, description="idempotency key: the same id twice is one call")
    caller_number: str | None = Field(default=None, pattern=PHONE, description="null when withheld")
    line: str = Field(min_length=1, max_length=32, description="trunk or line the call came in on")
    priority: bool = Field(default=False, description="a priority line (distributed first)")
    rung_at: AwareDatetime = Field(description="first ring; the answer clock starts here")
    carrier_location: CarrierLocation | None = None


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    telephony_call_id: str = Field(validation_alias="telephony_id")
    caller_number: str | None
    line: str
    priority: bool
    test: bool = Field(default=False, description="a supervisor's test call, left out of the figures")
    status: str
    rung_at: datetime
    received_at: datetime
    escalated_at: datetime | None
    breached_at: datetime | None
    answered_at: datetime | None
    answered_by: str | None
    abandoned_at: datetime | None
    ended_at: datetime | None
    incident_id: uuid.UUID | None
    carrier_lat: float | None
    carrier_lon: float | None
    carrier_accuracy_m: float | None
    offered_to: str | None = None


class TimeIn(StrictIn):
    at: AwareDatetime | None = Field(default=None, description="when it happened; now if omitted")


class AnswerIn(StrictIn):
    position_id: str = Field(min_length=1, max_length=32)


class TransferIn(StrictIn):
    to_position_id: str = Field(min_length=1, max_length=32)


class LoginIn(StrictIn):
    user: str | None = Field(default=None, min_length=1, max_length=64,
                             description="who logs in; the signed-in user when omitted")
    ready: bool = False


class PositionStateIn(StrictIn):
    state: Literal["ready", "not_ready", "wrap_up"]


class PositionOut(BaseModel):
    id: str
    name: str
    name_zh: str | None = None
    supervisor: bool
    state: str
    user: str | None
    since: datetime | None
    call_id: str | None
    offered_call_id: str | None


class CallbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    call_id: uuid.UUID
    caller_number: str | None
    status: str
    attempts: int
    taken_by: str | None
    outcome: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class CallbackTakeIn(StrictIn):
    position_id: str = Field(min_length=1, max_length=32)


CallbackOutcome = Literal["reached", "no_answer", "busy", "wrong_number", "resolved_elsewhere"]


class CallbackOutcomeIn(StrictIn):
    outcome: CallbackOutcome
    notes: str | None = Field(default=None, max_length=500)


class SloWindow(BaseModel):
    window: str
    calls: int = Field(description="calls that rang in the window")
    answered: int
    answered_within_target: int
    decided: int = Field(description="calls answered, abandoned, or ringing past the target")
    share_within_target: float | None = Field(description="answered within the target / decided")
    answer_p50_s: float | None
    answer_p90_s: float | None
    answer_p95_s: float | None
    abandoned: int
    called_back: int
    answer_rate: float | None = Field(description="(answered + called back) / (answered + abandoned)")
    without_ambulance: int = Field(
        default=0, description="calls whose incident's latest routing decision sends no ambulance")
    without_ambulance_by_outcome: dict[str, int] = Field(
        default_factory=dict,
        description="those calls by outcome (refer, home_visit, callback_by_doctor) or, for "
                    "transports without an ambulance, by mode (self_travel, closed_loop_vehicle)")


class StaffingAdvice(BaseModel):
    arrival_rate_per_hour: float
    handling_seconds: float
    needed: int = Field(description="ready call-takers needed to answer 95% within the target (Erlang C)")
    logged_in: int
    ready: int


class SloOut(BaseModel):
    at: datetime
    target_seconds: float
    target_share: float
    windows: list[SloWindow]
    ringing: int
    callbacks_pending: int
    staffing: StaffingAdvice

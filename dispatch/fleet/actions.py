"""Crew and console actions over the WebSocket: status, position, acknowledge, decline, dispatch."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from dispatch.auth.permissions import DISPATCHERS, require
from dispatch.calls.actions import actor_of
from dispatch.errors import InvalidInput
from dispatch.fleet import assignments, service
from dispatch.fleet.enums import UnitStatus
from dispatch.realtime.actions import Action, Connection, action
from dispatch.realtime.schemas import ClientMessage
from dispatch.schemas import Latitude, Longitude
from dispatch.workflows import dispatch as dispatch_workflow
from dispatch.workflows import unit_status


def unit_of(conn: Connection) -> str:
    if conn.key is None:
        raise InvalidInput.field("unit_id", "this socket is not a unit's")
    return conn.key


def uuid_of(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput.field(field, "not an id") from None


class StatusMessage(ClientMessage):
    action: Literal["unit.status"]
    status: UnitStatus
    reason: str | None = Field(default=None, max_length=300)
    at: AwareDatetime | None = None


class PositionMessage(ClientMessage):
    action: Literal["unit.position"]
    lat: Latitude
    lon: Longitude
    at: AwareDatetime | None = None


class AckMessage(ClientMessage):
    action: Literal["assignment.ack", "assignment.decline"]
    assignment_id: str = Field(min_length=1, max_length=40)
    reason: str | None = Field(default=None, max_length=300)


class DispatchMessage(ClientMessage):
    action: Literal["assignment.dispatch"]
    incident_id: str = Field(min_length=1, max_length=40)
    unit_id: str = Field(min_length=1, max_length=32)
    override_reason: str | None = Field(default=None, max_length=300)


@action("unit.status", StatusMessage, "crew")
async def status(conn: Connection, msg: StatusMessage) -> dict[str, Any]:
    async with conn.runtime.sessionmaker() as session:
        unit = await unit_status.change_status(session=session, rt=conn.runtime, unit_id=unit_of(conn),
                                           to=msg.status, actor=actor_of(conn), reason=msg.reason,
                                           at=msg.at)
    return unit.model_dump(mode="json")


@action("unit.position", PositionMessage, "crew")
async def position(conn: Connection, msg: PositionMessage) -> dict[str, Any]:
    return await service.report_position(rt=conn.runtime, unit_id=unit_of(conn), lat=msg.lat,
                                         lon=msg.lon, at=msg.at)


@action("assignment.ack", AckMessage, "crew")
async def acknowledge(conn: Connection, msg: AckMessage) -> dict[str, Any]:
    async with conn.runtime.sessionmaker() as session:
        done = await unit_status.acknowledge(
            session=session, rt=conn.runtime, assignment_id=uuid_of(msg.assignment_id, "assignment_id"),
            actor=actor_of(conn), unit_id=unit_of(conn))
        return assignments.assignment_data(done)


@action("assignment.decline", AckMessage, "crew")
async def decline(conn: Connection, msg: AckMessage) -> dict[str, Any]:
    async with conn.runtime.sessionmaker() as session:
        done = await unit_status.decline(
            session=session, rt=conn.runtime, assignment_id=uuid_of(msg.assignment_id, "assignment_id"),
            actor=actor_of(conn), reason=msg.reason, unit_id=unit_of(conn))
        return assignments.assignment_data(done)


@action("assignment.dispatch", DispatchMessage, "console")
async def dispatch(conn: Connection, msg: DispatchMessage) -> dict[str, Any]:
    require(conn.principal, *DISPATCHERS, doing="dispatching")
    async with conn.runtime.sessionmaker() as session:
        done = await dispatch_workflow.dispatch_unit(
            session=session, rt=conn.runtime, incident_id=uuid_of(msg.incident_id, "incident_id"),
            unit_id=msg.unit_id, actor=actor_of(conn), override_reason=msg.override_reason)
        return assignments.assignment_data(done)


ACTIONS: list[Action] = [status, position, acknowledge, decline, dispatch]

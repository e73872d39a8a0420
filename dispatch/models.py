"""Import every domain's models so the metadata (and Alembic) sees all tables."""

from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Device, User
from dispatch.calls.models import Call, Callback, Position
from dispatch.db import Base
from dispatch.fleet.models import Assignment, Post, Unit, UnitEvent
from dispatch.handovers.models import Handover
from dispatch.hospitals.models import Hospital, HospitalCapacity
from dispatch.incidents.models import Incident
from dispatch.places.models import Place
from dispatch.realtime.models import Event
from dispatch.routing.models import RoutingDecision, RuleSet
from dispatch.scenarios.models import ScenarioInfo
from dispatch.zones.models import SubDistrict, Zone, ZoneRevision

__all__ = [
    "Assignment",
    "AuditEntry",
    "Base",
    "Call",
    "Callback",
    "Device",
    "Event",
    "Handover",
    "Hospital",
    "HospitalCapacity",
    "Incident",
    "Place",
    "Position",
    "Post",
    "RoutingDecision",
    "RuleSet",
    "ScenarioInfo",
    "SubDistrict",
    "Unit",
    "UnitEvent",
    "User",
    "Zone",
    "ZoneRevision",
]

"""The fleet domain's enumerations (no ORM: pure code imports these)."""

from __future__ import annotations

from enum import StrEnum


class UnitKind(StrEnum):
    AMBULANCE = "ambulance"
    NEGATIVE_PRESSURE_AMBULANCE = "negative_pressure_ambulance"
    MONITORING_UNIT = "monitoring_unit"  # ICU-grade transport
    CLOSED_LOOP_VEHICLE = "closed_loop_vehicle"  # volunteer/community car, point to point
    MEDICAL_POINT_TEAM = "medical_point_team"  # temporary medical point: GP, nurse, vehicle


class UnitCapability(StrEnum):
    AMBULANCE = "ambulance"
    NEGATIVE_PRESSURE = "negative_pressure"
    MONITORING = "monitoring"
    ALS = "als"  # advanced life support
    CLOSED_LOOP = "closed_loop"
    HOME_VISIT = "home_visit"


class UnitStatus(StrEnum):
    AVAILABLE = "available"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    TRANSPORTING = "transporting"
    AT_HOSPITAL = "at_hospital"
    HANDOVER_DONE = "handover_done"
    DISINFECTING = "disinfecting"
    OUT_OF_SERVICE = "out_of_service"


class AssignmentStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    ACKNOWLEDGED = "acknowledged"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


# The statuses whose first report on a job is kept on it, and the column that keeps it (the
# quality indicators' turnout, response, on-scene and transport times are read from these).
STEP_COLUMNS = {UnitStatus.EN_ROUTE: "en_route_at", UnitStatus.ON_SCENE: "on_scene_at",
                UnitStatus.TRANSPORTING: "left_scene_at", UnitStatus.AT_HOSPITAL: "at_hospital_at"}

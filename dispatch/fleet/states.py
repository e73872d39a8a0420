"""The unit state machine (DESIGN.md): which status may follow which, and who moves it.

`available → assigned → acknowledged → en_route → on_scene → transporting → at_hospital →
handover_done → (disinfecting) → available`; any status → `out_of_service`. A unit that
carried an infectious patient must pass through `disinfecting` before it is available.
"""

from __future__ import annotations

from dispatch.fleet.enums import UnitStatus as S

# Moves a crew (or a dispatcher on its behalf) reports with a status button.
REPORTED: dict[S, frozenset[S]] = {
    S.AVAILABLE: frozenset({S.HANDOVER_DONE, S.DISINFECTING, S.ON_SCENE, S.OUT_OF_SERVICE}),
    S.ACKNOWLEDGED: frozenset({S.ASSIGNED}),
    S.EN_ROUTE: frozenset({S.ACKNOWLEDGED}),
    S.ON_SCENE: frozenset({S.EN_ROUTE}),
    S.TRANSPORTING: frozenset({S.ON_SCENE}),
    S.AT_HOSPITAL: frozenset({S.TRANSPORTING}),
    S.HANDOVER_DONE: frozenset({S.AT_HOSPITAL}),
    S.DISINFECTING: frozenset({S.HANDOVER_DONE, S.ON_SCENE, S.OUT_OF_SERVICE}),
    S.OUT_OF_SERVICE: frozenset(set(S) - {S.OUT_OF_SERVICE}),
}

# Moves only the hub makes: reserving a unit for an assignment, and standing it down when
# the crew declines, the acknowledgement times out or a dispatcher cancels the job.
RESERVE_FROM = frozenset({S.AVAILABLE})
STAND_DOWN_FROM = frozenset({S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE, S.ON_SCENE})

# Statuses in which the unit is on a job (its assignment is open).
ON_JOB = frozenset({S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE, S.ON_SCENE, S.TRANSPORTING,
                    S.AT_HOSPITAL})
# Reaching these ends the job: the patient is handed over, or was not transported.
ENDS_JOB = frozenset({S.HANDOVER_DONE})
# A move to `available` from these needs a unit without an infectious load.
NEEDS_CLEAN = frozenset({S.AVAILABLE})


def allowed_from(to: S) -> frozenset[S]:
    """Statuses from which a crew may report `to`."""
    return REPORTED.get(to, frozenset())


def legal(current: S, to: S) -> bool:
    return current in allowed_from(to)


def next_statuses(current: S, *, infectious: bool) -> list[S]:
    """What the crew's buttons offer next, in the order of a job."""
    order = list(S)
    return [to for to in order if legal(current, to)
            and not (to == S.AVAILABLE and infectious)
            and to != S.OUT_OF_SERVICE]

"""Who may do what: the role groups every route and socket checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Protocol

from fastapi import Request

from dispatch.auth.dependencies import SCHEME, RequestContext, RoleCheck, allow
from dispatch.auth.schemas import Principal, Role
from dispatch.errors import Forbidden

# Supervisors and administrators: they change zones, hospitals and routing rules, act for any
# call-taker position and rebuild live state.
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
CONFIGURERS = SUPERVISORS
# People at the dispatch centre's consoles.
CONSOLE = (Role.CALL_TAKER, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
# Those who send units and crews.
DISPATCHERS = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
# What telephony reports (a CTI adapter), or a supervisor on its behalf.
TELEPHONY = (Role.TELEPHONY, Role.SUPERVISOR, Role.ADMIN)
# Everyone signed in but telephony adapters: shared reference data (units, hospitals, zones).
READERS = (*CONSOLE, Role.HOSPITAL, Role.CREW)
# Who act for a unit: its own crew, or dispatchers for any (see require_own_unit).
UNIT_ACTORS = (Role.CREW, *DISPATCHERS)
# Who act for a hospital: its own terminal, or supervisors for any (see require_own_hospital).
HOSPITAL_ACTORS = (Role.HOSPITAL, *CONFIGURERS)
# Anyone signed in, telephony adapters included.
SIGNED_IN = tuple(Role)

console_only = allow(*CONSOLE)
dispatchers_only = allow(*DISPATCHERS)
telephony_only = allow(*TELEPHONY)
readers_only = allow(*READERS)
configurers_only = allow(*CONFIGURERS)
admins_only = allow(Role.ADMIN)
unit_actors_only = allow(*UNIT_ACTORS)
hospital_actors_only = allow(*HOSPITAL_ACTORS)
signed_in = allow(*SIGNED_IN)


def _for_own_unit(principal: Principal, request: Request) -> None:
    require_own_unit(principal, request.path_params["unit_id"], doing="acting for a unit")


# Routes under /units/{unit_id}: the unit's own crew, or dispatchers for any.
own_unit_actors = allow(*UNIT_ACTORS, scheme=RoleCheck(also=_for_own_unit, **SCHEME))

# What the routes of a call's life take: the role check and what the request works with.
ConsoleRequest = Annotated[RequestContext, console_only]
DispatcherRequest = Annotated[RequestContext, dispatchers_only]
TelephonyRequest = Annotated[RequestContext, telephony_only]
ReaderRequest = Annotated[RequestContext, readers_only]
UnitActorRequest = Annotated[RequestContext, unit_actors_only]
OwnUnitRequest = Annotated[RequestContext, own_unit_actors]
# The quality figures and monthly reports a supervisor answers for.
supervisors_only = allow(*CONFIGURERS)


def require(principal: Principal, *roles: Role, doing: str) -> None:
    """Raise Forbidden unless the principal holds one of `roles`."""
    if not principal.has(*roles):
        names = ", ".join(r.value for r in roles)
        raise Forbidden(f"{doing} needs one of the roles: {names}")


def require_own_hospital(principal: Principal, hospital_id: str, *, doing: str) -> None:
    """A hospital terminal acts for its own hospital; supervisors and administrators for any."""
    if principal.has(*CONFIGURERS):
        return
    if principal.has(Role.HOSPITAL) and principal.hospital_id == hospital_id:
        return
    raise Forbidden(f"{doing} is for the hospital's own staff, supervisors and administrators")


def require_own_unit(principal: Principal, unit_id: str, *, doing: str) -> None:
    """A crew acts for its own unit; dispatchers, supervisors and administrators for any."""
    if principal.has(*DISPATCHERS):
        return
    if principal.has(Role.CREW) and principal.unit_id == unit_id:
        return
    raise Forbidden(f"{doing} is for the unit's own crew and dispatchers")


def position_holder(principal: Principal) -> str | None:
    """Whose position a principal may act for: their own (a call-taker), or any (None)."""
    return None if principal.has(*SUPERVISORS) else principal.name


class Job(Protocol):
    """What makes a job a crew's or a hospital's own: the unit sent and where it goes."""

    @property
    def unit_id(self) -> str: ...

    @property
    def destination_hospital_id(self) -> str | None: ...


def sees_every_job(principal: Principal) -> bool:
    """People at the centre's consoles see every incident; crews and hospitals their own."""
    return principal.has(*CONSOLE)


def own_job(principal: Principal, job: Job) -> bool:
    """The job is the crew's unit's, or its patient goes to the hospital's terminal."""
    return ((principal.has(Role.CREW) and principal.unit_id == job.unit_id)
            or (principal.has(Role.HOSPITAL) and principal.hospital_id is not None
                and principal.hospital_id == job.destination_hospital_id))


def require_own_job(principal: Principal, jobs: Iterable[Job], *, doing: str) -> None:
    """Raise Forbidden unless the principal sees every job or one of `jobs` is its own."""
    if sees_every_job(principal) or any(own_job(principal, j) for j in jobs):
        return
    raise Forbidden(f"{doing} is for the centre's consoles, and for the crew and hospital of "
                    "the incident's own job")

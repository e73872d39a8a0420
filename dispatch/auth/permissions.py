"""Who may do what: the role groups every route and socket checks."""

from __future__ import annotations

from fastapi import Depends

from dispatch.auth.dependencies import allow
from dispatch.auth.schemas import Principal, Role
from dispatch.errors import Forbidden

# Who may change zones, hospitals and routing rules.
CONFIGURERS = (Role.ADMIN, Role.SUPERVISOR)
# People at the dispatch centre's consoles.
CONSOLE = (Role.CALL_TAKER, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
# Those who send units and crews.
DISPATCHERS = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
# What telephony reports (a CTI adapter), or a supervisor on its behalf.
TELEPHONY = (Role.TELEPHONY, Role.SUPERVISOR, Role.ADMIN)
# Who act for any call-taker position (log others in or out, set their state).
POSITION_MANAGERS = (Role.SUPERVISOR, Role.ADMIN)
# Everyone signed in but telephony adapters: shared reference data (units, hospitals, zones).
READERS = (*CONSOLE, Role.HOSPITAL, Role.CREW)

console_only = Depends(allow(*CONSOLE, doing="this console route"))
dispatchers_only = Depends(allow(*DISPATCHERS, doing="dispatching"))
telephony_only = Depends(allow(*TELEPHONY, doing="reporting telephony events"))
readers_only = Depends(allow(*READERS, doing="reading"))
configurers_only = Depends(allow(*CONFIGURERS, doing="changing configuration"))
admins_only = Depends(allow(Role.ADMIN, doing="managing accounts"))


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
    return None if principal.has(*POSITION_MANAGERS) else principal.name

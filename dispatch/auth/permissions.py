"""Role checks shared by the routes that change configuration."""

from __future__ import annotations

from dispatch.auth.schemas import Principal, Role
from dispatch.errors import Forbidden

# Who may change zones, hospitals and routing rules.
CONFIGURERS = (Role.ADMIN, Role.SUPERVISOR)


def require(principal: Principal, *roles: Role, doing: str) -> None:
    """Raise Forbidden unless the principal holds one of `roles`."""
    if not principal.has(*roles):
        names = ", ".join(r.value for r in roles)
        raise Forbidden(f"{doing} needs one of the roles: {names}")


def require_own_hospital(principal: Principal, hospital_id: str, *, doing: str) -> None:
    """A hospital terminal acts for its own hospital; supervisors and administrators for any."""
    if principal.has(*CONFIGURERS):
        return
    if principal.has(Role.HOSPITAL) and principal.hospital_id in (None, hospital_id):
        return
    raise Forbidden(f"{doing} is for the hospital's own staff, supervisors and administrators")

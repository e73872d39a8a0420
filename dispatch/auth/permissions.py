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

"""Who is making a request: a person with a role, or a device bound to a unit or hospital."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CALL_TAKER = "call_taker"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    HOSPITAL = "hospital"
    CREW = "crew"
    ADMIN = "admin"
    TELEPHONY = "telephony"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    roles: frozenset[Role]
    unit_id: str | None = None  # a crew tablet's token is bound to one unit
    hospital_id: str | None = None  # a hospital terminal's token to one hospital

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

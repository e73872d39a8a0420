"""Who made a change, in what role and from where."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    """The person (or loader) behind a change, as written to the audit log."""

    name: str
    role: str | None = None
    source: str | None = None  # client IP address, or e.g. "scenario:xian-high-tech-zone"


SYSTEM = Actor(name="system", role=None, source="hub")

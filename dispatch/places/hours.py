"""Opening hours: "24h" or local windows such as "08:00-12:00,18:00-08:00"; pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ALWAYS = "24h"
WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class HoursInvalid(ValueError):
    """Hours that cannot be read."""


@dataclass(frozen=True, slots=True)
class Hours:
    """When a place is open: always, unknown (None windows), or a list of daily windows."""

    always: bool
    windows: tuple[tuple[time, time], ...] | None  # None: not known

    def open_at(self, local: time) -> bool:
        if self.always or self.windows is None:
            return True
        for start, end in self.windows:
            if start <= end:
                if start <= local < end:
                    return True
            elif local >= start or local < end:  # runs past midnight
                return True
        return False


UNKNOWN = Hours(always=False, windows=None)


def _time(hour: str, minute: str) -> time:
    return time(23, 59, 59, 999_999) if hour == "24" else time(int(hour), int(minute))


def parse(text: str | None) -> Hours:
    """Read an hours string; raise HoursInvalid naming the bad part."""
    if text is None or not text.strip():
        return UNKNOWN
    text = text.strip()
    if text.lower() == ALWAYS:
        return Hours(always=True, windows=())
    windows = []
    for part in text.split(","):
        match = WINDOW.match(part.strip())
        if match is None:
            raise HoursInvalid(f"{part.strip()!r} is not HH:MM-HH:MM (or say \"24h\")")
        h1, m1, h2, m2 = match.groups()
        if h2 == "24" and m2 != "00":
            raise HoursInvalid(f"{part.strip()!r}: 24:00 is the latest time")
        start, end = _time(h1, m1), _time(h2, m2)
        if start == end:
            raise HoursInvalid(f"{part.strip()!r} opens and closes at the same time")
        windows.append((start, end))
    return Hours(always=False, windows=tuple(windows))


# China has kept UTC+8 without daylight saving since 1991: usable where no tz database is installed.
FIXED = {"Asia/Shanghai": timezone(timedelta(hours=8), "CST")}


@cache
def zone_info(name: str) -> tzinfo:
    """The named time zone; raise HoursInvalid when it is not known."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in FIXED:
            return FIXED[name]
        raise HoursInvalid(f"unknown time zone {name!r}") from None


def open_at(hours: Hours, timezone: str, at: datetime) -> bool:
    """Whether a place with these hours is open at `at` (an aware time)."""
    if hours.always or hours.windows is None:
        return True
    return hours.open_at(at.astimezone(zone_info(timezone)).time())

"""Read, validate and load scenario files into PostgreSQL and Redis."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.scenarios.models import ScenarioInfo
from dispatch.scenarios.schemas import Scenario

BUILTIN = {"xian-high-tech-zone": "xian_high_tech_zone.yaml"}


class ScenarioError(Exception):
    """A scenario file that cannot be loaded; `problems` name each bad entry."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_scenario(text: str, source: str) -> tuple[Scenario, str]:
    """Parse YAML or JSON text into a validated Scenario and its checksum."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise ScenarioError(source, [f"{where}: not valid YAML/JSON"]) from None
    if not isinstance(raw, dict):
        raise ScenarioError(source, ["the file must hold a mapping (name, title, centre, …)"])
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as error:
        problems = [f"{_loc(e['loc'])}: {e['msg']}" for e in error.errors()]
        raise ScenarioError(source, problems) from None
    problems = scenario.reference_errors()
    if problems:
        raise ScenarioError(source, problems)
    return scenario, hashlib.sha256(text.encode()).hexdigest()


def read_scenario(path_or_name: str) -> tuple[Scenario, str]:
    """Read a scenario file, or a built-in scenario by name."""
    if path_or_name in BUILTIN:
        text = resources.files("dispatch.scenarios").joinpath("data", BUILTIN[path_or_name])
        return parse_scenario(text.read_text(encoding="utf-8"), path_or_name)
    path = Path(path_or_name)
    if not path.is_file():
        raise ScenarioError(path_or_name, [
            f"no such file (built-in scenarios: {', '.join(sorted(BUILTIN))})"
        ])
    return parse_scenario(path.read_text(encoding="utf-8"), path.name)






async def current_scenario(*, session: AsyncSession) -> ScenarioInfo | None:
    """The most recently loaded scenario."""
    result = await session.scalars(
        select(ScenarioInfo).order_by(ScenarioInfo.loaded_at.desc()).limit(1)
    )
    return result.first()

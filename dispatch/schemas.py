"""The one strict base of what clients send: JSON types exactly as the OpenAPI declares them,
no unknown fields, no control characters, and coordinates Redis GEO can hold.

Pydantic's lax mode would take `true` for 1.0, `"5"` for 5 and a number of seconds for a
time; its strict mode refuses a UUID or a time given as a JSON string once FastAPI has parsed
the body. So each field's value is checked against the JSON type its annotation stands for,
before pydantic converts it.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import types
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FutureDatetime,
    NaiveDatetime,
    PastDatetime,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

# Control characters other than tab, line feed and carriage return (NUL included).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A number written as text: pydantic would read it as seconds since 1970 where a time is due.
NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
# Redis GEO (web-mercator) holds latitudes within ±85.05112878°.
GEO_LAT_LIMIT = 85.05112878

Latitude = Annotated[float, Field(ge=-GEO_LAT_LIMIT, le=GEO_LAT_LIMIT)]
Longitude = Annotated[float, Field(ge=-180, le=180)]

# Types a client sends as JSON strings (code may pass the Python objects themselves).
_OBJECTS = (uuid.UUID, dt.datetime, dt.date, dt.time, dt.timedelta)
_TIME_TYPES = (dt.datetime, dt.date, dt.time, AwareDatetime, NaiveDatetime, FutureDatetime,
               PastDatetime)
_TEXT_TYPES = (str, uuid.UUID, dt.timedelta, *_TIME_TYPES)
_CONTROL = "Input should not hold control characters"
_NOT_A_TIME = "Input should be a date and time in ISO 8601 (e.g. 2022-01-05T08:30:00+08:00)"


def _time_text(value: Any) -> Any:
    if isinstance(value, str) and NUMBER.fullmatch(value):
        raise PydanticCustomError("datetime_format", _NOT_A_TIME)
    return value


# A time in a query string: ISO 8601 only, never a bare number.
Moment = Annotated[AwareDatetime, BeforeValidator(_time_text)]


class StrictIn(BaseModel):
    """Base of request bodies and client messages."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is not None:
            problem = _field_checker(cls, info.field_name)(value)
            if problem:
                kind = "control_characters" if problem == _CONTROL else "json_type"
                raise PydanticCustomError(kind, problem)
        return value


_CHECKERS: dict[tuple[type, str], Callable[[Any], str | None]] = {}


def _field_checker(model: type[BaseModel], name: str) -> Callable[[Any], str | None]:
    """The check of a field's JSON type, worked out from its annotation once a field."""
    checker = _CHECKERS.get((model, name))
    if checker is None:
        checker = _CHECKERS[(model, name)] = checker_of(model.model_fields[name].annotation)
    return checker


def never_null(*names: str) -> Callable[[dict[str, Any]], None]:
    """A `json_schema_extra` saying these fields may be left out but are never null."""

    def drop_null(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema.get("properties", {}).get(name, {})
            branches = [b for b in field.pop("anyOf", []) if b.get("type") != "null"]
            if len(branches) == 1:
                field.update(branches[0])
            elif branches:
                field["anyOf"] = branches
            field.pop("default", None)

    return drop_null


def mismatch(value: Any, annotation: Any) -> str | None:
    """Why `value` (parsed JSON, or an object built in code) does not fit `annotation`."""
    return checker_of(annotation)(value)


def _fits(value: Any) -> str | None:
    return None


def checker_of(annotation: Any) -> Callable[[Any], str | None]:
    """A function telling why a value does not fit `annotation` (None: it fits), with the
    annotation's structure worked out once instead of at every value."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return checker_of(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        branches = [checker_of(a) for a in get_args(annotation)]
        nullable = type(None) in get_args(annotation)

        def any_branch(value: Any) -> str | None:
            if value is None and nullable:
                return None
            problems = [check(value) for check in branches]
            return None if None in problems else next(p for p in problems if p)

        return any_branch
    if annotation is Any or origin is Literal:
        return _fits  # Literal values are matched exactly by pydantic
    if annotation is type(None):
        return lambda value: None if value is None else "Input should be null"
    if origin in (list, tuple, set, frozenset):
        item = checker_of(get_args(annotation)[0] if get_args(annotation) else Any)

        def every_item(value: Any) -> str | None:
            if not isinstance(value, list | tuple | set | frozenset):
                return "Input should be a valid array"
            return next((p for v in value if (p := item(v))), None)

        return every_item
    if origin is dict or annotation is dict:
        return lambda value: _deep_text_mismatch(value) if isinstance(value, dict) \
            else "Input should be a valid object"
    if isinstance(annotation, type):
        return functools.partial(_scalar_mismatch, annotation=annotation)
    return _fits


def _scalar_mismatch(value: Any, annotation: type) -> str | None:
    if isinstance(value, annotation) and not (isinstance(value, bool) and annotation is not bool):
        return _text_mismatch(value) if isinstance(value, str) else None
    if annotation is bool:
        return "Input should be a valid boolean"
    if annotation is int:  # JSON Schema counts 3.0 as an integer
        whole = isinstance(value, float) and value.is_integer()
        return None if whole else "Input should be a valid integer"
    if annotation is float:
        number = isinstance(value, int) and not isinstance(value, bool)
        return None if number else "Input should be a valid number"
    if issubclass(annotation, enum.Enum):
        kinds = _member_types(annotation)
        return None if isinstance(value, kinds) and not isinstance(value, bool) else \
            "Input should be one of " + ", ".join(repr(m.value) for m in annotation)
    if issubclass(annotation, _TEXT_TYPES):
        if isinstance(value, _OBJECTS):
            return None
        if not isinstance(value, str):
            return "Input should be a valid string"
        if issubclass(annotation, _TIME_TYPES) and NUMBER.fullmatch(value):
            return _NOT_A_TIME
        return _text_mismatch(value)
    if issubclass(annotation, BaseModel):
        return None if isinstance(value, dict) else "Input should be a valid object"
    return None


@functools.cache
def _member_types(annotation: type[enum.Enum]) -> tuple[type, ...]:
    return tuple({type(m.value) for m in annotation})


def _text_mismatch(value: str) -> str | None:
    return _CONTROL if CONTROL.search(value) else None


def _deep_text_mismatch(value: Any) -> str | None:
    """Control characters anywhere in free-form JSON (keys included)."""
    if isinstance(value, str):
        return _text_mismatch(value)
    if isinstance(value, dict):
        return next((p for k, v in value.items()
                     if (p := _deep_text_mismatch(k) or _deep_text_mismatch(v))), None)
    if isinstance(value, list | tuple):
        return next((p for v in value if (p := _deep_text_mismatch(v))), None)
    return None

"""Domain errors and the one place that turns them into RFC 9457 problem details."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"


class DispatchError(Exception):
    """Base of every domain error; `slug` gives the stable problem type."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors or [])
        self.extra = extra

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class InvalidInput(DispatchError):
    status = 422
    slug = "invalid-input"
    title = "The request is invalid"

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class NotFound(DispatchError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DispatchError):
    status = 409
    slug = "conflict"
    title = "Conflicts with the current state"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "That state change is not allowed"


class Unauthorized(DispatchError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(DispatchError):
    status = 403
    slug = "forbidden"
    title = "Not allowed for this role"


class RateLimited(DispatchError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"


class Unavailable(DispatchError):
    status = 503
    slug = "unavailable"
    title = "A storage service is unavailable"


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Name each invalid field as a dotted path, e.g. `body.location.lat`."""
    out = []
    for item in errors:
        loc = ".".join(str(p) for p in item.get("loc", ()))
        out.append({"field": loc, "message": item.get("msg", "invalid"), "type": item.get("type")})
    return out


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that render every error as problem details."""

    @app.exception_handler(DispatchError)
    async def _domain(request: Request, exc: DispatchError) -> JSONResponse:
        retry = exc.extra.get("retry_after", 1)
        headers = {"Retry-After": str(retry)} if exc.status in (429, 503) else None
        return problem_response(exc.problem(request.url.path), headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc.errors())
        fields = ", ".join(e["field"] for e in errors)
        err = InvalidInput(f"invalid field(s): {fields}", errors=errors)
        return problem_response(err.problem(request.url.path))

    @app.exception_handler(ValidationError)
    async def _model_validation(request: Request, exc: ValidationError) -> JSONResponse:
        errors = validation_errors(exc.errors())
        fields = ", ".join(e["field"] for e in errors)
        err = InvalidInput(f"invalid field(s): {fields}", errors=errors)
        return problem_response(err.problem(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:  # every method of the resource, not just one route's
            headers["Allow"] = ", ".join(allowed_methods(request.app.openapi(), request.url.path)
                                         or [headers.get("Allow", "")])
        body = {
            "type": "about:blank",
            "title": str(exc.detail),
            "status": exc.status_code,
            "detail": str(exc.detail),
            "instance": request.url.path,
        }
        return problem_response(body, headers or None)

    async def _storage_down(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, DBAPIError) and not isinstance(exc, OperationalError | InterfaceError) \
                and not exc.connection_invalidated:
            return await _unexpected(request, exc)  # a bug, not an outage
        log.warning("storage unavailable on %s: %s", request.url.path, type(exc).__name__)
        err = Unavailable("the database or Redis cannot be reached; retry shortly")
        return problem_response(err.problem(request.url.path), {"Retry-After": "1"})

    for exc_type in (OperationalError, DBAPIError, RedisConnectionError, RedisTimeoutError,
                     ConnectionError, OSError):
        app.add_exception_handler(exc_type, _storage_down)

    @app.exception_handler(Exception)
    async def _unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
        return await _unexpected(request, exc)


def allowed_methods(openapi: dict[str, Any], path: str) -> list[str]:
    """The methods the OpenAPI declares for the path (the most literal template that matches)."""
    matches = [(template.count("{"), methods) for template, methods in openapi.get("paths", {}).items()
               if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), path)]
    if not matches:
        return []
    fewest = min(count for count, _ in matches)
    methods = {m.upper() for count, ms in matches if count == fewest for m in ms}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    body = {
        "type": PROBLEM_BASE + "internal",
        "title": "Internal error",
        "status": 500,
        "detail": "the hub could not complete the request; it has been logged",
        "instance": request.url.path,
    }
    return problem_response(body)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` names each invalid field.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
        }},
    },
}


def problem_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Describe every error response as problem details instead of FastAPI's defaults."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for path, methods in schema.get("paths", {}).items():
        for operation in methods.values():
            responses = operation.setdefault("responses", {})
            for status, description in documented_errors(path, operation):
                responses.setdefault(status, {"description": description, "content": problem})
            if "422" in responses:
                responses["422"] = {"description": INVALID, "content": problem}
            responses["default"] = {"description": "An error, as problem details",
                                    "content": problem}
    components.pop("Problem")  # it echoes what was sent: no pattern of its own
    text_without_control_characters(schema)
    components["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


INVALID = ("Invalid input, each bad field named in `errors`: a value of the wrong JSON type or "
           "outside its limits, a control character, a time in the future, a location outside "
           "the service area, or an id (hospital, unit, place, zone) that does not exist")
# Text in requests and responses holds no control characters but tab, line feed and return.
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"


def documented_errors(path: str, operation: dict[str, Any]) -> list[tuple[str, str]]:
    """The errors an operation may answer with, beyond its own."""
    errors = [("422", INVALID)]
    if operation.get("security"):
        errors += [("401", "No token, or one expired or revoked"),
                   ("403", "Not one of the roles this operation declares, or acting for "
                           "another position, unit or hospital")]
    if path == "/api/v1/auth/login":
        errors.append(("429", "Too many failed logins for this account or address"))
    return errors


def text_without_control_characters(node: Any) -> None:
    """Declare in every plain string schema that control characters are refused."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"format", "enum", "pattern", "const"} & set(node):
            node["pattern"] = TEXT_PATTERN
        for value in node.values():
            text_without_control_characters(value)
    elif isinstance(node, list):
        for value in node:
            text_without_control_characters(value)

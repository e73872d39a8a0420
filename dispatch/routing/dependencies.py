"""Read an uploaded rule set from the request body: YAML text, or JSON {"source": …}."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import ValidationError

from dispatch.errors import InvalidInput, validation_errors
from dispatch.routing.schemas import RuleSetUpload

MAX_BYTES = 1_000_000
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")

RULE_SET_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": RuleSetUpload.model_json_schema()},
        },
    }
}


async def rule_set_source(request: Request) -> str:
    """The rule set's YAML text from the body."""
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise InvalidInput.field("body", f"larger than {MAX_BYTES} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            return RuleSetUpload.model_validate_json(body).source
        except ValidationError as error:
            errors = [{**e, "field": "body." + e["field"] if e["field"] else "body"}
                      for e in validation_errors(error.errors())]
            raise InvalidInput("invalid field(s): " + ", ".join(e["field"] for e in errors),
                               errors=errors) from None
    if kind not in YAML_TYPES:
        raise InvalidInput.field("body", "send the rule set as application/yaml, or as "
                                         "application/json {\"source\": \"…\"}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.field("body", "not UTF-8 text") from None
    if not text.strip():
        raise InvalidInput.field("body", "empty rule set")
    return text


RuleSetSource = Annotated[str, Depends(rule_set_source)]

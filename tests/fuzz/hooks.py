"""A check schemathesis loads for the hub (SCHEMATHESIS_HOOKS=tests.fuzz.hooks): a request the
OpenAPI calls valid is never refused for its shape, only for what a schema cannot say."""

from __future__ import annotations

import json

import schemathesis
from schemathesis import Case, CheckContext, Response

# Pydantic's (and dispatch.schemas') errors about the shape of a value: the OpenAPI states all
# of these, so a request it calls valid must never meet one. (Not `string_too_short`: the hub
# strips surrounding blanks, so "  " where one character is the minimum is refused on purpose.)
SHAPE_ERRORS = frozenset({
    "json_type", "missing", "extra_forbidden", "string_type", "int_type", "int_parsing",
    "int_from_float", "string_too_long", "float_type", "float_parsing", "bool_type",
    "bool_parsing", "too_short", "too_long", "greater_than", "greater_than_equal", "less_than",
    "less_than_equal",
    "string_pattern_mismatch", "enum", "literal_error", "uuid_type", "uuid_parsing",
    "datetime_type", "datetime_parsing", "datetime_from_date_parsing", "datetime_format",
    "list_type", "dict_type", "model_type", "model_attributes_type", "multiple_of",
})


@schemathesis.check
def valid_shape_is_never_refused(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if any(not c.mode.is_positive for c in meta.components.values()):
        return None  # one part of the request was made invalid on purpose
    try:
        errors = json.loads(response.content).get("errors", [])
    except ValueError:
        return None
    # In the stateful phase, path and query parameters come from earlier responses along the
    # links schemathesis inferred (a null id becomes "None", or is left out), not the schema.
    linked = meta.phase.name == "stateful"
    shape = [e for e in errors if e.get("type") in SHAPE_ERRORS
             and not (linked and str(e.get("field", "")).startswith(("path.", "query.")))]
    if shape:
        raise AssertionError(f"a request the OpenAPI calls valid was refused for its shape: {shape}")
    return None

"""Routing errors."""

from __future__ import annotations

from dispatch.errors import Conflict, InvalidInput
from dispatch.routing.rules import RuleSetInvalid


class RuleSetRejected(InvalidInput):
    slug = "invalid-rule-set"
    title = "The rule set is rejected whole"

    @classmethod
    def of(cls, error: RuleSetInvalid) -> RuleSetRejected:
        first = error.errors[0]
        more = len(error.errors) - 1
        detail = f"{first['field']}: {first['message']}" + (f" (and {more} more)" if more else "")
        return cls(detail, errors=error.errors)


class NotRoutable(Conflict):
    slug = "not-routable"
    title = "The incident cannot be routed yet"


class NoRuleSet(Conflict):
    slug = "no-rule-set"
    title = "No routing rule set is active"

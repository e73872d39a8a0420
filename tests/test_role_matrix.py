"""Every route × every role (and no token), generated from the OpenAPI and the roles each route
declares there (the scopes of its `bearer` security requirement): each call gets exactly what
the declaration says — 401 without a token, 403 naming the declared roles for any other role,
and past the role check for a declared one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dispatch.auth.schemas import Role
from tests.conftest import token_for

NIL = "00000000-0000-0000-0000-000000000000"
# Routes anyone may call without signing in.
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/api/v1/auth/login")}
# What the issue asks of particular routes: (method, path) -> the roles that may call them.
REQUIRED = {
    ("POST", "/api/v1/hospitals/{hospital_id}/suspend"): {"supervisor", "admin"},
    ("POST", "/api/v1/hospitals/{hospital_id}/reopen"): {"supervisor", "admin"},
    ("POST", "/api/v1/devices"): {"admin"},
    ("PUT", "/api/v1/positions/{position_id}/state"): {"call_taker", "dispatcher", "supervisor",
                                                       "admin"},
    ("POST", "/api/v1/units/{unit_id}/status"): {"crew", "dispatcher", "supervisor", "admin"},
    ("PATCH", "/api/v1/hospitals/{hospital_id}"): {"hospital", "supervisor", "admin"},
    ("GET", "/api/v1/incidents/{incident_id}"): {"call_taker", "dispatcher", "supervisor", "admin"},
}


def example(schema: dict[str, Any]) -> Any:
    """A value of the parameter's type (the route's role check comes before its meaning)."""
    options = schema.get("anyOf") or [schema]
    first = next((o for o in options if o.get("type") != "null"), options[0])
    if "enum" in first:
        return first["enum"][0]
    if first.get("format") == "uuid":
        return NIL
    return {"integer": 1, "number": 34.2, "boolean": False}.get(first.get("type", ""), "x")


def requests_of(schema: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any], set[str] | None]]:
    """(method, path template, url, request keywords, declared roles or None when public)."""
    out = []
    for template, methods in schema["paths"].items():
        for method, operation in methods.items():
            url, params = template, {}
            for parameter in operation.get("parameters", []):
                value = example(parameter.get("schema", {}))
                if parameter["in"] == "path":
                    url = url.replace("{" + parameter["name"] + "}", str(value))
                elif parameter["in"] == "query" and parameter.get("required"):
                    params[parameter["name"]] = value
            keywords: dict[str, Any] = {"params": params}
            if "requestBody" in operation:
                keywords["json"] = {}
            security = operation.get("security")
            declared = {r for requirement in security for r in requirement.get("bearer", [])} \
                if security else None
            out.append((method.upper(), template, url, keywords, declared))
    return out


async def test_every_route_with_every_role_gets_what_it_declares(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    schema = (await client.get("/openapi.json")).json()
    routes = requests_of(schema)
    assert len(routes) > 80
    transport = httpx.ASGITransport(app=app)
    checked = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
        for method, template, url, keywords, declared in routes:
            if declared is None:
                assert (method, template) in PUBLIC, f"{method} {template} declares no roles"
                anonymous = await http.request(method, url, **keywords)
                assert anonymous.status_code not in (401, 403), (method, template)
                continue
            assert declared, f"{method} {template}: an empty declaration admits nobody"
            assert declared <= {r.value for r in Role}, (method, template, declared)
            if (method, template) in REQUIRED:
                assert declared == REQUIRED[(method, template)], (method, template, declared)
            anonymous = await http.request(method, url, **keywords)
            assert anonymous.status_code == 401, (method, template, anonymous.text)
            for role in Role:
                headers = {"Authorization": "Bearer " + token_for(
                    role.value, unit_id="A1", hospital_id="general", name=f"matrix-{role.value}")}
                response = await http.request(method, url, headers=headers, **keywords)
                body = response.json() if response.content and response.headers.get(
                    "content-type", "").endswith("json") else {}
                refused_for_role = response.status_code == 403 and "roles" in body
                if role.value in declared:
                    assert response.status_code != 401, (method, template, role)
                    assert not refused_for_role, (method, template, role, response.text)
                    assert response.status_code < 500, (method, template, role, response.text)
                else:
                    assert refused_for_role, (method, template, role, response.status_code)
                    assert set(body["roles"]) == declared, (method, template, body)
                    assert body["type"] == "/problems/forbidden"
                checked += 1
    assert checked >= 80 * len(Role)


@pytest.mark.parametrize("role", [r.value for r in Role])
async def test_every_role_has_routes_it_may_call(
    client: httpx.AsyncClient, role: str
) -> None:
    schema = (await client.get("/openapi.json")).json()
    bearer = schema["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    callable_by_role = [op for methods in schema["paths"].values() for op in methods.values()
                        if any(role in req.get("bearer", []) for req in op.get("security", []))]
    assert callable_by_role, f"no route for {role}"

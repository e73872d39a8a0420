"""Rule sets: the default is active from the start; upload, validate, activate, roll back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from dispatch.audit import service as audit_service
from dispatch.routing.service import default_source
from tests.conftest import AUTH, token_for

YAML = {"content-type": "application/yaml"}
SIMPLE = """
name: everyone to the guarantee hospital
defaults:
  transport: {mode: ambulance, capabilities: [ambulance]}
fallback:
  - {nearest: [emergency]}
rules:
  - id: guarantee
    seed: "000 二(四)2"
    then:
      destination: [{designated: guarantee}]
"""
WHERE = {"lat": 34.205, "lon": 108.880, "severity": "urgent", "category": "pregnant"}


def with_rule(rule: dict[str, Any], source: str = SIMPLE) -> str:
    doc = yaml.safe_load(source)
    doc["rules"].append(rule)
    return yaml.safe_dump(doc, allow_unicode=True)


async def versions_of(client: httpx.AsyncClient) -> list[tuple[int, bool]]:
    return [(r["version"], r["active"]) for r in (await client.get("/api/v1/routing/rule-sets")).json()]


async def test_default_rule_set_is_active_from_the_start(client: httpx.AsyncClient, app: Any) -> None:
    active = (await client.get("/api/v1/routing/rule-sets/active")).json()
    assert (active["version"], active["created_by"], active["active"]) == (1, "system", True)
    assert active["source"] == default_source()
    assert active["rules"][0] == "critical-no-wait"
    assert "everyone-else" in active["rules"]
    # Every rule names its seed and clause.
    assert all(rule.get("seed") for rule in yaml.safe_load(active["source"])["rules"])
    async with app.state.runtime.sessionmaker() as session:
        entries = await audit_service.entries_for(session, target_type="rule_set")
    assert [(e.action, e.actor) for e in entries] == [("rule_set.uploaded", "system"),
                                                      ("rule_set.activated", "system")]


async def test_upload_activate_and_roll_back(client: httpx.AsyncClient, app: Any, xian: Any) -> None:
    before = (await client.post("/api/v1/routing/evaluate", json=WHERE)).json()
    assert (before["destination"]["hospital_id"], before["rule_set_version"]) == ("xjtu-first", 1)

    uploaded = await client.post("/api/v1/routing/rule-sets", content=SIMPLE, headers=YAML)
    assert uploaded.status_code == 201, uploaded.text
    assert (uploaded.json()["version"], uploaded.json()["active"]) == (2, False)
    assert uploaded.json()["rules"] == ["guarantee"]
    still = (await client.post("/api/v1/routing/evaluate", json=WHERE)).json()
    assert still["rule_set_version"] == 1  # stored, not active

    trial = (await client.post("/api/v1/routing/evaluate", json={**WHERE, "rule_set_version": 2})).json()
    assert (trial["destination"]["hospital_id"], trial["rule_set_version"]) == (
        "xian-medical-university-first", 2)

    activated = await client.post("/api/v1/routing/rule-sets/2/activate")
    assert activated.json()["active"] is True
    assert await versions_of(client) == [(2, True), (1, False)]
    after = (await client.post("/api/v1/routing/evaluate", json=WHERE)).json()
    assert (after["destination"]["hospital_id"], after["rule_set_version"]) == (
        "xian-medical-university-first", 2)
    assert [m["id"] for m in after["matched_rules"]] == ["guarantee"]

    third = await client.post("/api/v1/routing/rule-sets", params={"activate": "true"},
                              json={"source": default_source()})
    assert (third.json()["version"], third.json()["active"]) == (3, True)

    back = await client.post("/api/v1/routing/rule-sets/rollback")
    assert back.json()["version"] == 2
    assert (await client.post("/api/v1/routing/evaluate", json=WHERE)).json()["rule_set_version"] == 2
    back_again = await client.post("/api/v1/routing/rule-sets/rollback")
    assert back_again.json()["version"] == 1
    nothing_left = await client.post("/api/v1/routing/rule-sets/rollback")
    assert nothing_left.status_code == 409
    assert await versions_of(client) == [(3, False), (2, False), (1, True)]

    async with app.state.runtime.sessionmaker() as session:
        entries = await audit_service.entries_for(session, target_type="rule_set")
    assert [(e.action, e.target_id, (e.before or {}).get("active_version")) for e in entries[2:]] == [
        ("rule_set.uploaded", "2", None), ("rule_set.activated", "2", 1),
        ("rule_set.uploaded", "3", None), ("rule_set.activated", "3", 2),
        ("rule_set.rolled_back", "2", 3), ("rule_set.rolled_back", "1", 2)]
    assert {e.actor for e in entries[2:]} == {"test-operator"}


BAD_RULES = [
    ("name: [unclosed", "line 1", "expected ',' or ']'"),
    ("- just a list", "(top level)", "mapping"),
    (with_rule({"id": "x", "seed": "s", "when": {"severity": ["dying"]}, "then": {}}),
     "rules[1] (x).when.severity[0]", "critical"),
    (with_rule({"id": "x", "seed": "s", "then": {"destination": [{"teleport": "moon"}]}}),
     "rules[1] (x).then.destination[0]", "a destination is one of"),
    (with_rule({"id": "x", "seed": "s", "then": {"destination": [{"nearest": ["bakery"]}]}}),
     "rules[1] (x).then.destination[0].nearest[0]", "emergency"),
    (with_rule({"id": "x", "seed": "s", "then": {
        "transport": {"mode": "ambulance", "capabilities": ["closed_loop"]}}}),
     "rules[1] (x).then.transport", "ambulance needs unit capabilities ['ambulance']"),
    (with_rule({"id": "x", "seed": "s", "then": {
        "transport": {"mode": "closed_loop_vehicle", "capabilities": ["closed_loop", "negative_pressure"]}}}),
     "rules[1] (x).then.transport", "cannot ask for unit capabilities ['negative_pressure']"),
    (with_rule({"id": "x", "seed": "s", "then": {"paperwork": ["community_certificate"]}}),
     "rules[1] (x).then.paperwork", "critical patients never wait"),
    (with_rule({"id": "x", "seed": "s", "when": {"severity": ["critical", "urgent"]},
                "then": {"paperwork": ["community_certificate"]}}),
     "rules[1] (x).then.paperwork", "critical patients never wait"),
    (with_rule({"id": "guarantee", "seed": "s", "then": {}}), "rules[1] (guarantee).id", "duplicate"),
    (with_rule({"id": "x", "then": {}}), "rules[1] (x).seed", "Field required"),
    (with_rule({"id": "x", "seed": "s", "then": {}, "priority": 3}), "rules[1] (x).priority",
     "Extra inputs"),
    (with_rule({"id": "x", "seed": "s", "then": {"destination": [{"hospital": "atlantis"}]}}),
     "rules[1] (x).then.destination[0].hospital", "unknown hospital 'atlantis'"),
    (SIMPLE.replace("fallback:\n  - {nearest: [emergency]}\n", ""), "fallback", "Field required"),
]


@pytest.mark.parametrize(("source", "field", "message"), BAD_RULES)
async def test_invalid_rule_set_is_rejected_whole_naming_the_rule(
    client: httpx.AsyncClient, app: Any, xian: Any, source: str, field: str, message: str
) -> None:
    checked = await client.post("/api/v1/routing/rule-sets/validate", content=source, headers=YAML)
    assert checked.status_code == 422, checked.text
    problem = checked.json()
    assert problem["type"] == "/problems/invalid-rule-set"
    assert problem["errors"][0]["field"] == field, problem
    assert message in problem["errors"][0]["message"], problem
    assert problem["detail"].startswith(field)
    uploaded = await client.post("/api/v1/routing/rule-sets", content=source, headers=YAML,
                                 params={"activate": "true"})
    assert uploaded.status_code == 422
    assert uploaded.json()["errors"] == problem["errors"]
    assert await versions_of(client) == [(1, True)]


async def test_validate_reports_a_good_rule_set(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/routing/rule-sets/validate", json={"source": default_source()})
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert len(body["rules"]) == 47
    assert await versions_of(client) == [(1, True)]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"content": b"", "headers": YAML}, "body"),
    ({"content": b"\xff\xfe", "headers": YAML}, "body"),
    ({"content": b"rules: []", "headers": {"content-type": "application/pdf"}}, "body"),
    ({"json": {"source": ""}}, "body.source"),
    ({"json": {"text": SIMPLE}}, "body.source"),
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, "body"),
])
async def test_bad_upload_body_names_the_field(
    client: httpx.AsyncClient, kwargs: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/routing/rule-sets", **kwargs)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await versions_of(client) == [(1, True)]


async def test_unknown_versions(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/routing/rule-sets/7")).status_code == 404
    assert (await client.post("/api/v1/routing/rule-sets/7/activate")).status_code == 404
    again = await client.post("/api/v1/routing/rule-sets/1/activate")
    assert again.json()["active"] is True
    evaluate = await client.post("/api/v1/routing/evaluate", json={**WHERE, "rule_set_version": 7})
    assert evaluate.status_code == 404
    bad = await client.post("/api/v1/routing/evaluate", json={**WHERE, "rule_set_version": 0})
    assert bad.json()["errors"][0]["field"] == "body.rule_set_version"


async def test_only_supervisors_change_rule_sets(client: httpx.AsyncClient, app: Any) -> None:
    client.headers["Authorization"] = "Bearer " + token_for("dispatcher", name="d1")
    try:
        assert (await client.post("/api/v1/routing/rule-sets", content=SIMPLE,
                                  headers=YAML)).status_code == 403
        assert (await client.post("/api/v1/routing/rule-sets/1/activate")).status_code == 403
        assert (await client.post("/api/v1/routing/rule-sets/rollback")).status_code == 403
        validated = await client.post("/api/v1/routing/rule-sets/validate", content=SIMPLE,
                                      headers=YAML)
        assert validated.status_code == 200
    finally:
        client.headers.update(AUTH)


async def test_openapi_describes_the_routing_routes(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    upload = schema["paths"]["/api/v1/routing/rule-sets"]["post"]
    assert set(upload["requestBody"]["content"]) == {"application/yaml", "application/json"}
    for path in ("/api/v1/routing/evaluate", "/api/v1/zones/import", "/api/v1/zones/lookup",
                 "/api/v1/hospitals/{hospital_id}", "/api/v1/routing/rule-sets/rollback"):
        assert path in schema["paths"]

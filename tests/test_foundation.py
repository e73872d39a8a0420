"""The hub starts, reports readiness, lists its scenario and explains bad configuration."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from dispatch.config import ConfigurationError, Settings, load_settings
from dispatch.handovers.models import Handover
from dispatch.lifespan import StartupError, open_runtime
from dispatch.main import create_app
from dispatch.scenarios.service import ScenarioError, parse_scenario, read_scenario
from tests.conftest import TEST_SECRET
from tests.conftest import xian_hub as hub
from tests.factories import small_scenario

ROOT = Path(__file__).resolve().parent.parent


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "alive"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "head", "redis": "ok"}


async def test_scenario_units_and_hospitals_are_listed(
    client: httpx.AsyncClient, scenario: Any
) -> None:
    units = (await client.get("/api/v1/units")).json()
    assert [u["id"] for u in units] == ["A1", "A2", "B1"]
    assert {u["status"] for u in units} == {"available"}
    assert units[0]["lat"] == pytest.approx(34.18)  # placed at its post
    hospitals = {h["id"]: h for h in (await client.get("/api/v1/hospitals")).json()}
    assert hospitals["closed"]["status"] == "suspended"
    assert hospitals["general"]["designations"] == ["guarantee", "pregnant", "dialysis"]
    posts = (await client.get("/api/v1/posts")).json()
    assert [p["id"] for p in posts] == ["post-n", "post-s"]
    info = (await client.get("/api/v1/scenario")).json()
    assert info["name"] == "test-town"


async def test_metrics_in_prometheus_format(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert 'dispatch_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text


async def test_unknown_route_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


@contextlib.asynccontextmanager
async def demo_hub(data_dir: Path) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The hub as `make demo` runs it (a SQLite file and in-process Redis) with seed 000's
    scenario loaded, and a client signed in with every role."""
    settings = Settings(data_dir=data_dir, background_tasks=False, secret_key=TEST_SECRET)
    assert settings.embedded
    async with hub(create_app(settings)) as started:
        yield started


async def test_embedded_default_smoke(tmp_path: Path) -> None:
    """With no URLs the hub runs on a SQLite file and in-process Redis."""
    async with demo_hub(tmp_path) as (_, http):
        assert (await http.get("/readyz")).status_code == 200
        units = (await http.get("/api/v1/units")).json()
        hospitals = (await http.get("/api/v1/hospitals")).json()
    assert (tmp_path / "dispatch.sqlite3").is_file()
    ambulances = [u for u in units if u["kind"] in ("ambulance", "negative_pressure_ambulance")]
    assert len(ambulances) == 10  # seed 000: 10 crews
    suspended = {h["id"] for h in hospitals if h["status"] == "suspended"}
    assert suspended == {"xian-gaoxin", "xian-international-medical-center"}


async def test_embedded_default_carries_a_call_to_the_hospital(tmp_path: Path) -> None:
    """`make demo`'s SQLite file and in-process Redis take a call from ring to handover."""
    async with demo_hub(tmp_path) as (app, http):
        rt = app.state.runtime

        async def ok(method: str, url: str, body: Any = None, status: int = 200) -> Any:
            reply = await http.request(method, url, json=body)
            assert reply.status_code == status, (url, reply.text)
            return reply.json()

        await ok("POST", "/api/v1/positions/P01/login", {"user": "demo", "ready": True})
        call = await ok("POST", "/api/v1/calls", {
            "telephony_call_id": "demo-1", "line": "120-1", "rung_at": rt.clock.now().isoformat()},
            status=201)
        await ok("POST", f"/api/v1/calls/{call['id']}/answer", {"position_id": "P01"})
        incident = await ok("POST", "/api/v1/incidents", {
            "call_id": call["id"], "location": {"lat": 34.2, "lon": 108.88},
            "severity": "urgent", "category": "ordinary", "complaint": "fall"}, status=201)
        best = (await ok("GET", f"/api/v1/incidents/{incident['id']}/recommendations"))
        unit = best["candidates"][0]["unit_id"]
        job = await ok("POST", "/api/v1/assignments",
                       {"incident_id": incident["id"], "unit_id": unit}, status=201)
        await ok("POST", f"/api/v1/assignments/{job['id']}/acknowledge", {})
        for to in ("en_route", "on_scene", "transporting", "at_hospital"):
            await ok("POST", f"/api/v1/units/{unit}/status", {"status": to})
        coming = await ok("GET", "/api/v1/handovers")
        refused = await http.post(f"/api/v1/units/{unit}/status", json={"status": "handover_done"})
        await ok("POST", f"/api/v1/units/{unit}/status",
                 {"status": "handover_done", "reason": "triage nurse took the patient"})
        waiting = await ok("GET", "/api/v1/handovers")
        async with rt.sessionmaker() as session:
            [handover] = (await session.scalars(select(Handover))).all()
    assert [(h["unit_id"], h["status"], h["hospital_id"]) for h in coming] == [
        (unit, "arrived", job["destination_hospital_id"])]
    assert coming[0]["category"] == "ordinary"
    assert coming[0]["hospital_name"]
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.reason"
    assert waiting == []
    assert (handover.status, handover.done_by_crew_reason) == (
        "handed_over", "triage nurse took the patient")
    assert handover.arrived_at is not None
    assert handover.done_at is not None
    assert handover.arrived_at <= handover.done_at


def test_builtin_scenario_matches_seed_000() -> None:
    scenario, _ = read_scenario("xian-high-tech-zone")
    crews = {p.id: p.crews for p in scenario.posts}
    assert crews["zhangba-chc"] == crews["fenglin-lvzhou-chc"] == 2
    assert sum(crews.values()) == 10
    population = {s.id: s.population for s in scenario.sub_districts}
    assert population["zhangba"] == 400_000
    assert population["yuhua"] == 98_000
    assert population["xiliu"] + population["lingzhao"] == 206_000
    assert population["xinglong"] + population["dongda"] + population["wuxing"] == 190_000
    assert population["caotang"] + population["qindu"] + population["pangguang"] == 156_000
    assert population["jixian"] + population["jiufeng"] == 60_000
    paired = {p.id: p.paired_hospital for p in scenario.posts}
    assert len(paired) == 9
    assert paired["qindu-chc"] == "xian-medical-college-affiliated"
    designated = {d: {h.id for h in scenario.hospitals if d in h.designations}
                  for d in ("pregnant", "newborn", "dialysis", "cancer", "guarantee")}
    assert len(designated["pregnant"]) == 5
    assert designated["newborn"] == {"xian-childrens", "northwest-women-children",
                                     "shaanxi-provincial-peoples"}
    assert len(designated["dialysis"]) == 7
    assert designated["cancer"] == {"shaanxi-cancer", "shaanxi-provincial-peoples", "xjtu-first"}
    assert designated["guarantee"] == {"xian-medical-university-first"}


def test_malformed_scenario_names_the_bad_entry() -> None:
    data = small_scenario()
    data["units"][1]["kind"] = "helicopter"
    data["units"][2]["post"] = "nowhere"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(yaml.safe_dump(data), "bad.yaml")
    assert any(p.startswith("units[1].kind:") for p in caught.value.problems)
    data["units"][1]["kind"] = "ambulance"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(yaml.safe_dump(data), "bad.yaml")
    assert caught.value.problems == ["units[2] (B1).post: unknown post 'nowhere'"]
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("name: [unclosed", "broken.yaml")
    assert caught.value.problems[0].startswith("line 1")


def test_bad_settings_fail_fast() -> None:
    with pytest.raises(ConfigurationError, match="DISPATCH_DATABASE_URL: must start with"):
        load_settings(database_url="mysql://x/y")
    with pytest.raises(ConfigurationError, match="DISPATCH_ESCALATION_SECONDS"):
        load_settings(escalation_seconds=-1)
    with pytest.raises(ConfigurationError, match="production needs DISPATCH_DATABASE_URL"):
        load_settings(environment="production")


async def test_unreachable_redis_is_one_clear_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(StartupError, match=r"^DISPATCH_REDIS_URL: cannot connect to redis://127\.0\.0\.1:1/0"):
        async with open_runtime(settings):
            pass


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dispatch.cli", *args], capture_output=True, text=True,
        env=env, cwd=ROOT, timeout=60, check=False,
    )


def test_cli_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "DISPATCH_DATA_DIR": str(tmp_path)}
    bad_db = run_cli("migrate", env={**env, "DISPATCH_DATABASE_URL":
                                     "postgresql+asyncpg://nobody@127.0.0.1:1/none"})
    assert bad_db.returncode == 2
    assert bad_db.stderr.startswith("error: DISPATCH_DATABASE_URL:")
    assert "Traceback" not in bad_db.stderr

    bad_scheme = run_cli("migrate", env={**env, "DISPATCH_DATABASE_URL": "mysql://x"})
    assert bad_scheme.returncode == 2
    assert bad_scheme.stderr.strip().count("\n") == 0
    assert "DISPATCH_DATABASE_URL: must start with" in bad_scheme.stderr

    no_redis = run_cli("scenario", "load", "xian-high-tech-zone",
                       env={**env, "DISPATCH_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert no_redis.returncode == 2
    assert no_redis.stderr.strip().splitlines()[-1].startswith(
        "error: DISPATCH_REDIS_URL: cannot connect")
    assert "Traceback" not in no_redis.stderr

    scenario_file = tmp_path / "bad.yaml"
    data = small_scenario()
    data["hospitals"][0]["location"]["lat"] = 123
    scenario_file.write_text(yaml.safe_dump(data))
    bad_file = run_cli("scenario", "validate", str(scenario_file), env=env)
    assert bad_file.returncode == 2
    assert bad_file.stderr.strip() == (
        "error: bad.yaml: hospitals[0].location.lat: Input should be less than or equal to 85.05112878"
    )

"""Fuzzing every HTTP route from the OpenAPI schema with schemathesis: every check it has.

The hub runs as its own process on a database of its own, with the built-in scenario loaded.
Schemathesis runs its phases (coverage, fuzzing, stateful along the links it infers between
operations), positive and negative data, with a fixed seed, as several kinds of caller: a
supervisor who is also administrator, dispatcher, call-taker and telephony (who may call
nearly every route), a crew tablet bound to a unit and a hospital terminal bound to a
hospital. Its settings are in tests/fuzz/schemathesis.toml; tests/fuzz/hooks.py adds a check.
Passing means 0 server errors, 0 schema-violating requests accepted, 0 valid requests refused
for their shape, responses as the OpenAPI says (status, content type, schema, headers), 405
with a true Allow header for undeclared methods, and no operation that ignores its token.

`make test` runs about two minutes (DISPATCH_FUZZ_EXAMPLES=25); `make fuzz` runs thousands of
examples per operation before a release.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from dispatch.auth import tokens
from dispatch.auth.schemas import Principal, Role
from dispatch.db import recreate_database
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, TEST_SECRET, unavailable
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
FUZZ_DATABASE_URL = str(make_url(TEST_DATABASE_URL).set(
    database=f"{make_url(TEST_DATABASE_URL).database}_fuzz"))
EXAMPLES = int(os.environ.get("DISPATCH_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("DISPATCH_FUZZ_SEED", "20221205"))
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))

pytestmark = pytest.mark.slow

# (who, principal, phases): the console caller runs every phase; the bound devices fuzz.
CALLERS = [
    ("console", Principal(name="fuzz-supervisor", roles=frozenset(
        {Role.SUPERVISOR, Role.ADMIN, Role.DISPATCHER, Role.CALL_TAKER, Role.TELEPHONY})),
     "examples,coverage,fuzzing,stateful"),
    ("crew", Principal(name="fuzz-crew", roles=frozenset({Role.CREW}), unit_id="GX-01"),
     "fuzzing"),
    ("hospital", Principal(name="fuzz-hospital", roles=frozenset({Role.HOSPITAL}),
                           hospital_id="xian-gaoxin"), "fuzzing"),
]


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        asyncio.run(recreate_database(FUZZ_DATABASE_URL))
    except Exception as error:
        unavailable("PostgreSQL", error)
    env = {**os.environ, "DISPATCH_DATABASE_URL": FUZZ_DATABASE_URL,
           "DISPATCH_REDIS_URL": TEST_REDIS_URL, "DISPATCH_REDIS_PREFIX": "fuzz",
           "DISPATCH_SECRET_KEY": TEST_SECRET, "DISPATCH_LOG_LEVEL": "WARNING",
           "DISPATCH_INTAKE_RATE_PER_SECOND": "100000"}
    for command in (["migrate"], ["scenario", "load", "xian-high-tech-zone"]):
        subprocess.run([sys.executable, "-m", "dispatch.cli", *command], env=env, cwd=ROOT,
                       check=True, capture_output=True)
    port = free_port()
    log = tmp_path_factory.mktemp("fuzz") / "hub.log"
    process = subprocess.Popen([sys.executable, "-m", "dispatch.cli", "serve", "--host",
                                "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT,
                               stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        logged = [line for line in log.read_text().splitlines() if " ERROR " in line]
        assert not logged, "the hub logged errors while fuzzed:\n" + "\n".join(logged[:20])


def token_of(principal: Principal) -> str:
    issued, _ = tokens.issue(principal, key=TEST_SECRET, now=datetime.now(UTC),
                             lifetime=timedelta(hours=6))
    return issued


@pytest.mark.timeout(3 * 3600)  # `make fuzz` runs for a long time
@pytest.mark.parametrize(("who", "principal", "phases"), CALLERS, ids=[c[0] for c in CALLERS])
def test_no_route_fails_or_breaks_its_schema(
    hub_url: str, tmp_path: Path, who: str, principal: Principal, phases: str
) -> None:
    report = tmp_path / f"{who}.json"
    command = [
        SCHEMATHESIS, "--config-file", str(ROOT / "tests" / "fuzz" / "schemathesis.toml"),
        "run", hub_url + "/openapi.json", "--checks", "all", "--phases", phases,
        "--mode", "all", "--max-examples", str(EXAMPLES), "--seed", str(SEED),
        "--header", f"Authorization: Bearer {token_of(principal)}", "--request-timeout", "30",
        "--continue-on-failure", "--no-color", "--report", "json",
        "--report-json-path", str(report),
        # Logging out, or disabling the account it names (GET /auth/me links to it), would
        # revoke the run's own token; tests/test_auth.py covers both.
        "--exclude-path", "/api/v1/auth/logout",
        "--exclude-path", "/api/v1/users/{username}/disable",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks"}
    started = time.monotonic()
    run = subprocess.run(command, cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=1800)
    (tmp_path / f"{who}.txt").write_text(run.stdout + run.stderr)
    summary = run.stdout[run.stdout.find("= SUMMARY ="):] if "= SUMMARY =" in run.stdout else ""
    print(f"\n{who}: {time.monotonic() - started:.0f} s, {EXAMPLES} examples per operation\n"
          + summary)
    assert "Tested: " in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 0, f"the whole run: {tmp_path / f'{who}.txt'}\n" + run.stdout[
        run.stdout.find("= FAILURES ="):][:20000] + run.stderr[-2000:]

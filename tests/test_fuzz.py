"""Fuzzing every HTTP route from the OpenAPI schema (schemathesis): no 5xx, no schema violations.

The hub runs as its own process on a database of its own, with the built-in scenario loaded;
each operation gets a bounded number of generated requests.
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
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from sqlalchemy.engine import make_url

from dispatch.auth import tokens
from dispatch.auth.schemas import Principal, Role
from dispatch.db import recreate_database
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, TEST_SECRET, unavailable
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
FUZZ_DATABASE_URL = str(make_url(TEST_DATABASE_URL).set(
    database=f"{make_url(TEST_DATABASE_URL).database}_fuzz"))
EXAMPLES = int(os.environ.get("DISPATCH_FUZZ_EXAMPLES", "8"))

pytestmark = pytest.mark.slow




@pytest.fixture(scope="module")
def hub_url() -> Iterator[str]:
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
    process = subprocess.Popen([sys.executable, "-m", "dispatch.cli", "serve", "--host",
                                "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
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


def fresh_token() -> str:
    """A new token per case, so a generated logout cannot lock out the cases after it."""
    issued, _ = tokens.issue(Principal(name="fuzzer", roles=frozenset(Role)), key=TEST_SECRET,
                             now=datetime.now(UTC), lifetime=timedelta(hours=1))
    return issued


def test_no_route_fails_or_breaks_its_schema(hub_url: str) -> None:
    api = schemathesis.openapi.from_url(hub_url + "/openapi.json")
    failures: list[str] = []
    tried = 0
    for result in api.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        @given(case=operation.as_strategy())
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=hub_url, headers={"Authorization": f"Bearer {fresh_token()}"},
                checks=[not_a_server_error, response_schema_conformance], timeout=30,
            )

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as error:  # every failure, not just the first
            detail = " | ".join(str(error).strip().splitlines()[:12])
            failures.append(f"{operation.label}: {detail[:1500]}")
        tried += 1
    print(f"\nfuzzed {tried} operations, {EXAMPLES} examples each at most")
    assert tried > 50
    assert not failures, "\n".join(failures)

"""`make demo` keeps a running centre's work: a restart keeps supervisors' changes and paired
tablets, and a second start by mistake fails at once and touches nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from dispatch.replay.ownhub import free_port

ROOT = Path(__file__).resolve().parent.parent
HOSPITAL = "xian-medical-university-first"


@contextmanager
def demo(data_dir: Path, port: int) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`dispatch demo` in a process of its own; yields it and what it printed of its accounts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env |= {"DISPATCH_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    hub = subprocess.Popen([sys.executable, "-m", "dispatch.cli", "demo", "--port", str(port)],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    printed: dict[str, str] = {}
    try:
        assert hub.stdout is not None
        for line in hub.stdout:
            if match := re.match(r"\s+(supervisor|dispatcher)\s+(\S+)", line):
                printed[match[1]] = match[2]
            if match := re.search(r"crew: .*#token=(\S+)", line):
                printed["crew-token"] = match[1]
            if "telephony token" in line:
                break
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert hub.poll() is None, hub.stderr.read() if hub.stderr else ""
            time.sleep(0.2)
        yield hub, printed
    finally:
        hub.send_signal(signal.SIGINT)
        try:
            _, errors = hub.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            hub.kill()
            _, errors = hub.communicate()
        assert " ERROR " not in errors, errors


def second_start(data_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    return subprocess.run([sys.executable, "-m", "dispatch.cli", "demo", "--port", str(port)],
                          cwd=ROOT, env=env | {"DISPATCH_DATA_DIR": str(data_dir)},
                          capture_output=True, text=True, timeout=60, check=False)


def sign_in(base: str, username: str, password: str) -> dict[str, str]:
    reply = httpx.post(f"{base}/api/v1/auth/login",
                       json={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


@pytest.mark.slow
def test_restart_keeps_changes_and_a_second_start_touches_nothing(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with demo(tmp_path, port) as (_, first):
        supervisor = sign_in(base, "supervisor", first["supervisor"])
        suspended = httpx.post(f"{base}/api/v1/hospitals/{HOSPITAL}/suspend", headers=supervisor,
                               json={"reason": "ward closed for disinfection"})
        assert suspended.status_code == 200, suspended.text
        crew = {"Authorization": f"Bearer {first['crew-token']}"}
        assert httpx.get(f"{base}/api/v1/auth/me", headers=crew).status_code == 200

        started = time.monotonic()
        again = second_start(tmp_path, port)  # same port, same data
        elsewhere = second_start(tmp_path, free_port())  # same data, another port
        took = time.monotonic() - started

        # The running hub is untouched: its tablet and people stay signed in.
        assert httpx.get(f"{base}/api/v1/auth/me", headers=crew).status_code == 200
        sign_in(base, "supervisor", first["supervisor"])
        hospital = httpx.get(f"{base}/api/v1/hospitals/{HOSPITAL}", headers=supervisor).json()
        assert hospital["status"] == "suspended"
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0
    assert f"127.0.0.1:{port} is in use" in again.stderr
    assert elsewhere.returncode == 2
    assert "another hub is using" in elsewhere.stderr
    assert again.stdout == ""
    assert elsewhere.stdout == ""
    assert took < 20

    with demo(tmp_path, port) as (_, second):
        assert second == first  # the same passwords and device tokens
        supervisor = sign_in(base, "supervisor", second["supervisor"])
        hospital = httpx.get(f"{base}/api/v1/hospitals/{HOSPITAL}", headers=supervisor).json()
        assert hospital["status"] == "suspended"  # a restart does not reload the scenario
        crew = {"Authorization": f"Bearer {first['crew-token']}"}
        assert httpx.get(f"{base}/api/v1/auth/me", headers=crew).json()["unit_id"] == "GX-01"

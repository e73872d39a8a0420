"""DISPATCH_REDIS_URL forms, and the hub on a master that a real Sentinel names.

The Sentinel test starts its own redis-server and Sentinel on free loopback ports (nothing
kept); without redis-server it skips, in CI it fails.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.config import ConfigurationError, Settings, load_settings
from dispatch.main import create_app
from dispatch.redis_url import RedisTarget, parse_redis_url
from dispatch.replay.ownhub import free_port
from tests import factories
from tests.conftest import client_for, running, unavailable


def test_urls_name_one_server_a_cluster_or_a_sentinel_master() -> None:
    assert parse_redis_url("redis://127.0.0.1:6379/3").kind == "single"
    assert parse_redis_url("redis+cluster://10.0.0.1:7000,10.0.0.2,[::1]:7002/") == RedisTarget(
        kind="cluster", url="redis+cluster://10.0.0.1:7000,10.0.0.2,[::1]:7002/",
        nodes=(("10.0.0.1", 7000), ("10.0.0.2", 6379), ("::1", 7002)))
    tls = parse_redis_url("rediss+cluster://hub:s%40cret@redis-a:7000")
    assert (tls.tls, tls.username, tls.password, tls.nodes) == (
        True, "hub", "s@cret", (("redis-a", 7000),))
    watched = parse_redis_url(
        "redis+sentinel://:pw@s1:26380,s2/dispatch-master/2?sentinel_password=sp")
    assert (watched.kind, watched.nodes, watched.service, watched.db, watched.password,
            watched.sentinel_password) == ("sentinel", (("s1", 26380), ("s2", 26379)),
                                           "dispatch-master", 2, "pw", "sp")
    assert parse_redis_url("redis+sentinel://s1/mymaster").db == 0


@pytest.mark.parametrize(("url", "message"), [
    ("memcached://x", "must start with one of redis://"),
    ("redis+cluster:///", "needs at least one host:port"),
    ("redis+cluster://a:7000/2", "only database 0"),
    ("redis+cluster://a:99999/", "not a host:port"),
    ("redis+sentinel://s1:26379", "needs the master's name"),
    ("redis+sentinel://s1/mymaster/x", "database must be a number"),
    ("redis+sentinel://s1/mymaster?timeout=3", "takes no option timeout"),
])
def test_a_bad_redis_url_is_refused_in_one_line(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load_settings(redis_url=url)
    assert str(refused.value).startswith("DISPATCH_REDIS_URL: ")
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{args[0]} exited with {process.returncode}") from None
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"nothing listens on port {port}")


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[tuple[str, int, int]]:
    """A master and one Sentinel watching it: (its URL, the master's port, Sentinel's port)."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server", FileNotFoundError("redis-server"))
        raise AssertionError  # unreachable: unavailable() skips or fails
    master_port, sentinel_port = free_port(), free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                    f"sentinel monitor dispatch-master 127.0.0.1 {master_port} 1\n"
                    "sentinel down-after-milliseconds dispatch-master 5000\n")
    processes = []
    try:
        processes.append(start([binary, "--port", str(master_port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                               master_port))
        processes.append(start([binary, str(conf), "--sentinel"], sentinel_port))
        yield (f"redis+sentinel://127.0.0.1:{sentinel_port}/dispatch-master/0",
               master_port, sentinel_port)
    finally:
        for process in processes:
            process.terminate()
            process.wait(5)


async def clients(port: int) -> list[dict[str, Any]]:
    server = Redis(port=port)
    try:
        return list(await server.client_list())
    finally:
        await server.aclose()


@pytest.fixture
async def named_master(sentinel: tuple[str, int, int]) -> tuple[str, int, int]:
    """The Sentinel once it names the master."""
    url, master_port, sentinel_port = sentinel
    watcher = Redis(port=sentinel_port)
    try:
        async with asyncio.timeout(10):
            while await watcher.execute_command(
                    "SENTINEL", "get-master-addr-by-name", "dispatch-master") is None:
                await asyncio.sleep(0.05)
    finally:
        await watcher.aclose()
    return url, master_port, sentinel_port


async def test_the_hub_runs_on_the_master_sentinel_names_and_closes_every_connection(
    named_master: tuple[str, int, int], settings: Settings, db: AsyncConnection,
) -> None:
    url, master_port, sentinel_port = named_master
    prefix = "t" + uuid.uuid4().hex[:12]
    sentinel_clients_before = len(await clients(sentinel_port))
    app = create_app(settings.model_copy(update={"redis_url": url, "redis_prefix": prefix}),
                     database_bind=db)
    async with running(app), client_for(app) as http:
        await factories.load(app, factories.small_scenario())
        assert (await http.post("/api/v1/positions/P1/login",
                                json={"user": "li", "ready": True})).status_code == 200
        rung = await http.post("/api/v1/calls", json={
            "telephony_call_id": "sentinel-1", "line": "120-1",
            "rung_at": app.state.runtime.clock.now().isoformat()})
        assert rung.status_code == 201, rung.text
        answered = await http.post(f"/api/v1/calls/{rung.json()['id']}/answer",
                                   json={"position_id": "P1"})
        assert answered.status_code == 200, answered.text
        assert (await http.get("/readyz")).json()["checks"]["redis"] == "ok"
        on_master = [c for c in await clients(master_port) if c.get("name") == f"dispatch:{prefix}"]
        assert on_master, "the hub's connections go to the master Sentinel named"
        assert len(await clients(sentinel_port)) > sentinel_clients_before
    assert [c for c in await clients(master_port) if c.get("name") == f"dispatch:{prefix}"] == []
    assert len(await clients(sentinel_port)) == sentinel_clients_before

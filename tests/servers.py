"""Private Redis and PostgreSQL servers that fault tests can stop and start at will (the
replay's, skipped — failed in CI — where the server is not installed)."""

from __future__ import annotations

import pytest

from dispatch.replay import servers
from dispatch.replay.servers import reachable
from tests.conftest import IN_CI, free_port

__all__ = ["PostgresServer", "RedisServer", "free_port", "reachable"]


def missing(error: servers.ServerMissing) -> None:
    if IN_CI:
        pytest.fail(str(error), pytrace=False)
    pytest.skip(str(error))


class RedisServer(servers.RedisServer):
    def __init__(self) -> None:
        try:
            super().__init__()
        except servers.ServerMissing as error:
            missing(error)


class PostgresServer(servers.PostgresServer):
    def __init__(self) -> None:
        try:
            super().__init__()
        except servers.ServerMissing as error:
            missing(error)

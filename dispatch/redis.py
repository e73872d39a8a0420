"""The Redis client (real or in-process), key names and Lua scripts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from redis.asyncio import BlockingConnectionPool, Connection, ConnectionPool, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode, ClusterPipeline
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterUnreachableError, SlotNotCoveredError
from redis.exceptions import TimeoutError as RedisTimeoutError

from dispatch.redis_url import parse_redis_url

WAIT_FOR_CONNECTION_S = 5.0


def create_redis(url: str | None, *, pool_size: int = 64, name: str | None = None) -> Redis:
    """Connect to Redis at `url`, or start an in-process Redis when `url` is None.

    `redis+cluster://` gives redis-py's RedisCluster and `redis+sentinel://` the master that
    the Sentinels name (see dispatch/redis_url.py). The client owns its connections: `aclose()`
    closes every one of them (and, for Sentinel, the connections to the Sentinels).

    On one server or through Sentinel, a burst of requests waits for one of `pool_size`
    connections rather than failing; a cluster client holds up to `pool_size` per node.
    `name` is what CLIENT LIST shows for each connection.
    """
    if url is None:
        import fakeredis

        server = fakeredis.FakeServer()
        client: Redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
        return client
    target = parse_redis_url(url)
    options: dict[str, Any] = {
        "decode_responses": True, "socket_connect_timeout": 2.0, "socket_keepalive": True,
        "health_check_interval": 15, "client_name": name,
    }
    if target.kind == "cluster":
        cluster = Cluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            username=target.username, password=target.password, ssl=target.tls,
            max_connections=pool_size, **options)
        # Typed as Redis: the hub calls only commands both clients offer, every key of a
        # script or transaction under one {hash tag} (see Keys).
        return cast(Redis, cluster)
    if target.kind == "sentinel":
        assert target.service is not None
        sentinel = Sentinel(
            list(target.nodes),
            sentinel_kwargs={"password": target.sentinel_password, "socket_connect_timeout": 2.0,
                             "socket_keepalive": True, "decode_responses": True},
            **options)
        master: Redis = sentinel.master_for(
            target.service, redis_class=SentinelMaster, connection_pool_class=BlockingSentinelPool,
            db=target.db, username=target.username, password=target.password,
            max_connections=pool_size, timeout=WAIT_FOR_CONNECTION_S, retry_on_timeout=True)
        return master
    pool = LeanPool.from_url(
        url, max_connections=pool_size, timeout=WAIT_FOR_CONNECTION_S, retry_on_timeout=True,
        **options)
    return Redis.from_pool(pool)  # owned: aclose() disconnects the pool


class LeanConnection(Connection):
    """redis-py's connection, sending under `asyncio.timeout` instead of `asyncio.wait_for`,
    which on Python 3.11 starts a task for every command sent (a fifth of a command's CPU)."""

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        timeout = self.socket_timeout
        if not timeout:
            await super().send_packed_command(command, check_health)
            return
        self.socket_timeout = None  # the parent sends without wait_for; the limit is here
        try:
            async with asyncio.timeout(timeout):
                await super().send_packed_command(command, check_health)
        except TimeoutError as error:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from error
        finally:
            self.socket_timeout = timeout


class LeanPool(ConnectionPool):
    """Up to `max_connections` connections; a burst beyond them waits up to `timeout` for one
    to come back (as redis-py's BlockingConnectionPool does) instead of failing.

    redis-py's pools do bookkeeping on every command — a lock, a condition, metrics records and
    a look at the socket for unread data — that costs a quarter of a command's client CPU.
    Here a free connection is handed out as it is: one left with unread data is not returned
    (redis-py disconnects a connection whose command was interrupted), and an idle one is
    checked by the connection itself before it sends (`health_check_interval`).
    """

    def __init__(self, *args: Any, timeout: float = WAIT_FOR_CONNECTION_S, **kwargs: Any) -> None:
        if kwargs.get("connection_class", Connection) is Connection:
            kwargs["connection_class"] = LeanConnection
        super().__init__(*args, **kwargs)
        self.timeout = timeout
        self._slots = asyncio.Semaphore(self.max_connections)

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        if self._slots.locked():
            try:
                async with asyncio.timeout(self.timeout):
                    await self._slots.acquire()
            except TimeoutError as error:
                raise RedisConnectionError("No connection available.") from error
        else:
            await self._slots.acquire()  # free at once
        connection = None
        try:
            connection = (self._available_connections.pop() if self._available_connections
                          else self.make_connection())  # type: ignore[no-untyped-call]
            self._in_use_connections.add(connection)
            await connection.connect()  # nothing to do when connected
        except BaseException:
            if connection is None:
                self._slots.release()
            else:
                await self.release(connection)
            raise
        return connection

    async def release(self, connection: Any) -> None:
        if connection not in self._in_use_connections:
            return  # released twice (an error path and the caller's finally)
        self._in_use_connections.discard(connection)
        try:
            if connection.should_reconnect():
                await connection.disconnect()
        finally:
            self._available_connections.append(connection)
            self._slots.release()


# What a cluster client raises, outside RedisError, when no node (or no node for a slot) answers.
UNREACHABLE = (RedisClusterUnreachableError, SlotNotCoveredError)


class Cluster(RedisCluster):
    """redis-py's RedisCluster, but a cluster that cannot be reached raises ConnectionError, as
    one server would: the hub's handling of an outage (it catches RedisError) then applies."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except UNREACHABLE as error:
            raise RedisConnectionError(str(error)) from error

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> ClusterPipeline:
        if shard_hint:
            raise ValueError("a cluster pipeline takes no shard hint")
        return ClusterPipe(self, transaction)  # type: ignore[abstract]


class ClusterPipe(ClusterPipeline):
    """A cluster pipeline whose unreachable cluster raises ConnectionError (see Cluster)."""

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> list[Any]:
        try:
            return await super().execute(raise_on_error, allow_redirections)
        except UNREACHABLE as error:
            raise RedisConnectionError(str(error)) from error


class BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):  # type: ignore[misc]
    """The Sentinel-managed pool, waiting for a free connection like the single-server one."""


class SentinelMaster(Redis):
    """The master named by Sentinel; closing it also closes the connections to the Sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        for sentinel in getattr(manager, "sentinels", ()):
            await sentinel.aclose()


@dataclass(frozen=True, slots=True)
class Keys:
    """Names of every Redis key. Keys one Lua script touches share a {hash tag}."""

    prefix: str = "dispatch"

    # Realtime
    @property
    def events(self) -> str:
        return f"{self.prefix}:{{events}}:stream"

    # Fleet
    def unit(self, unit_id: str) -> str:
        return f"{self.prefix}:{{fleet}}:unit:{unit_id}"

    @property
    def units(self) -> str:
        return f"{self.prefix}:{{fleet}}:units"

    @property
    def available_geo(self) -> str:
        return f"{self.prefix}:{{fleet}}:available"

    @property
    def fleet_geo(self) -> str:
        """Every unit with a known position, whatever its status."""
        return f"{self.prefix}:{{fleet}}:positions"

    def assignment(self, assignment_id: str) -> str:
        return f"{self.prefix}:{{fleet}}:assignment:{assignment_id}"

    @property
    def ack_deadlines(self) -> str:
        return f"{self.prefix}:{{fleet}}:ack-deadlines"

    @property
    def position_log(self) -> str:
        return f"{self.prefix}:{{fleet}}:position-log"

    @property
    def coverage_alerts(self) -> str:
        return f"{self.prefix}:{{fleet}}:uncovered"

    @property
    def radius_alerts(self) -> str:
        """Sub-districts out of the service radius of every available ambulance (quality)."""
        return f"{self.prefix}:quality:out-of-cover"

    # Calls and call-taker positions (automatic call distribution). The Lua scripts take the
    # keys they are asked about in KEYS and name the calls and positions they find themselves
    # from `acd_prefix` (calls/lua/lib.lua).
    @property
    def acd_prefix(self) -> str:
        return f"{self.prefix}:{{acd}}:"

    @property
    def ringing(self) -> str:
        return f"{self.prefix}:{{acd}}:ringing"

    @property
    def acd_indexes(self) -> list[str]:
        """The ringing queue's indexes kept by the Lua scripts (waiting for an offer, timers)."""
        return [f"{self.prefix}:{{acd}}:{name}" for name in ("waiting", "escalate-due", "breach-due")]

    def call(self, call_id: str) -> str:
        return f"{self.prefix}:{{acd}}:call:{call_id}"

    @property
    def positions(self) -> str:
        return f"{self.prefix}:{{acd}}:positions"

    def position(self, position_id: str) -> str:
        return f"{self.prefix}:{{acd}}:position:{position_id}"

    @property
    def ready_positions(self) -> str:
        return f"{self.prefix}:{{acd}}:ready"

    @property
    def callbacks(self) -> str:
        return f"{self.prefix}:{{acd}}:callbacks"

    @property
    def acd_state(self) -> str:
        return f"{self.prefix}:{{acd}}:state"

    # Configuration versions shared by every instance
    @property
    def versions(self) -> str:
        return f"{self.prefix}:versions"

    def marker(self, name: str) -> str:
        return f"{self.prefix}:marker:{name}"


def load_script(redis: Redis, package: str, name: str) -> AsyncScript:
    """Register the Lua script `name` kept beside the module of `package`."""
    source = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    return redis.register_script(source)


async def preload(scripts: dict[str, AsyncScript]) -> None:
    """Load scripts into the server cache once so the first call is an EVALSHA."""
    for script in scripts.values():
        await script.registered_client.script_load(script.script)


async def get_redis(request: Request) -> Redis:
    client: Redis = request.app.state.redis
    return client


RedisDep = Annotated[Redis, Depends(get_redis)]


def as_str_dict(values: dict[str, Any]) -> dict[str, str]:
    """Encode a mapping for HSET: None becomes '', everything else str()."""
    return {k: "" if v is None else str(v) for k, v in values.items()}

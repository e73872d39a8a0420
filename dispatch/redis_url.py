"""What DISPATCH_REDIS_URL names: one server, a Redis Cluster, or a master watched by Sentinel.

Pure (no I/O), so the settings can check the URL before anything connects.

    redis://[[user]:password@]host[:port][/db]          one server (also rediss://, unix://)
    redis+cluster://[[user]:password@]host:port[,host:port…][/]     a Redis Cluster; the nodes
        listed are where the client starts, it learns the others from them (rediss+cluster://
        for TLS). A cluster has only database 0.
    redis+sentinel://[[user]:password@]host:port[,host:port…]/service[/db][?sentinel_password=…]
        the master that the Sentinels at host:port… name `service`; the credentials are the
        master's, `sentinel_password` the Sentinels' own (when they require one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

SINGLE_SCHEMES = ("redis", "rediss", "unix")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES = ("redis+sentinel",)
SCHEMES = (*SINGLE_SCHEMES, *CLUSTER_SCHEMES, *SENTINEL_SCHEMES)
DEFAULT_PORT = {"cluster": 6379, "sentinel": 26379}


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """The parsed URL of a cluster or a Sentinel-watched master (a single server keeps its URL)."""

    kind: Literal["single", "cluster", "sentinel"]
    url: str
    nodes: tuple[tuple[str, int], ...] = ()
    username: str | None = None
    password: str | None = None
    tls: bool = False
    service: str | None = None  # Sentinel: the master's name
    db: int = 0
    sentinel_password: str | None = None


def parse_redis_url(url: str) -> RedisTarget:
    """Read a Redis URL; raise ValueError with one line saying what is wrong."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise ValueError(f"must start with one of {', '.join(s + '://' for s in SCHEMES)}"
                         f" (got {scheme + '://' if scheme else 'no scheme'})")
    if scheme in SINGLE_SCHEMES:
        return RedisTarget(kind="single", url=url)
    kind: Literal["cluster", "sentinel"] = "cluster" if scheme in CLUSTER_SCHEMES else "sentinel"
    rest = url.split("://", 1)[1]
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    if "?" in netloc:  # no path: redis+cluster://host:port?…
        netloc, _, query = netloc.partition("?")
    username = password = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes = tuple(_node(part, DEFAULT_PORT[kind]) for part in netloc.split(",") if part.strip())
    if not nodes:
        raise ValueError(f"{scheme}:// needs at least one host:port")
    segments = [unquote(s) for s in path.split("/") if s]
    options = parse_qs(query)
    unknown = set(options) - ({"sentinel_password"} if kind == "sentinel" else set())
    if unknown:
        raise ValueError(f"{scheme}:// takes no option {', '.join(sorted(unknown))}")
    if kind == "cluster":
        if segments not in ([], ["0"]):
            raise ValueError("a Redis Cluster has only database 0: "
                             "redis+cluster://host:port,host:port/")
        return RedisTarget(kind=kind, url=url, nodes=nodes, username=username, password=password,
                           tls=scheme.startswith("rediss"))
    if not segments or len(segments) > 2:
        raise ValueError("redis+sentinel:// needs the master's name: "
                         "redis+sentinel://host:port,host:port/service_name[/db]")
    db = 0
    if len(segments) == 2:
        if not segments[1].isdigit():
            raise ValueError(f"database must be a number (got {segments[1]!r})")
        db = int(segments[1])
    return RedisTarget(kind=kind, url=url, nodes=nodes, username=username, password=password,
                       service=segments[0], db=db,
                       sentinel_password=options.get("sentinel_password", [None])[0])


def _node(text: str, default_port: int) -> tuple[str, int]:
    """host, host:port, [v6], or [v6]:port."""
    text = text.strip()
    try:
        split = urlsplit("//" + text)
        host, port = split.hostname, split.port
    except ValueError:
        host, port = None, None
    if not host:
        raise ValueError(f"not a host:port: {text!r}")
    return host, port or default_port

"""`dispatch replay STREAM`: options, the run, and the report files."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml

from dispatch.lifespan import redact
from dispatch.replay import draft, html, ownhub, report, simulated
from dispatch.replay import faults as fault_plan
from dispatch.replay.adapters import ADAPTERS, open_stream
from dispatch.replay.area import build_scenario
from dispatch.replay.client import Tokens
from dispatch.replay.config import ReplayConfig
from dispatch.replay.engine import Replay, ReplayError, new_run_id, staffing
from dispatch.replay.mapping import MappingError
from dispatch.replay.servers import PostgresServer, RedisServer, ServerMissing
from dispatch.replay.stream import CallStream, Scheduled, StreamError, schedule, write_stream

T = TypeVar("T")


class ReplayUsageError(Exception):
    """A bad option; the message names it."""


# Failures reported as one line.
ERRORS = (ReplayUsageError, ReplayError, StreamError, ownhub.HubStartError, ServerMissing,
          ValueError)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("stream", nargs="?",
                   help=f"a call stream (.jsonl[.gz]), ADAPTER:FILE, a city's CSV (with --map), "
                        f"or an adapter name for its bundled file ({', '.join(ADAPTERS)})")
    p.add_argument("--map", metavar="FILE", help="read the CSV through this mapping file")
    p.add_argument("--write-map", metavar="CSV",
                   help="draft a mapping file from this CSV's header and values (into --map FILE, "
                        "default CSV's name .map.yaml) and stop")
    p.add_argument("--units", type=int,
                   help="ambulances for a stream without units (default: one per 10,000 people)")
    p.add_argument("--speed", type=float, default=100.0, help="times faster than real time")
    p.add_argument("--url", help="replay against this hub (default: start one on "
                                 "DISPATCH_DATABASE_URL and DISPATCH_REDIS_URL)")
    p.add_argument("--token", default=os.environ.get("DISPATCH_REPLAY_TOKEN"),
                   help="bearer token for --url with the telephony, call_taker and dispatcher "
                        "roles (or DISPATCH_REPLAY_TOKEN)")
    p.add_argument("--start", help="first ring time to replay (ISO, stream's zone if none), or "
                                   "'busiest' for the busiest hour")
    p.add_argument("--hours", type=float, help="replay this many hours of the stream")
    p.add_argument("--overlay", type=int, default=1,
                   help="lay this many rotated copies of the stream on top of one another")
    p.add_argument("--duration", type=float, help="stop ringing after this many seconds")
    p.add_argument("--target-rate", type=float, default=500.0,
                   help="overlay acceptance: call events per second to sustain for 60 s")
    p.add_argument("--positions", type=int, help="call-takers (default: enough for 95 %% in 10 s)")
    p.add_argument("--consoles", type=int, default=4, help="console sockets the positions share")
    p.add_argument("--crews", choices=["auto", "on", "off"], default="auto",
                   help="simulate dispatchers and crews (auto: if the hub has the fleet API)")
    p.add_argument("--people", choices=["real", "scaled"], default="real",
                   help="people's durations in real seconds, or scaled with the stream")
    p.add_argument("--seed", type=int, default=120)
    p.add_argument("--workers", type=int, default=2, help="workers of the hub the replay starts")
    p.add_argument("--database-url", default=os.environ.get("DISPATCH_DATABASE_URL"))
    p.add_argument("--redis-url", default=os.environ.get("DISPATCH_REDIS_URL"))
    p.add_argument("--fresh", action="store_true",
                   help="drop and recreate the database first (its name must contain 'replay')")
    p.add_argument("--out", default="var/replay", help="folder for the JSON and HTML report")
    p.add_argument("--label", help="name of the report files")
    p.add_argument("--write-stream", metavar="FILE", help="write the stream as JSON Lines and stop")
    p.add_argument("--write-scenario", metavar="FILE", help="also write the scenario built for it")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--fault", action="append", default=[], metavar="KIND@TIME",
                   help="inject a fault TIME into the run (40s, 1m30s): " + "; ".join(
                       f"{kind}: {what}" for kind, what in fault_plan.KINDS.items())
                   + ". redis-restart and postgres-restart run the hub the replay starts on a "
                     "private server; hub-kill needs --workers 2 or more. Repeatable")


def window(stream: CallStream, start: str | None, hours: float | None) -> CallStream:
    if start is None:
        return stream.window(None, hours) if hours is not None else stream
    if start == "busiest":
        return stream.window(stream.busiest_hour(), hours or 1.0)
    try:
        at = datetime.fromisoformat(start)
    except ValueError:
        raise ReplayUsageError(f"--start: not an ISO time or 'busiest': {start!r}") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=stream.start.tzinfo)
    return stream.window(at, hours)


def trimmed(items: list[Scheduled], speed: float, duration: float | None) -> list[Scheduled]:
    if duration is None:
        return items
    return [s for s in items if s.at / speed <= duration]


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)  # type: ignore[no-any-return]


def write_map(args: argparse.Namespace) -> None:
    source = Path(args.write_map)
    out = Path(args.map) if args.map else source.with_suffix(".map.yaml")
    draft.write_draft(source, out)
    print(f"wrote a draft mapping to {out}: fill in every TODO, check the guesses, then "
          f"dispatch replay {source} --map {out}")


def with_crews(stream: CallStream, args: argparse.Namespace) -> CallStream:
    """The stream, with simulated unit timelines when it has none of its own (a stream may
    name its units without their times: they make the fleet, the SF intervals their jobs)."""
    if args.units is not None and any(call.units for call in stream.calls):
        raise ReplayUsageError("--units: this stream has its own units")
    if args.crews == "off" or simulated.has_unit_times(stream):
        return stream
    return simulated.with_crews(stream, simulated.Intervals.of(open_stream("sf")), seed=args.seed)


def execute(args: argparse.Namespace) -> dict[str, Any]:
    """Run one replay as the options say; returns the report's figures."""
    if args.write_map:
        write_map(args)
        return {}
    if not args.stream:
        raise ReplayUsageError("give a STREAM (or --write-map CSV)")
    if args.units is not None and args.units < 1:
        raise ReplayUsageError("--units must be at least 1")
    own = window(open_stream(args.stream, mapping=Path(args.map) if args.map else None,
                             seed=args.seed), args.start, args.hours)
    if args.write_stream:
        write_stream(own, Path(args.write_stream))
        print(f"wrote {len(own.calls)} calls to {args.write_stream}")
        return {}
    if not own.calls:
        raise ReplayUsageError("no calls in that part of the stream")
    stream = with_crews(own, args)
    if args.speed <= 0 or args.overlay < 1:
        raise ReplayUsageError("--speed must be above 0 and --overlay at least 1")
    run = new_run_id()
    label = args.label or f"replay-{stream.header.name}-{args.speed:g}x"
    config = ReplayConfig(
        url=args.url or "", speed=args.speed, overlay=args.overlay, duration=args.duration,
        positions=args.positions, consoles=args.consoles, crews=args.crews,
        human_time=args.people, seed=args.seed, progress=not args.no_progress,
        target_rate=args.target_rate,
        out=Path(args.out), label=re.sub(r"[^A-Za-z0-9_.-]+", "-", label),
    )
    items = trimmed(schedule(stream, run=run, overlay=args.overlay), args.speed, args.duration)
    faults = [fault_plan.parse(spec) for spec in args.fault]
    if args.url:
        if not args.token:
            raise ReplayUsageError("--url needs --token (or DISPATCH_REPLAY_TOKEN)")
        hub: dict[str, Any] = {"url": args.url, "started_by_replay": False}
        target = fault_plan.Target(hub_url=args.url, redis_url=args.redis_url,
                                   redis_prefix=os.environ.get("DISPATCH_REDIS_PREFIX", "dispatch"))
        fault_plan.check(faults, target)
        replay = Replay(config, items, Tokens.single(args.token), faults=faults, fault_target=target)
        info = run_async(replay.run())
    else:
        replay, info, hub = own_hub_run(args, config, own, items, run, faults)
    return report.build(config, stream, replay.recorder, info, hub)


def own_hub_run(args: argparse.Namespace, config: ReplayConfig, stream: CallStream,
                items: list[Scheduled], run: str, faults: list[fault_plan.Fault],
                ) -> tuple[Replay, dict[str, Any], dict[str, Any]]:
    """Prepare a database, start a hub on it, replay, stop the hub. The scenario is built
    from `stream` as the city gave it (its own units, else a fleet of `--units`)."""
    if not args.database_url or not args.redis_url:
        raise ReplayUsageError("give --url, or DISPATCH_DATABASE_URL and DISPATCH_REDIS_URL "
                               "(--database-url/--redis-url) for a hub the replay starts itself")
    if any(f.kind == "hub-kill" for f in faults) and args.workers < 2:
        raise ReplayUsageError("--fault hub-kill kills one of the hub's workers: give --workers 2 "
                               "or more")
    positions = config.positions or staffing(items, config)
    config.positions = positions
    scenario = build_scenario(stream, positions=positions, name=f"replay-{stream.header.name}",
                              fleet=args.units)
    if args.write_scenario:
        Path(args.write_scenario).write_text(yaml.safe_dump(scenario, allow_unicode=True))
    kinds = {f.kind for f in faults}
    with contextlib.ExitStack() as private:
        database_url, redis_url, fresh = args.database_url, args.redis_url, args.fresh
        redis_server = postgres_server = None
        if "redis-restart" in kinds:  # a shared Redis is not ours to restart
            redis_server = private.enter_context(RedisServer())
            redis_url = redis_server.url
        if "postgres-restart" in kinds:
            postgres_server = private.enter_context(PostgresServer())
            database_url, fresh = postgres_server.url.rsplit("/", 1)[0] + "/dispatch_replay", True
        ownhub.prepare(database_url, redis_url, scenario, fresh=fresh)
        with ownhub.serve(database_url, redis_url, workers=args.workers) as (url, key, pid):
            config.url = url
            servers = ownhub.local_servers(database_url, redis_url)
            target = fault_plan.Target(hub_url=url, redis_url=redis_url, redis_prefix=ownhub.PREFIX,
                                       hub_pid=pid, workers=args.workers, redis=redis_server,
                                       postgres=postgres_server)
            fault_plan.check(faults, target)
            replay = Replay(config, items, Tokens.minted(key, run=run), own_hub=True,
                            cpu=lambda: ownhub.cpu_seconds(pid),
                            server_cpu=lambda: ownhub.server_cpu_seconds(servers),
                            faults=faults, fault_target=target)
            info = run_async(replay.run())
    hub = {"started_by_replay": True, "workers": args.workers, "scenario": scenario["name"],
           "units": len(scenario["units"]), "positions": positions,
           "database": redact(database_url) + (" (private, for the fault)" if postgres_server else ""),
           "redis": redact(redis_url) + (" (private, for the fault)" if redis_server else "")}
    return replay, info, hub


def write(result: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """report.json and report.html named by the label."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{result['label']}.json"
    page = folder / f"{result['label']}.html"
    data.write_text(json.dumps(result, indent=1, default=str, allow_nan=True))
    page.write_text(html.render(result), encoding="utf-8")
    return data, page


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so the hub the replay started is stopped too


def main(args: argparse.Namespace) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    signal.signal(signal.SIGTERM, _terminated)
    try:
        result = execute(args)
    except MappingError as error:  # one line per problem, each naming its field
        for problem in error.problems:
            print(f"error: {error.source}: {problem}", file=sys.stderr)
        return 2
    if not result:
        return 0
    print(report.summary(result))
    data, page = write(result, Path(args.out))
    print(f"report: {data} and {page}")
    return 1 if result["lost"]["total"] else 0


"""The `dispatch` command: migrate, load scenarios, run the demo or serve in production."""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import logging
import os
import secrets
import socket
import sys
from collections.abc import Callable, Sequence

from dispatch.config import ConfigurationError, Settings, load_settings
from dispatch.errors import DispatchError
from dispatch.lifespan import StartupError, open_runtime, redact

log = logging.getLogger("dispatch")


class CommandError(Exception):
    """A failure to report as one line, without a traceback."""


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


async def run_migrate(settings: Settings) -> str:
    from dispatch import migrate

    url = settings.effective_database_url
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        await migrate.upgrade(url)
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CommandError(f"DISPATCH_DATABASE_URL: migration of {redact(url)} failed: {reason}") from None
    return url


async def run_scenario_load(settings: Settings, source: str) -> None:
    from dispatch.scenarios import service
    from dispatch.workflows import scenario as scenario_workflow

    scenario, checksum = service.read_scenario(source)
    async with open_runtime(settings) as rt, rt.sessionmaker() as session:
        summary = await scenario_workflow.load_scenario(
            session=session, redis=rt.redis, keys=rt.keys, scenario=scenario,
            checksum=checksum, now=rt.clock.now(),
        )
    print(
        f"loaded {summary.name}: {summary.hospitals} hospitals, {summary.posts} posts, "
        f"{summary.units} units, {summary.zones} zones, {summary.positions} positions"
    )


async def run_user_create(settings: Settings, args: argparse.Namespace) -> str:
    from dispatch.audit.schemas import Actor
    from dispatch.auth import service as auth_service
    from dispatch.auth.schemas import Role

    try:
        roles = [Role(r) for r in args.role]
    except ValueError as error:
        raise CommandError(f"--role: {error}; roles: {', '.join(r.value for r in Role)}") from None
    password = args.password or secrets.token_urlsafe(12)
    async with open_runtime(settings) as rt, rt.sessionmaker() as session:
        await auth_service.create_user(
            session=session, rt=rt, username=args.username, password=password, roles=roles,
            now=rt.clock.now(), actor=Actor(name="cli", source="dispatch user create"),
            unit_id=args.unit, hospital_id=args.hospital)
    return password


async def run_device_create(settings: Settings, args: argparse.Namespace) -> str:
    from dispatch.audit.schemas import Actor
    from dispatch.auth import service as auth_service

    async with open_runtime(settings) as rt, rt.sessionmaker() as session:
        _, token = await auth_service.create_device(
            session=session, rt=rt, kind=args.kind, name=args.name, now=rt.clock.now(),
            actor=Actor(name="cli", source="dispatch device create"), unit_id=args.unit,
            hospital_id=args.hospital)
    return token


def cmd_user_create(args: argparse.Namespace) -> None:
    password = asyncio.run(run_user_create(load_settings(), args))
    shown = "(as given)" if args.password else password
    print(f"created user {args.username} ({', '.join(args.role)}); password: {shown}")


def cmd_device_create(args: argparse.Namespace) -> None:
    token = asyncio.run(run_device_create(load_settings(), args))
    print(f"device token (shown once): {token}")


async def run_report(settings: Settings, month: str, formats: list[str]) -> dict[str, bytes]:
    from dispatch.quality import report

    async with open_runtime(settings) as rt, rt.sessionmaker() as session:
        built = await report.build(session=session, rt=rt, month=month)
    return {fmt: await report.render(built, fmt) for fmt in formats}


def cmd_report(args: argparse.Namespace) -> None:
    from pathlib import Path

    settings = load_settings()
    formats = ["html", "pdf", "csv"] if args.format == "all" else [args.format]
    rendered = asyncio.run(run_report(settings, args.month, formats))
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    for fmt, content in rendered.items():
        path = folder / f"quality-{args.month}.{fmt}"
        path.write_bytes(content)
        print(f"wrote {path}")


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = load_settings()
    url = asyncio.run(run_migrate(settings))
    print(f"migrated {redact(url)} to head")


def cmd_scenario_load(args: argparse.Namespace) -> None:
    settings = load_settings()
    asyncio.run(run_scenario_load(settings, args.file))


def cmd_scenario_validate(args: argparse.Namespace) -> None:
    from dispatch.scenarios import service

    scenario, _ = service.read_scenario(args.file)
    print(f"{args.file}: valid scenario {scenario.name!r} ({len(scenario.units)} units, "
          f"{len(scenario.hospitals)} hospitals)")


def uvicorn_options(settings: Settings) -> dict[str, object]:
    return {
        "ws_per_message_deflate": False,  # consoles sit on a local network: spare the CPU
        # An access log line carries the query string (a search by a caller's number): the
        # hub's own metrics count requests instead.
        "access_log": False,
        "log_level": settings.log_level.lower(),
        "timeout_graceful_shutdown": 10,
        "proxy_headers": True,
    }


DEMO_ACCOUNTS = (
    ("admin", ["admin"], None),
    ("supervisor", ["supervisor"], None),
    ("dispatcher", ["dispatcher", "call_taker"], None),
    ("calltaker", ["call_taker"], None),
    ("hospital", ["hospital"], "xian-medical-university-first"),
)
DEMO_HOSPITAL = "xian-medical-university-first"


async def run_demo_accounts(settings: Settings, unit: str) -> dict[str, str]:
    """The demo's accounts and device tokens: made on the first start and kept in the data
    folder (readable by its owner only), so a restart leaves signed-in tablets paired."""
    from sqlalchemy import select

    from dispatch.audit.schemas import Actor
    from dispatch.auth import service as auth_service
    from dispatch.auth import tokens
    from dispatch.auth.models import Device
    from dispatch.auth.schemas import Role

    path = settings.data_dir / "demo-accounts.json"
    try:
        kept: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
    except ValueError:
        kept = {}
    out: dict[str, str] = {}
    async with open_runtime(settings) as rt, rt.sessionmaker() as session:
        now = rt.clock.now()
        for username, roles, hospital in DEMO_ACCOUNTS:
            out[username] = kept.get(username) or secrets.token_urlsafe(9)
            await auth_service.ensure_user(session=session, username=username,
                                           password=out[username],
                                           roles=[Role(r) for r in roles], now=now,
                                           hospital_id=hospital)
        actor = Actor(name="demo")
        for key, kind, name in (("crew-token", "crew", f"demo-{unit}"),
                                ("hospital-token", "hospital", f"demo-{DEMO_HOSPITAL}"),
                                ("telephony-token", "telephony", "demo-cti")):
            token = kept.get(key)
            valid = token and await session.scalar(select(Device.id).where(
                Device.token_hash == tokens.token_hash(token), Device.revoked_at.is_(None)))
            if token and valid:
                out[key] = token
                continue
            _, out[key] = await auth_service.create_device(
                session=session, rt=rt, kind=kind, name=name, now=now, actor=actor,
                unit_id=unit if kind == "crew" else None,
                hospital_id=DEMO_HOSPITAL if kind == "hospital" else None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(out, indent=1))
    return out


def claim_port(host: str, port: int) -> socket.socket:
    """Bind the demo's port before anything else, so a second start fails first and touches
    nothing; uvicorn then serves on this very socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # listening at once: a second start cannot bind it meanwhile
    except OSError as error:
        sock.close()
        raise CommandError(f"{host}:{port} is in use ({error.strerror}): is a hub already "
                           "running? Stop it, or pass --port") from None
    return sock


def claim_data_dir(settings: Settings) -> object | None:
    """The embedded default keeps its database in the data folder: one hub at a time."""
    if not settings.embedded:
        return None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = (settings.data_dir / "hub.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise CommandError(f"another hub is using {settings.data_dir}/ (its database and "
                           "in-process Redis): stop it first") from None
    return lock


async def scenario_loaded(settings: Settings) -> str | None:
    """The name of the scenario already in the database, if any."""
    from sqlalchemy import select

    from dispatch.scenarios.models import ScenarioInfo

    async with open_runtime(settings) as rt, rt.sessionmaker() as session:
        return await session.scalar(select(ScenarioInfo.name).limit(1))


def cmd_demo(args: argparse.Namespace) -> None:
    import uvicorn

    from dispatch.main import create_app

    settings = (load_settings(demo_calls_per_minute=args.calls_per_minute)
                if args.calls_per_minute is not None else load_settings())
    sock = claim_port(args.host, args.port)
    lock = claim_data_dir(settings)
    asyncio.run(run_migrate(settings))
    loaded = asyncio.run(scenario_loaded(settings))
    if loaded is None:
        asyncio.run(run_scenario_load(settings, args.scenario))
    else:  # a running centre's changes (suspensions, zones, units) are kept
        print(f"scenario {loaded} is already loaded; `dispatch scenario load` loads one again")
    accounts = asyncio.run(run_demo_accounts(settings, "GX-01"))
    app = create_app(settings)
    url = f"http://{args.host}:{args.port}"
    where = "embedded SQLite + in-process Redis" if settings.embedded else "PostgreSQL + Redis"
    print(f"120 dispatch hub demo ({where})")
    print(f"  console:   {url}/console/")
    print(f"  crew:      {url}/crew/?unit=GX-01#token={accounts['crew-token']}")
    print(f"  hospital:  {url}/hospital/#token={accounts['hospital-token']}")
    print(f"  API docs:  {url}/docs")
    print(f"  demo accounts (kept in {settings.data_dir}/demo-accounts.json):")
    for username, roles, _hospital in DEMO_ACCOUNTS:
        print(f"    {username:<11} {accounts[username]:<14} {', '.join(roles)}")
    print(f"  telephony token (POST /api/v1/calls): {accounts['telephony-token']}")
    if settings.demo_calls_per_minute:
        print(f"  generating about {settings.demo_calls_per_minute:g} calls a minute")
    sys.stdout.flush()
    config = uvicorn.Config(app, **uvicorn_options(settings))  # type: ignore[arg-type]
    try:
        asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    finally:
        sock.close()
        del lock


async def preflight(settings: Settings) -> None:
    """Fail before forking workers if the database or Redis is unreachable or behind."""
    from sqlalchemy.ext.asyncio import AsyncEngine

    from dispatch import migrate

    async with open_runtime(settings, migrate_embedded=True) as rt:
        engine: AsyncEngine = rt.engine
        async with engine.connect() as connection:
            revision = await migrate.current_revision(connection)
        if revision != migrate.head_revision():
            raise CommandError(
                f"DISPATCH_DATABASE_URL: schema is at {revision or 'nothing'}, "
                f"the hub needs {migrate.head_revision()}: run `dispatch migrate`"
            )


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = load_settings()
    if args.workers > 1 and settings.embedded:
        raise CommandError(
            "several workers need shared storage: set DISPATCH_DATABASE_URL and DISPATCH_REDIS_URL"
        )
    claim_port(args.host, args.port).close()  # uvicorn binds it again, in each worker's master
    lock = claim_data_dir(settings)
    asyncio.run(preflight(settings))
    uvicorn.run(
        "dispatch.main:create_app", factory=True, host=args.host, port=args.port,
        workers=args.workers, **uvicorn_options(settings),  # type: ignore[arg-type]
    )
    del lock


def cmd_replay(args: argparse.Namespace) -> None:
    from dispatch.replay import command

    try:
        code = command.main(args)
    except command.ERRORS as error:
        raise CommandError(str(error)) from None
    if code:
        raise SystemExit(code)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dispatch", description="120 emergency dispatch hub")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="migrate the database to the newest schema").set_defaults(
        func=cmd_migrate
    )

    scenario = sub.add_parser("scenario", help="scenario files").add_subparsers(
        dest="scenario_command", required=True
    )
    load = scenario.add_parser("load", help="validate a scenario and load it")
    load.add_argument("file", help="a YAML/JSON file, or a built-in name (xian-high-tech-zone)")
    load.set_defaults(func=cmd_scenario_load)
    validate = scenario.add_parser("validate", help="check a scenario file without loading it")
    validate.add_argument("file")
    validate.set_defaults(func=cmd_scenario_validate)

    user = sub.add_parser("user", help="accounts").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="add an account (e.g. the first admin)")
    create.add_argument("username")
    create.add_argument("--role", action="append", required=True,
                        help="admin, supervisor, dispatcher, call_taker, hospital, crew (repeatable)")
    create.add_argument("--password", help="at least 10 characters; generated and printed if omitted")
    create.add_argument("--unit", help="bind a crew account to a unit")
    create.add_argument("--hospital", help="bind a hospital account to a hospital")
    create.set_defaults(func=cmd_user_create)

    device = sub.add_parser("device", help="device tokens").add_subparsers(
        dest="device_command", required=True)
    make = device.add_parser("create", help="issue a token for a crew tablet, hospital terminal or CTI")
    make.add_argument("--kind", required=True, choices=["crew", "hospital", "telephony"])
    make.add_argument("--name", required=True)
    make.add_argument("--unit")
    make.add_argument("--hospital")
    make.set_defaults(func=cmd_device_create)

    demo = sub.add_parser("demo", help="migrate, load the built-in scenario and serve locally")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--scenario", default="xian-high-tech-zone")
    demo.add_argument("--calls-per-minute", type=float, default=None,
                      help="generate calls at this mean rate (callers in the area, by population)")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="serve the hub (production)")
    serve.add_argument("--host", default=os.environ.get("DISPATCH_HOST", "0.0.0.0"))  # noqa: S104
    serve.add_argument("--port", type=int, default=int(os.environ.get("DISPATCH_PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("DISPATCH_WORKERS", "1")))
    serve.set_defaults(func=cmd_serve)

    report = sub.add_parser("report", help="a month's quality report: HTML, PDF and a CSV of timelines")
    report.add_argument("--month", required=True, help="YYYY-MM, in the centre's calendar")
    report.add_argument("--out", default=".", help="folder to write to (default: here)")
    report.add_argument("--format", default="all", choices=["all", "html", "pdf", "csv"])
    report.set_defaults(func=cmd_report)

    from dispatch.replay.command import add_arguments

    replay = sub.add_parser("replay", help="replay a real call stream against a hub (load test)")
    add_arguments(replay)
    replay.set_defaults(func=cmd_replay)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    from dispatch.scenarios.service import ScenarioError

    level = os.environ.get("DISPATCH_LOG_LEVEL", "INFO").upper()
    configure_logging(level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO")
    func: Callable[[argparse.Namespace], None] = args.func
    try:
        func(args)
    except ScenarioError as error:
        for problem in error.problems:
            print(f"error: {error.source}: {problem}", file=sys.stderr)
        raise SystemExit(2) from None
    except DispatchError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        raise SystemExit(2) from None
    except (ConfigurationError, StartupError, CommandError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()

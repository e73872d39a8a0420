"""The `dispatch` command: migrate, load scenarios, run the demo or serve in production."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence

from dispatch.config import ConfigurationError, Settings, load_settings
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

    scenario, checksum = service.read_scenario(source)
    async with open_runtime(settings) as rt, rt.sessionmaker() as session:
        summary = await service.load_scenario(
            session=session, redis=rt.redis, keys=rt.keys, scenario=scenario,
            checksum=checksum, now=rt.clock.now(),
        )
    print(
        f"loaded {summary.name}: {summary.hospitals} hospitals, {summary.posts} posts, "
        f"{summary.units} units, {summary.zones} zones, {summary.positions} positions"
    )


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
        "log_level": settings.log_level.lower(),
        "timeout_graceful_shutdown": 10,
        "proxy_headers": True,
    }


def cmd_demo(args: argparse.Namespace) -> None:
    import uvicorn

    from dispatch.main import create_app

    settings = load_settings()
    asyncio.run(run_migrate(settings))
    asyncio.run(run_scenario_load(settings, args.scenario))
    app = create_app(settings)
    url = f"http://{args.host}:{args.port}"
    where = "embedded SQLite + in-process Redis" if settings.embedded else "PostgreSQL + Redis"
    print(f"120 dispatch hub demo ({where})")
    print(f"  console:   {url}/console/")
    print(f"  crew:      {url}/crew/?unit=GX-01")
    print(f"  API docs:  {url}/docs")
    sys.stdout.flush()
    config = uvicorn.Config(app, host=args.host, port=args.port, **uvicorn_options(settings))  # type: ignore[arg-type]
    asyncio.run(uvicorn.Server(config).serve())


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
    asyncio.run(preflight(settings))
    uvicorn.run(
        "dispatch.main:create_app", factory=True, host=args.host, port=args.port,
        workers=args.workers, **uvicorn_options(settings),  # type: ignore[arg-type]
    )


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

    demo = sub.add_parser("demo", help="migrate, load the built-in scenario and serve locally")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--scenario", default="xian-high-tech-zone")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="serve the hub (production)")
    serve.add_argument("--host", default=os.environ.get("DISPATCH_HOST", "0.0.0.0"))  # noqa: S104
    serve.add_argument("--port", type=int, default=int(os.environ.get("DISPATCH_PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("DISPATCH_WORKERS", "1")))
    serve.set_defaults(func=cmd_serve)
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
    except (ConfigurationError, StartupError, CommandError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()

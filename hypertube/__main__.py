"""Command line: `hypertube serve [--host H] [--port P] [--demo]` and `hypertube migrate`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from hypertube.settings import SettingsError, load_settings


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


# Ctrl-C: open requests (film streams above all) get this long to finish before they are cut.
SHUTDOWN_TIMEOUT_S = 1.0


def serve(args: argparse.Namespace) -> None:
    from hypertube.app import create_app
    from hypertube.cluster import node_url_for
    from hypertube.http.listener import run_app

    settings = load_settings()
    if args.demo or settings.demo:
        sources = settings.sources if "demo" in settings.sources else (*settings.sources, "demo")
        settings = settings.replace(demo=True, sources=sources)
    settings = settings.replace(node_url=settings.node_url or node_url_for(args.host, args.port))
    _configure_logging(settings.log_level)
    app = create_app(settings)
    print(f"Hypertube on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    run_app(
        app,
        host=args.host,
        port=args.port,
        header_timeout=settings.header_timeout,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )


def migrate(args: argparse.Namespace) -> None:
    from hypertube.db import apply_migrations, connect_pool, database_url

    settings = load_settings()
    _configure_logging(settings.log_level)

    async def run() -> list[str]:
        async with database_url(settings.database_url, settings.data_dir) as url:
            pool = await connect_pool(url, min_size=1, max_size=1)
            try:
                async with pool.acquire() as conn:
                    return await apply_migrations(conn)
            finally:
                await pool.close()

    applied = asyncio.run(run())
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hypertube", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the web server")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument("--demo", action="store_true", help="generate demo films and seed them on loopback")
    p_serve.set_defaults(func=serve)
    p_migrate = sub.add_parser("migrate", help="apply database migrations and exit")
    p_migrate.set_defaults(func=migrate)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except SettingsError as exc:
        print(f"hypertube: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

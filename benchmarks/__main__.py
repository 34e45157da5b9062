"""`python -m benchmarks create-database | run [--only NAME] [--requests N]`.

Prints p50/p95 server time (in-process, through the full middleware stack: session sign-in,
permission check, the view, the template, the audit row) and the queries per request. Run it
on PostgreSQL with the chain data set: `make bench`. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys


def create_database() -> None:
    """Create the database named in DATABASE_URL if it does not exist (PostgreSQL only)."""
    import dj_database_url
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    if "postgresql" not in config["ENGINE"]:
        return
    name = config["NAME"]
    conninfo = make_conninfo(
        dbname="postgres",
        host=str(config.get("HOST") or "127.0.0.1"),
        port=str(config.get("PORT") or 5432),
        user=str(config.get("USER") or "postgres"),
        password=str(config.get("PASSWORD") or ""),
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))
            print(f"created database {name}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("command", choices=["create-database", "run"])
    parser.add_argument("--only", default="", help="run only the benchmark with this name")
    parser.add_argument("--requests", type=int, default=300, help="requests per measured endpoint")
    args = parser.parse_args(argv)
    if args.command == "create-database":
        create_database()
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from benchmarks.suite import run_all

    return run_all(only=args.only, requests=args.requests)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

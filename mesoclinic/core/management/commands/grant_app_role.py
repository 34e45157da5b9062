"""`manage.py grant_app_role ROLE [--create]`: give the application's PostgreSQL role rows, not tables.

Run as the owner (DATABASE_OWNER_URL when set, else DATABASE_URL), once after the first migrate:
ROLE gets SELECT/INSERT/UPDATE/DELETE on every table and USAGE/SELECT on every sequence, now and
— by default privileges — on what later migrations create. `--create` makes the role (LOGIN,
nothing else; its password from the environment variable named by --password-env). Refuses the
owner itself, a superuser, or a role that owns tables. See docs/configuration.md and decision 26.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, transaction

from mesoclinic.core.dbroles import RoleRefused, grant_app_role, owner_connection


class Command(BaseCommand):
    help = "Give the application's PostgreSQL role SELECT/INSERT/UPDATE/DELETE on every table, now and later (run as the owner)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the role named in DATABASE_URL")
        parser.add_argument("--create", action="store_true", help="create the role first if it does not exist (needs CREATEROLE)")
        parser.add_argument(
            "--password-env", default="", metavar="VAR", help="with --create: the environment variable that holds its password"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = ""
        if options["password_env"]:
            password = os.environ.get(options["password_env"], "")
            if not password:
                raise CommandError(f"the environment variable {options['password_env']} is empty")
        with owner_connection(DEFAULT_DB_ALIAS) as connection:
            if connection.vendor != "postgresql":
                raise CommandError("roles are a PostgreSQL matter: SQLite has one file and no roles")
            try:
                with transaction.atomic(using=connection.alias):
                    grant = grant_app_role(connection, options["role"], create=options["create"], password=password)
            except RoleRefused as refused:
                raise CommandError(str(refused)) from refused
        if grant.created:
            self.stdout.write(f"created role {grant.role}")
        for statement in grant.statements:
            self.stdout.write(f"{statement};")

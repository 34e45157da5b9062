"""Django's `migrate`, run as the tables' owner when DATABASE_OWNER_URL is set (docs/decisions/0026).

The application's own role (DATABASE_URL) may not create, alter or drop tables; the owner does,
here. Tables made later get the application's privileges by the default privileges that
`grant_app_role` set up. Without DATABASE_OWNER_URL (SQLite, development, the tests) nothing changes.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import migrate

from mesoclinic.core.dbroles import owner_connection


class Command(migrate.Command):
    help = migrate.Command.help + " Runs as DATABASE_OWNER_URL's role when that is set."

    def handle(self, *args: Any, **options: Any) -> None:
        with owner_connection(options["database"]):
            super().handle(*args, **options)

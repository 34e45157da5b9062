"""`manage.py check --deploy --database default`: warns when the application connects to PostgreSQL
as a role that could switch the database's guards off — a superuser, or the owner of its tables
(docs/decisions/0026, docs/configuration.md#postgresql-roles)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import connections

HINT = "Connect as a role that owns nothing (DATABASE_URL) and migrate as the owner (DATABASE_OWNER_URL); see docs/configuration.md."


@register(Tags.database, deploy=True)
def application_role_owns_nothing(databases: Iterable[str] | None = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, rolsuper, (SELECT count(*) FROM pg_tables WHERE tableowner = current_user "
                "AND schemaname = current_schema()) FROM pg_roles WHERE rolname = current_user"
            )
            user, superuser, owned = cursor.fetchone()
        if superuser:
            messages.append(
                Warning(f"The application connects to PostgreSQL as {user}, a superuser.", hint=HINT, id="mesoclinic.W001", obj=alias)
            )
        elif owned:
            messages.append(
                Warning(
                    f"The application connects to PostgreSQL as {user}, which owns {owned} tables and could disable their triggers.",
                    hint=HINT,
                    id="mesoclinic.W002",
                    obj=alias,
                )
            )
    return messages

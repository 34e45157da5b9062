"""The PostgreSQL role split (docs/decisions/0026): the owner migrates, the application owns nothing.

`DATABASE_URL` names the role the web process and the worker connect as; `DATABASE_OWNER_URL`
(optional) names the role that owns the tables, with the same host and database. `migrate` and
`grant_app_role` run as the owner (`owner_connection`); everything else runs as the application's
role, which may read and write rows but can neither TRUNCATE, ALTER (so not disable a trigger)
nor DROP a table. SQLite has one file and no roles: none of this applies there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

CREDENTIALS = ("USER", "PASSWORD")
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_PRIVILEGES = "USAGE, SELECT"


class RoleRefused(Exception):
    """The role given for the application is unfit for it (the owner itself, a superuser, a table owner)."""


@contextmanager
def owner_connection(alias: str = DEFAULT_DB_ALIAS) -> Iterator[BaseDatabaseWrapper]:
    """The connection `alias`, reconnected inside the block as DATABASE_OWNER_URL's role when that is set."""
    owner = settings.MESOCLINIC_DATABASE_OWNER
    connection = connections[alias]
    if not owner or alias != DEFAULT_DB_ALIAS or connection.vendor != "postgresql":
        yield connection
        return
    saved = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
    connection.close()
    connection.settings_dict.update({key: owner.get(key) or "" for key in CREDENTIALS})
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@dataclass(frozen=True)
class Grant:
    role: str
    created: bool
    statements: list[str]


def grant_app_role(connection: BaseDatabaseWrapper, role: str, *, create: bool = False, password: str = "") -> Grant:
    """Give `role` rows, not tables: SELECT/INSERT/UPDATE/DELETE on every table of the current schema,
    USAGE/SELECT on its sequences, and the same by default on what the connected role (the owner)
    creates later. With `create`, the role is made first (LOGIN, nothing else) when it does not exist."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), current_schema()")
        owner, database, schema = cursor.fetchone()
        if role == owner:
            raise RoleRefused(f"{role} is the role connected now, which owns the tables; the application needs another role")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        created = False
        if found is None:
            if not create:
                raise RoleRefused(f"there is no role {role}; create it (or pass --create)")
            statement = sql.SQL("CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS{password}").format(
                role=sql.Identifier(role), password=sql.SQL(" PASSWORD {}").format(sql.Literal(password)) if password else sql.SQL("")
            )
            cursor.execute(statement.as_string(cursor.cursor))
            created = True
        elif found[0]:
            raise RoleRefused(f"{role} is a superuser: it could disable any trigger; the application needs a plain role")
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = %s AND schemaname = %s", [role, schema])
        if cursor.fetchone()[0]:
            raise RoleRefused(f"{role} owns tables in {schema}; the application's role must own nothing")
        statements = [
            sql.SQL(template).format(role=sql.Identifier(role), database=sql.Identifier(database), schema=sql.Identifier(schema))
            for template in (
                "GRANT CONNECT ON DATABASE {database} TO {role}",
                "GRANT USAGE ON SCHEMA {schema} TO {role}",
                f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {{schema}} TO {{role}}",
                f"GRANT {SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA {{schema}} TO {{role}}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{schema}} GRANT {TABLE_PRIVILEGES} ON TABLES TO {{role}}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{schema}} GRANT {SEQUENCE_PRIVILEGES} ON SEQUENCES TO {{role}}",
            )
        ]
        rendered = [grant.as_string(cursor.cursor) for grant in statements]
        for text in rendered:
            cursor.execute(text)
    return Grant(role=role, created=created, statements=rendered)

"""Fast bulk loading for demo data at chain scale.

PostgreSQL gets `COPY … FROM STDIN` (tens of thousands of rows a second); other databases get
`executemany`. Rows are plain tuples in the order of `columns` (database column names): no
model instances, no per-row validation — callers build rows that already respect every
constraint. Used only by `seed_demo`, never by request handling.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from django.db import connection, models


def bulk_insert(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *, batch: int = 20_000) -> int:
    """Insert `rows` into `model`'s table; returns how many were written."""
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    iterator = iter(rows)
    written = 0
    with connection.cursor() as cursor:
        while chunk := list(islice(iterator, batch)):
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
            else:
                placeholders = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})", chunk)  # noqa: S608 (identifiers quoted)
            written += len(chunk)
    return written


def reset_sequence(model: type[models.Model]) -> None:
    """After inserting explicit ids, move the id sequence past them (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [model]):
            cursor.execute(statement)


def analyze() -> None:
    """Refresh planner statistics after a big load so the first queries use the right indexes."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

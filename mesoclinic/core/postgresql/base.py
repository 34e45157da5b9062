"""Django's PostgreSQL backend; only `sql_flush` differs (docs/decisions/0026).

The append-only and signed tables refuse TRUNCATE with statement triggers (core/0003,
inventory/0003, procedures/0003, aftercare/0003). Django's flush — which empties the test
database after every `transaction=True` test and live-server browser test — is a TRUNCATE, so
it runs with `session_replication_role = replica`, in which ordinary triggers do not fire, for
just its own statements. Only a superuser (or a role granted `SET` on that parameter) may change
it: the application's role cannot, and neither can a table owner who is not a superuser, whose
flush is refused by the triggers.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style: Any, tables: Any, *, reset_sequences: bool = False, allow_cascade: bool = False) -> list[str]:
        statements = super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        if not statements:
            return statements
        # Both SET LOCALs: the flush may run in a savepoint of a longer transaction.
        return ["SET LOCAL session_replication_role = replica", *statements, "SET LOCAL session_replication_role = origin"]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

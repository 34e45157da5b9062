"""Django's flush (the test suite empties PostgreSQL test databases with it) still works although
the guarded tables refuse TRUNCATE: it runs in a superuser's `session_replication_role = replica`
for its own statements only (mesoclinic/core/postgresql, decision 26)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def replication_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        return cursor.fetchone()[0]


def test_flush_empties_the_audit_trail_and_leaves_the_guard_on_afterwards():
    audit.record(audit.SYSTEM, action=AuditEvent.Action.VIEW, object_type="patient", object_id=7)
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 0
    assert replication_role() == "origin"
    audit.record(audit.SYSTEM, action=AuditEvent.Action.VIEW, object_type="patient", object_id=8)
    with pytest.raises(DatabaseError, match="cannot be truncated"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE core_auditevent")
    assert AuditEvent.objects.count() == 1


def test_the_flush_sql_switches_the_triggers_off_only_around_its_own_statements():
    from django.core.management.color import no_style

    statements = connection.ops.sql_flush(no_style(), ["core_auditevent"])
    assert statements[0] == "SET LOCAL session_replication_role = replica"
    assert statements[-1] == "SET LOCAL session_replication_role = origin"
    assert any(statement.startswith("TRUNCATE") for statement in statements[1:-1])

"""The database itself refuses to change or delete audit rows (triggers from core/migrations/0002)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return audit.record(audit.SYSTEM, action=AuditEvent.Action.VIEW, object_type="patient", object_id=7, patient_id=7, location_id=1)


def run_sql(sql: str, params: list[object]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def truncate(statement: str) -> None:
    """Run a TRUNCATE in this test's transaction (its foreign-key checks settled first, as TRUNCATE requires)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement)


def test_the_database_refuses_to_update_an_audit_row(event):
    with pytest.raises(DatabaseError, match="append_only"):
        run_sql("UPDATE core_auditevent SET action = %s WHERE id = %s", ["delete", event.pk])
    event.refresh_from_db()
    assert event.action == AuditEvent.Action.VIEW


def test_the_database_refuses_to_delete_an_audit_row(event):
    with pytest.raises(DatabaseError, match="append_only"):
        run_sql("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_orm_cannot_delete_or_update_audit_rows_either(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="someone else")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).actor_label == "system"


def test_new_audit_rows_can_still_be_added(event):
    audit.record(audit.SYSTEM, action=AuditEvent.Action.UPDATE, object_type="patient", object_id=7)
    assert AuditEvent.objects.count() == 2


@pytest.mark.postgres
def test_the_database_refuses_to_truncate_the_audit_trail(event):
    with pytest.raises(DatabaseError, match="core_auditevent_append_only: the audit trail cannot be truncated"):
        truncate("TRUNCATE core_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()

"""TRUNCATE of the audit trail is refused by the database itself (docs/decisions/0002, 0026).

Migration 0002 refuses UPDATE and DELETE row by row; TRUNCATE fires no row trigger, so it gets its
own statement trigger on PostgreSQL, which refuses while the table holds any row. It also fires when another table's `TRUNCATE … CASCADE` would
reach this one. Only a superuser's session with `session_replication_role = replica` skips it —
that is how the test suite's flush empties test databases (mesoclinic/core/postgresql).
SQLite has no TRUNCATE: `DELETE FROM` without a WHERE clause already fires the DELETE trigger of 0002.
"""

from django.db import migrations

PG_INSTALL = """
CREATE OR REPLACE FUNCTION core_auditevent_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM core_auditevent) THEN
        RAISE EXCEPTION 'core_auditevent_append_only: the audit trail cannot be truncated'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditevent_no_truncate
    BEFORE TRUNCATE ON core_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_refuse_truncate();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent;
DROP FUNCTION IF EXISTS core_auditevent_refuse_truncate();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_INSTALL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REMOVE)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_append_only")]
    operations = [migrations.RunPython(install, remove)]

"""TRUNCATE of the issued handouts is refused by the database itself (docs/decisions/0017, 0026).

Migration 0002 refuses UPDATE; a handout is erased one row at a time, within retention rules, with
DELETE. TRUNCATE would empty them all at once and fires no row trigger, so it gets its own
statement trigger on PostgreSQL, which refuses while any handout exists (also through
`TRUNCATE … CASCADE` from the session records). Only a superuser's session with `session_replication_role =
replica` skips it (the test suite's flush, mesoclinic/core/postgresql). SQLite has no TRUNCATE.
"""

from django.db import migrations

PG_INSTALL = """
CREATE OR REPLACE FUNCTION aftercare_handout_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM aftercare_aftercarehandout) THEN
        RAISE EXCEPTION 'aftercare_aftercarehandout_immutable: issued aftercare handouts cannot be truncated'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER aftercare_aftercarehandout_no_truncate
    BEFORE TRUNCATE ON aftercare_aftercarehandout
    FOR EACH STATEMENT EXECUTE FUNCTION aftercare_handout_refuse_truncate();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS aftercare_aftercarehandout_no_truncate ON aftercare_aftercarehandout;
DROP FUNCTION IF EXISTS aftercare_handout_refuse_truncate();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_INSTALL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REMOVE)


class Migration(migrations.Migration):
    dependencies = [("aftercare", "0002_handout_immutable")]
    operations = [migrations.RunPython(install, remove)]

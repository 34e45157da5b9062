"""An issued aftercare handout cannot be changed: UPDATE on aftercare_aftercarehandout is refused by
the database itself, on PostgreSQL and SQLite (docs/decisions/0017). DELETE stays possible for
record erasure within retention rules."""

from django.db import migrations

PG_INSTALL = """
CREATE OR REPLACE FUNCTION aftercare_handout_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'aftercare_aftercarehandout_immutable: an issued aftercare handout cannot be changed'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER aftercare_aftercarehandout_immutable
    BEFORE UPDATE ON aftercare_aftercarehandout
    FOR EACH ROW EXECUTE FUNCTION aftercare_handout_refuse_update();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS aftercare_aftercarehandout_immutable ON aftercare_aftercarehandout;
DROP FUNCTION IF EXISTS aftercare_handout_refuse_update();
"""
SQLITE_INSTALL = """CREATE TRIGGER aftercare_aftercarehandout_immutable BEFORE UPDATE ON aftercare_aftercarehandout
   BEGIN SELECT RAISE(ABORT, 'aftercare_aftercarehandout_immutable: an issued aftercare handout cannot be changed'); END;"""
SQLITE_REMOVE = "DROP TRIGGER IF EXISTS aftercare_aftercarehandout_immutable;"


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_INSTALL)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_INSTALL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REMOVE)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_REMOVE)


class Migration(migrations.Migration):
    dependencies = [("aftercare", "0001_handouts_checkins_follow_ups")]
    operations = [migrations.RunPython(install, remove)]

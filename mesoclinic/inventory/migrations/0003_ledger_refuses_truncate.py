"""TRUNCATE of the stock ledger is refused by the database itself (docs/decisions/0011, 0026).

Migration 0002 refuses UPDATE and DELETE row by row; TRUNCATE fires no row trigger, so it gets its
own statement trigger on PostgreSQL, which refuses while the ledger holds any line — also when `TRUNCATE inventory_lot CASCADE` would reach the
ledger. Only a superuser's session with `session_replication_role = replica` skips it (the test
suite's flush, mesoclinic/core/postgresql). SQLite has no TRUNCATE: `DELETE FROM` without a WHERE
clause already fires the DELETE trigger of 0002.
"""

from django.db import migrations

PG_INSTALL = """
CREATE OR REPLACE FUNCTION inventory_stockmovement_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inventory_stockmovement) THEN
        RAISE EXCEPTION 'inventory_stockmovement_append_only: the stock ledger cannot be truncated'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER inventory_stockmovement_no_truncate
    BEFORE TRUNCATE ON inventory_stockmovement
    FOR EACH STATEMENT EXECUTE FUNCTION inventory_stockmovement_refuse_truncate();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS inventory_stockmovement_no_truncate ON inventory_stockmovement;
DROP FUNCTION IF EXISTS inventory_stockmovement_refuse_truncate();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_INSTALL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REMOVE)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_ledger_append_only")]
    operations = [migrations.RunPython(install, remove)]

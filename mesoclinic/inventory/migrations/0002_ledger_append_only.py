"""Make the stock ledger append-only in the database itself (as core/0002 does for the audit trail).

UPDATE and DELETE on inventory_stockmovement raise an error on both PostgreSQL and SQLite, whatever
code issues them. A mistake in the ledger is corrected by a new line. (TRUNCATE is refused by
migration 0003.)
"""

from django.db import migrations

PG_INSTALL = """
CREATE OR REPLACE FUNCTION inventory_stockmovement_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'inventory_stockmovement_append_only: stock movements cannot be changed or deleted'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER inventory_stockmovement_append_only
    BEFORE UPDATE OR DELETE ON inventory_stockmovement
    FOR EACH ROW EXECUTE FUNCTION inventory_stockmovement_refuse_change();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS inventory_stockmovement_append_only ON inventory_stockmovement;
DROP FUNCTION IF EXISTS inventory_stockmovement_refuse_change();
"""
SQLITE_INSTALL = [
    """CREATE TRIGGER inventory_stockmovement_no_update BEFORE UPDATE ON inventory_stockmovement
       BEGIN SELECT RAISE(ABORT, 'inventory_stockmovement_append_only: stock movements cannot be changed'); END;""",
    """CREATE TRIGGER inventory_stockmovement_no_delete BEFORE DELETE ON inventory_stockmovement
       BEGIN SELECT RAISE(ABORT, 'inventory_stockmovement_append_only: stock movements cannot be deleted'); END;""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS inventory_stockmovement_no_update;",
    "DROP TRIGGER IF EXISTS inventory_stockmovement_no_delete;",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_INSTALL)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_INSTALL:
            schema_editor.execute(statement)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REMOVE)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REMOVE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_lots_ledger_reorder_levels")]
    operations = [migrations.RunPython(install, remove)]

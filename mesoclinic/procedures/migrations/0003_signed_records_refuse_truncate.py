"""TRUNCATE cannot empty signed session records, their rows or their amendments (docs/decisions/0016, 0026).

Migration 0002 guards rows one by one; TRUNCATE fires no row trigger, so each table gets a
statement trigger on PostgreSQL. It looks at the data as it was before the statement:
- `procedures_procedurerecord`: refused while any record is signed;
- its child tables (treated areas, product and consumable usages, PRP, reactions): refused while
  any of their rows belongs to a signed record;
- `procedures_amendment`: refused while it holds any amendment (append-only).
`TRUNCATE … CASCADE` fires the triggers of every table it reaches. Only a superuser's session with
`session_replication_role = replica` skips them (the test suite's flush, mesoclinic/core/postgresql).
SQLite has no TRUNCATE: `DELETE FROM` without a WHERE clause fires the row triggers of 0002.
"""

# ruff: noqa: S608 — the SQL is built from the constants below, never from input.
from django.db import migrations

MESSAGE = "procedures_procedurerecord_signed_immutable: signed session records cannot be truncated"
AMEND_MESSAGE = "procedures_amendment_append_only: amendments cannot be truncated"
CHILDREN = (
    "procedures_areatreatment",
    "procedures_productusage",
    "procedures_consumableusage",
    "procedures_prppreparation",
    "procedures_reaction",
)

PG_INSTALL = [
    f"""
CREATE OR REPLACE FUNCTION procedures_record_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM procedures_procedurerecord WHERE status = 'signed') THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""",
    """
CREATE TRIGGER procedures_procedurerecord_no_truncate
    BEFORE TRUNCATE ON procedures_procedurerecord
    FOR EACH STATEMENT EXECUTE FUNCTION procedures_record_refuse_truncate();
""",
    f"""
CREATE OR REPLACE FUNCTION procedures_child_refuse_truncate() RETURNS trigger AS $$
DECLARE
    signed_rows boolean;
BEGIN
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM ' || quote_ident(TG_TABLE_NAME) || ' AS child'
        || ' JOIN procedures_procedurerecord AS record ON record.id = child.record_id'
        || ' WHERE record.status = ''signed'')'
    INTO signed_rows;
    IF signed_rows THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""",
    *[
        f"""
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION procedures_child_refuse_truncate();
"""
        for table in CHILDREN
    ],
    f"""
CREATE OR REPLACE FUNCTION procedures_amendment_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM procedures_amendment) THEN
        RAISE EXCEPTION '{AMEND_MESSAGE}'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""",
    """
CREATE TRIGGER procedures_amendment_no_truncate
    BEFORE TRUNCATE ON procedures_amendment
    FOR EACH STATEMENT EXECUTE FUNCTION procedures_amendment_refuse_truncate();
""",
]
PG_REMOVE = [
    "DROP TRIGGER IF EXISTS procedures_procedurerecord_no_truncate ON procedures_procedurerecord;",
    *[f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};" for table in CHILDREN],
    "DROP TRIGGER IF EXISTS procedures_amendment_no_truncate ON procedures_amendment;",
    "DROP FUNCTION IF EXISTS procedures_record_refuse_truncate();",
    "DROP FUNCTION IF EXISTS procedures_child_refuse_truncate();",
    "DROP FUNCTION IF EXISTS procedures_amendment_refuse_truncate();",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in PG_INSTALL:
            schema_editor.execute(statement)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in PG_REMOVE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("procedures", "0002_signed_records_immutable")]
    operations = [migrations.RunPython(install, remove)]

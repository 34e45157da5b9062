"""A signed session record cannot be changed, in the database itself (docs/decisions/0016).

On PostgreSQL and SQLite, triggers refuse:
- UPDATE or DELETE of a `procedures_procedurerecord` row whose status is "signed";
- INSERT, UPDATE or DELETE of a child row (treated areas, product and consumable usages, PRP,
  reactions) of a signed record;
- UPDATE or DELETE of an amendment, and an amendment of a record that is not signed.
Signing itself (status open → signed) is allowed: the guard looks at the row as it was.
TRUNCATE is refused by migration 0003.
"""

# ruff: noqa: S608 — the SQL is built from the constants below, never from input.
from django.db import migrations

MESSAGE = "procedures_procedurerecord_signed_immutable: a signed session record cannot be changed; add an amendment"
AMEND_MESSAGE = "procedures_amendment_append_only: amendments cannot be changed or deleted"
AMEND_SIGNED = "procedures_amendment_signed_only: only a signed record can be amended"
CHILDREN = (
    "procedures_areatreatment",
    "procedures_productusage",
    "procedures_consumableusage",
    "procedures_prppreparation",
    "procedures_reaction",
)

PG_INSTALL = [
    f"""
CREATE OR REPLACE FUNCTION procedures_record_refuse_signed_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'signed' THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""",
    """
CREATE TRIGGER procedures_procedurerecord_signed_immutable
    BEFORE UPDATE OR DELETE ON procedures_procedurerecord
    FOR EACH ROW EXECUTE FUNCTION procedures_record_refuse_signed_change();
""",
    f"""
CREATE OR REPLACE FUNCTION procedures_child_refuse_signed_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
        SELECT 1 FROM procedures_procedurerecord WHERE id = OLD.record_id AND status = 'signed'
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (
        SELECT 1 FROM procedures_procedurerecord WHERE id = NEW.record_id AND status = 'signed'
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""",
    *[
        f"""
CREATE TRIGGER {table}_signed_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION procedures_child_refuse_signed_change();
"""
        for table in CHILDREN
    ],
    f"""
CREATE OR REPLACE FUNCTION procedures_amendment_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        RAISE EXCEPTION '{AMEND_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM procedures_procedurerecord WHERE id = NEW.record_id AND status = 'signed') THEN
        RAISE EXCEPTION '{AMEND_SIGNED}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""",
    """
CREATE TRIGGER procedures_amendment_guard
    BEFORE INSERT OR UPDATE OR DELETE ON procedures_amendment
    FOR EACH ROW EXECUTE FUNCTION procedures_amendment_guard();
""",
]
PG_REMOVE = [
    "DROP TRIGGER IF EXISTS procedures_procedurerecord_signed_immutable ON procedures_procedurerecord;",
    *[f"DROP TRIGGER IF EXISTS {table}_signed_immutable ON {table};" for table in CHILDREN],
    "DROP TRIGGER IF EXISTS procedures_amendment_guard ON procedures_amendment;",
    "DROP FUNCTION IF EXISTS procedures_record_refuse_signed_change();",
    "DROP FUNCTION IF EXISTS procedures_child_refuse_signed_change();",
    "DROP FUNCTION IF EXISTS procedures_amendment_guard();",
]


def _signed(alias: str) -> str:
    return f"(SELECT status FROM procedures_procedurerecord WHERE id = {alias}.record_id) = 'signed'"


SQLITE_INSTALL = [
    f"""CREATE TRIGGER procedures_procedurerecord_signed_no_update BEFORE UPDATE ON procedures_procedurerecord
       WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER procedures_procedurerecord_signed_no_delete BEFORE DELETE ON procedures_procedurerecord
       WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    *[
        statement
        for table in CHILDREN
        for statement in (
            f"""CREATE TRIGGER {table}_signed_no_insert BEFORE INSERT ON {table}
               WHEN {_signed("NEW")} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
            f"""CREATE TRIGGER {table}_signed_no_update BEFORE UPDATE ON {table}
               WHEN {_signed("OLD")} OR {_signed("NEW")} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
            f"""CREATE TRIGGER {table}_signed_no_delete BEFORE DELETE ON {table}
               WHEN {_signed("OLD")} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
        )
    ],
    f"""CREATE TRIGGER procedures_amendment_signed_only BEFORE INSERT ON procedures_amendment
       WHEN NOT ({_signed("NEW")}) BEGIN SELECT RAISE(ABORT, '{AMEND_SIGNED}'); END;""",
    f"""CREATE TRIGGER procedures_amendment_no_update BEFORE UPDATE ON procedures_amendment
       BEGIN SELECT RAISE(ABORT, '{AMEND_MESSAGE}'); END;""",
    f"""CREATE TRIGGER procedures_amendment_no_delete BEFORE DELETE ON procedures_amendment
       BEGIN SELECT RAISE(ABORT, '{AMEND_MESSAGE}'); END;""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS procedures_procedurerecord_signed_no_update;",
    "DROP TRIGGER IF EXISTS procedures_procedurerecord_signed_no_delete;",
    *[f"DROP TRIGGER IF EXISTS {table}_signed_no_{op};" for table in CHILDREN for op in ("insert", "update", "delete")],
    "DROP TRIGGER IF EXISTS procedures_amendment_signed_only;",
    "DROP TRIGGER IF EXISTS procedures_amendment_no_update;",
    "DROP TRIGGER IF EXISTS procedures_amendment_no_delete;",
]


def install(apps, schema_editor):
    statements = {"postgresql": PG_INSTALL, "sqlite": SQLITE_INSTALL}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def remove(apps, schema_editor):
    statements = {"postgresql": PG_REMOVE, "sqlite": SQLITE_REMOVE}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("procedures", "0001_session_record")]
    operations = [migrations.RunPython(install, remove)]

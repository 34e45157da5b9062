"""A signed record cannot be changed — the database itself refuses (triggers from migration 0002), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from mesoclinic.procedures.models import Amendment, AreaTreatment, ProcedureRecord, ProductUsage, Reaction
from mesoclinic.procedures.services import ConsumableLine, sign_procedure

from .factories import chart_fully

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(clinic, clock):
    record = chart_fully(
        clinic.nurse_ctx, clinic.record(), clock, lot=clinic.lot, consumables=[ConsumableLine(lot=clinic.cartridge_lot, quantity=1)]
    )
    sign_procedure(ctx=clinic.nurse_ctx, record=record)
    return record


def run_sql(sql: str, params: list[object]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def truncate(statement: str) -> None:
    """Run a TRUNCATE in this test's transaction (its foreign-key checks settled first, as TRUNCATE requires)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement)


def test_a_raw_update_of_a_signed_record_fails(signed):
    with pytest.raises(DatabaseError, match="signed_immutable"):
        run_sql("UPDATE procedures_procedurerecord SET notes = %s WHERE id = %s", ["changed", signed.pk])
    with pytest.raises(DatabaseError, match="signed_immutable"):
        run_sql("UPDATE procedures_procedurerecord SET status = %s WHERE id = %s", ["open", signed.pk])
    signed.refresh_from_db()
    assert (signed.notes, signed.status) == ("", "signed")


def test_a_raw_delete_of_a_signed_record_fails(signed):
    with pytest.raises(DatabaseError, match="signed_immutable"):
        run_sql("DELETE FROM procedures_procedurerecord WHERE id = %s", [signed.pk])
    assert ProcedureRecord.objects.filter(pk=signed.pk).exists()


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("procedures_areatreatment", "depth_mm", "1.20"),
        ("procedures_productusage", "volume_ml", "9.00"),
        ("procedures_consumableusage", "quantity", 9),
        ("procedures_reaction", "description", "edited"),
    ],
)
def test_a_raw_update_of_a_signed_records_rows_fails(signed, table, column, value):
    with pytest.raises(DatabaseError, match="signed_immutable"):
        run_sql(f"UPDATE {table} SET {column} = %s WHERE record_id = %s", [value, signed.pk])  # noqa: S608 — test constants


def test_rows_of_a_signed_record_cannot_be_deleted_or_added(signed, clinic):
    with pytest.raises(DatabaseError, match="signed_immutable"):
        run_sql("DELETE FROM procedures_reaction WHERE record_id = %s", [signed.pk])
    with pytest.raises(DatabaseError, match="signed_immutable"), transaction.atomic():
        Reaction.objects.create(record=signed, kind="pain", severity="mild", recorded_at=timezone.now(), recorded_by=clinic.nurse)
    treatment = AreaTreatment.objects.get(record=signed)
    with pytest.raises(DatabaseError, match="signed_immutable"), transaction.atomic():
        ProductUsage.objects.create(
            record=signed, treatment=treatment, product=clinic.lot.product, lot=clinic.lot, volume_ml=1, stock_quantity=1
        )
    assert Reaction.objects.filter(record=signed).count() == 1


def test_the_orm_cannot_save_a_signed_record_either(signed):
    signed.notes = "quietly changed"
    with pytest.raises(DatabaseError, match="signed_immutable"), transaction.atomic():
        signed.save()


def test_an_open_record_can_still_be_changed(clinic):
    record = clinic.record()
    run_sql("UPDATE procedures_procedurerecord SET notes = %s WHERE id = %s", ["fine", record.pk])
    record.refresh_from_db()
    assert record.notes == "fine"


def test_amendments_are_append_only_and_only_for_signed_records(signed, clinic):
    amendment = Amendment.objects.create(
        record=signed,
        section="sign_off",
        field="notes",
        label="Session notes",
        new_value="Patient tolerated well.",
        reason="Forgot to write it at sign-off.",
        amended_by=clinic.nurse,
        amended_at=timezone.now(),
    )
    with pytest.raises(DatabaseError, match="append_only"):
        run_sql("UPDATE procedures_amendment SET new_value = %s WHERE id = %s", ["x", amendment.pk])
    with pytest.raises(DatabaseError, match="append_only"):
        run_sql("DELETE FROM procedures_amendment WHERE id = %s", [amendment.pk])
    open_record = clinic.record(at=signed.appointment.starts_at + timezone.timedelta(hours=2))
    with pytest.raises(DatabaseError, match="signed_only"), transaction.atomic():
        Amendment.objects.create(
            record=open_record,
            section="sign_off",
            field="notes",
            label="x",
            new_value="y",
            reason="z",
            amended_by=clinic.nurse,
            amended_at=timezone.now(),
        )


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE procedures_procedurerecord CASCADE",
        "TRUNCATE procedures_areatreatment CASCADE",
        "TRUNCATE procedures_productusage CASCADE",
        "TRUNCATE procedures_consumableusage",
        "TRUNCATE procedures_reaction",
    ],
)
def test_truncate_cannot_empty_a_signed_record_or_its_rows(signed, statement):
    with pytest.raises(DatabaseError, match="signed session records cannot be truncated"):
        truncate(statement)
    assert ProcedureRecord.objects.filter(pk=signed.pk, status="signed").exists()
    assert Reaction.objects.filter(record=signed).count() == 1


@pytest.mark.postgres
def test_truncate_cannot_empty_the_amendments(signed, clinic):
    Amendment.objects.create(
        record=signed,
        section="sign_off",
        field="notes",
        label="Session notes",
        new_value="Patient tolerated well.",
        reason="Forgot to write it at sign-off.",
        amended_by=clinic.nurse,
        amended_at=timezone.now(),
    )
    with pytest.raises(DatabaseError, match="procedures_amendment_append_only: amendments cannot be truncated"):
        truncate("TRUNCATE procedures_amendment")
    assert Amendment.objects.filter(record=signed).count() == 1


@pytest.mark.postgres
def test_truncate_may_still_empty_records_nobody_has_signed(clinic):
    record = clinic.record()
    truncate("TRUNCATE procedures_procedurerecord CASCADE")
    assert not ProcedureRecord.objects.filter(pk=record.pk).exists()

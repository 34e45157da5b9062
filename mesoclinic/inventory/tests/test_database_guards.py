"""What the database itself refuses, whatever code asks: ledger edits, negative stock, broken lots."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, ProtectedError

from mesoclinic.catalog.models import Product
from mesoclinic.inventory.models import Lot, StockMovement

from .factories import ConsumableFactory, ProductFactory, make_lot

pytestmark = pytest.mark.django_db


def run_sql(sql: str, params: list[object]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def truncate(statement: str) -> None:
    """Run a TRUNCATE in this test's transaction (its foreign-key checks settled first, as TRUNCATE requires)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement)


@pytest.fixture
def movement(location):
    return make_lot(location).movements.get()


def test_the_database_refuses_to_update_a_ledger_line(movement):
    with pytest.raises(DatabaseError, match="inventory_stockmovement_append_only"):
        run_sql("UPDATE inventory_stockmovement SET quantity = %s WHERE id = %s", [Decimal("99"), movement.pk])
    movement.refresh_from_db()
    assert movement.quantity == Decimal("10.00")


def test_the_database_refuses_to_delete_a_ledger_line(movement):
    with pytest.raises(DatabaseError, match="inventory_stockmovement_append_only"):
        run_sql("DELETE FROM inventory_stockmovement WHERE id = %s", [movement.pk])
    assert StockMovement.objects.filter(pk=movement.pk).exists()


def test_the_orm_cannot_change_or_delete_ledger_lines_either(movement):
    with pytest.raises(DatabaseError), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).update(reason="tidied up")
    with pytest.raises(DatabaseError), transaction.atomic():
        StockMovement.objects.all().delete()
    assert StockMovement.objects.get(pk=movement.pk).reason == ""


def test_a_lot_with_a_ledger_cannot_be_deleted(movement):
    with pytest.raises(ProtectedError), transaction.atomic():
        Lot.objects.filter(pk=movement.lot_id).delete()
    assert Lot.objects.filter(pk=movement.lot_id).exists()


def test_the_database_refuses_a_negative_on_hand(location):
    lot = make_lot(location, quantity="1")
    with pytest.raises(IntegrityError, match=r"inventory_lot_on_hand_not_negative|CHECK"), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(on_hand=F("on_hand") - Decimal("1.01"))
    lot.refresh_from_db()
    assert lot.on_hand == Decimal("1.00")


def test_the_database_refuses_part_of_a_vial_or_a_piece(location):
    vials = make_lot(location, product=ProductFactory(unit=Product.Unit.VIAL), quantity="4")
    needles = make_lot(location, consumable=ConsumableFactory(), quantity="4")
    for lot in (vials, needles):
        with pytest.raises(IntegrityError), transaction.atomic():
            Lot.objects.filter(pk=lot.pk).update(on_hand=Decimal("2.5"))
    millilitres = make_lot(location, quantity="4")
    Lot.objects.filter(pk=millilitres.pk).update(on_hand=Decimal("2.5"))  # fine for ml


def test_the_database_refuses_a_duplicate_lot_number_for_a_product_at_a_location(location):
    lot = make_lot(location)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_lot(location, product=lot.product, lot_number=lot.lot_number)


def test_the_database_refuses_a_lot_of_both_or_neither_item(location):
    lot = make_lot(location)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(consumable=ConsumableFactory())
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(product=None)


def test_the_database_refuses_a_recall_without_a_reason(location):
    lot = make_lot(location)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(recalled=True)


@pytest.mark.parametrize(
    ("kind", "quantity", "fields"),
    [
        ("used", "-1", {}),  # a use without its session and patient
        ("used", "1", {"reference_type": "procedure", "reference_id": "1", "patient_id": 3}),  # a use that adds stock
        ("received", "-1", {}),
        ("wasted", "-1", {}),  # no reason
        ("adjusted", "0", {"reason": "count"}),
    ],
)
def test_the_database_refuses_a_ledger_line_that_does_not_fit_its_kind(location, kind, quantity, fields):
    lot = make_lot(location)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.create(lot=lot, kind=kind, quantity=Decimal(quantity), on_hand_after=Decimal("5"), **fields)


@pytest.mark.postgres
def test_the_database_refuses_to_truncate_the_ledger_directly_or_through_its_lots(movement):
    with pytest.raises(DatabaseError, match="inventory_stockmovement_append_only: the stock ledger cannot be truncated"):
        truncate("TRUNCATE inventory_stockmovement")
    with pytest.raises(DatabaseError, match="inventory_stockmovement_append_only"):
        truncate("TRUNCATE inventory_lot CASCADE")
    assert StockMovement.objects.filter(pk=movement.pk).exists()

"""adjust_stock and recall_lot: corrections, waste and returns as new ledger lines; a recall stops charting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory import services
from mesoclinic.inventory.models import StockMovement

from .factories import ConsumableFactory, ctx_for, make_lot

pytestmark = pytest.mark.django_db


def test_a_count_correction_adds_or_removes_and_keeps_the_ledger_summing_to_on_hand(location, manager):
    lot = make_lot(location, quantity="10")
    up = services.adjust_stock(ctx=ctx_for(manager), lot=lot, quantity=Decimal("1.25"), reason="Stock take: one vial found")
    down = services.adjust_stock(ctx=ctx_for(manager), lot=lot, quantity=Decimal("-3"), reason="Stock take")
    assert [(m.kind, m.quantity, m.on_hand_after) for m in (up, down)] == [
        ("adjusted", Decimal("1.25"), Decimal("11.25")),
        ("adjusted", Decimal("-3.00"), Decimal("8.25")),
    ]
    lot.refresh_from_db()
    assert lot.on_hand == Decimal("8.25") == lot.movements.aggregate(total=Sum("quantity"))["total"]
    assert AuditEvent.objects.filter(object_type="lot", object_id=str(lot.pk), action=AuditEvent.Action.UPDATE).count() == 2


def test_waste_and_returns_take_stock_out(location, manager):
    lot = make_lot(location, quantity="10")
    services.adjust_stock(ctx=ctx_for(manager), lot=lot, quantity=Decimal("-1"), reason="Vial dropped", kind=StockMovement.Kind.WASTED)
    services.adjust_stock(ctx=ctx_for(manager), lot=lot, quantity=Decimal("-9"), reason="Sent back", kind=StockMovement.Kind.RETURNED)
    lot.refresh_from_db()
    assert lot.on_hand == 0
    assert list(lot.movements.values_list("kind", flat=True)) == ["received", "wasted", "returned"]


def test_waste_cannot_add_stock(location, manager):
    lot = make_lot(location)
    with pytest.raises(services.InvalidQuantity, match="taken out"):
        services.adjust_stock(ctx=ctx_for(manager), lot=lot, quantity=Decimal("1"), reason="x", kind=StockMovement.Kind.WASTED)


def test_an_adjustment_needs_a_reason(location, manager):
    lot = make_lot(location)
    with pytest.raises(services.InvalidInput, match="reason"):
        services.adjust_stock(ctx=ctx_for(manager), lot=lot, quantity=Decimal("1"), reason="   ")
    assert lot.movements.count() == 1


@pytest.mark.parametrize("quantity", ["0", "0.001", "nonsense"])
def test_an_adjustment_must_change_something_sensible(location, manager, quantity):
    lot = make_lot(location)
    with pytest.raises(services.InvalidQuantity):
        services.adjust_stock(ctx=ctx_for(manager), lot=lot, quantity=quantity, reason="count")


def test_an_adjustment_cannot_take_more_than_is_on_hand(location, manager):
    lot = make_lot(location, quantity="2")
    with pytest.raises(services.InsufficientStock):
        services.adjust_stock(ctx=ctx_for(manager), lot=lot, quantity=Decimal("-2.5"), reason="count")
    lot.refresh_from_db()
    assert lot.on_hand == Decimal("2.00")


def test_part_of_a_needle_cannot_be_adjusted(location, manager):
    lot = make_lot(location, consumable=ConsumableFactory(), quantity="10")
    with pytest.raises(services.InvalidQuantity, match="whole"):
        services.adjust_stock(ctx=ctx_for(manager), lot=lot, quantity=Decimal("-0.5"), reason="count")


def test_a_recall_flags_the_lot_with_reason_and_time_and_stops_charting(location, manager, doctor):
    lot = make_lot(location)
    recalled = services.recall_lot(ctx=ctx_for(manager), lot=lot, reason=" Supplier notice R-17 ")
    assert (recalled.recalled, recalled.recall_reason) == (True, "Supplier notice R-17")
    assert recalled.recalled_at is not None
    event = AuditEvent.objects.get(object_type="lot", action=AuditEvent.Action.UPDATE)
    assert event.detail["fields"] == ["recalled", "recalled_at", "recall_reason"]
    with pytest.raises(services.LotRecalled):
        services.check_usable(lot=recalled, location=location, on=timezone.localdate())
    assert lot.on_hand == Decimal("10.00")  # the stock stays on the ledger until returned


def test_a_recall_needs_a_reason_and_happens_once(location, manager):
    lot = make_lot(location)
    with pytest.raises(services.InvalidInput):
        services.recall_lot(ctx=ctx_for(manager), lot=lot, reason="")
    services.recall_lot(ctx=ctx_for(manager), lot=lot, reason="Notice 1")
    with pytest.raises(services.AlreadyRecalled):
        services.recall_lot(ctx=ctx_for(manager), lot=lot, reason="Notice 2")
    lot.refresh_from_db()
    assert lot.recall_reason == "Notice 1"

"""receive_lot: a delivery becomes a lot with its first ledger line, or is refused with a clear reason."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from mesoclinic.catalog.models import Product
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory import services
from mesoclinic.inventory.models import Lot, StockMovement

from .factories import ConsumableFactory, ProductFactory, ctx_for

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel("2026-03-10 09:00 +00:00", tick=False):
        yield


def receive(location, manager, **overrides):
    args = {
        "ctx": ctx_for(manager),
        "location": location,
        "lot_number": "HC-2026-001",
        "expires_on": date(2027, 1, 31),
        "quantity": Decimal("50"),
        "supplier": "Meso Supplies Ltd",
    }
    if "consumable" not in overrides:
        args["product"] = ProductFactory()
    args.update(overrides)
    return services.receive_lot(**args)


def test_it_puts_a_lot_on_the_shelf_with_its_received_line_and_an_audit_row(location, manager):
    lot = receive(location, manager)
    assert (lot.on_hand, lot.quantity_received, lot.unit, lot.received_on) == (Decimal("50.00"), Decimal("50.00"), "ml", TODAY)
    assert lot.created_by == manager
    [movement] = lot.movements.all()
    assert (movement.kind, movement.quantity, movement.on_hand_after, movement.by) == (
        "received",
        Decimal("50.00"),
        Decimal("50.00"),
        manager,
    )
    event = AuditEvent.objects.get(object_type="lot", object_id=str(lot.pk))
    assert (event.action, event.location_id, event.actor) == (AuditEvent.Action.CREATE, location.pk, manager)


def test_it_takes_the_unit_from_the_product(location, manager):
    lot = receive(location, manager, product=ProductFactory(unit=Product.Unit.VIAL), quantity=Decimal("12"))
    assert lot.unit == "vial"


def test_consumables_are_counted_in_pieces(location, manager):
    lot = receive(location, manager, consumable=ConsumableFactory(), quantity=Decimal("200"))
    assert (lot.unit, lot.product, lot.on_hand) == ("piece", None, Decimal("200.00"))


def test_it_refuses_a_lot_that_has_already_expired(location, manager):
    with pytest.raises(services.LotExpired, match="expired on 09 Mar 2026"):
        receive(location, manager, expires_on=TODAY - timedelta(days=1))
    assert not Lot.objects.exists()


def test_a_lot_expiring_today_can_still_be_received(location, manager):
    assert receive(location, manager, expires_on=TODAY).expires_on == TODAY


@pytest.mark.parametrize("quantity", ["0", "-1", "0.001", "abc", "NaN", "Infinity", "100000000"])
def test_it_refuses_a_quantity_that_is_not_a_positive_amount_of_ml(location, manager, quantity):
    with pytest.raises(services.InvalidQuantity):
        receive(location, manager, quantity=quantity)
    assert not Lot.objects.exists() and not StockMovement.objects.exists()


def test_it_refuses_part_of_a_vial_or_a_needle(location, manager):
    with pytest.raises(services.InvalidQuantity, match="whole numbers"):
        receive(location, manager, product=ProductFactory(unit=Product.Unit.VIAL), quantity=Decimal("2.5"))
    with pytest.raises(services.InvalidQuantity, match="whole numbers"):
        receive(location, manager, consumable=ConsumableFactory(), quantity=Decimal("0.5"))


def test_it_refuses_a_lot_number_already_received_here_for_the_same_product(location, other_location, manager):
    product = ProductFactory()
    receive(location, manager, product=product)
    with pytest.raises(services.DuplicateLot, match=r"HC-2026-001 .* already been received"):
        receive(location, manager, product=product, lot_number="  HC-2026-001 ")
    receive(other_location, manager, product=product)  # the same lot delivered to another clinic is its own lot
    receive(location, manager, product=ProductFactory())  # another product may share the number
    assert Lot.objects.count() == 3


def test_it_refuses_a_product_that_is_no_longer_active(location, manager):
    with pytest.raises(services.ItemInactive, match="no longer active"):
        receive(location, manager, product=ProductFactory(is_active=False))
    with pytest.raises(services.ItemInactive):
        receive(location, manager, consumable=ConsumableFactory(is_active=False))


def test_it_refuses_an_empty_lot_number(location, manager):
    with pytest.raises(services.InvalidInput, match="lot number"):
        receive(location, manager, lot_number="   ")


def test_it_needs_exactly_one_product_or_consumable(location, manager):
    with pytest.raises(ValueError, match="exactly one"):
        receive(location, manager, consumable=ConsumableFactory(), product=ProductFactory())


def test_a_duplicate_received_at_the_same_moment_is_caught_by_the_database_and_reported_the_same_way(location, manager):
    """The pre-check passed for both receipts; the unique constraint refuses the second, and the user gets the same message."""
    from unittest import mock

    from django.db.models import QuerySet

    product = ProductFactory()
    receive(location, manager, product=product)
    with (
        mock.patch.object(QuerySet, "exists", side_effect=[False, True]),
        pytest.raises(services.DuplicateLot, match="already been received"),
    ):
        receive(location, manager, product=product)
    assert Lot.objects.count() == 1 and StockMovement.objects.count() == 1

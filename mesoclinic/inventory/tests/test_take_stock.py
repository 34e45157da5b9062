"""take_stock: a session's usages leave stock all together, or not at all, and each names the session and patient."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mesoclinic.catalog.models import Product
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory import services
from mesoclinic.inventory.models import Lot, StockMovement
from mesoclinic.inventory.services import StockUsage

from .factories import ConsumableFactory, ProductFactory, ctx_for, make_lot

pytestmark = pytest.mark.django_db


def take(location, user, *usages, on=None, reference_id="41"):
    return services.take_stock(
        ctx=ctx_for(user),
        location=location,
        usages=[StockUsage(lot=lot, quantity=Decimal(quantity)) for lot, quantity in usages],
        reference_type="procedure",
        reference_id=reference_id,
        patient_id=7,
        on=on or timezone.localdate(),
    )


def on_hand(lot: Lot) -> Decimal:
    lot.refresh_from_db()
    return lot.on_hand


def test_it_takes_every_usage_and_traces_each_to_the_session_and_patient(location, doctor):
    solution, needles = make_lot(location, quantity="10"), make_lot(location, consumable=ConsumableFactory(), quantity="100")
    movements = take(location, doctor, (solution, "2.5"), (needles, "3"))
    assert [(m.lot_id, m.kind, m.quantity, m.on_hand_after) for m in movements] == [
        (solution.pk, "used", Decimal("-2.50"), Decimal("7.50")),
        (needles.pk, "used", Decimal("-3.00"), Decimal("97.00")),
    ]
    assert all((m.reference_type, m.reference_id, m.patient_id, m.by) == ("procedure", "41", 7, doctor) for m in movements)
    assert (on_hand(solution), on_hand(needles)) == (Decimal("7.50"), Decimal("97.00"))
    events = AuditEvent.objects.filter(object_type="lot", action=AuditEvent.Action.UPDATE)
    assert sorted((e.object_id, e.patient_id, e.location_id) for e in events) == sorted(
        [(str(solution.pk), 7, location.pk), (str(needles.pk), 7, location.pk)]
    )


def test_two_products_of_one_mixture_each_keep_their_own_lot(location, doctor):
    first, second = make_lot(location), make_lot(location)
    take(location, doctor, (first, "1"), (second, "1.5"))
    assert list(StockMovement.objects.filter(kind="used").values_list("lot_id", "quantity").order_by("id")) == [
        (first.pk, Decimal("-1.00")),
        (second.pk, Decimal("-1.50")),
    ]


def test_the_same_lot_used_in_two_areas_counts_both_against_what_it_holds(location, doctor):
    lot = make_lot(location, quantity="3")
    with pytest.raises(services.InsufficientStock):
        take(location, doctor, (lot, "2"), (lot, "2"))
    movements = take(location, doctor, (lot, "2"), (lot, "1"))
    assert [m.on_hand_after for m in movements] == [Decimal("1.00"), Decimal("0.00")]
    assert on_hand(lot) == 0


def test_it_refuses_a_lot_that_expired_before_the_session_day(location, doctor):
    day = date(2026, 5, 1)
    lot = make_lot(location, expires_on=day - timedelta(days=1), received_on=day - timedelta(days=90))
    with pytest.raises(services.LotExpired, match="expired on 30 Apr 2026"):
        take(location, doctor, (lot, "1"), on=day)
    assert on_hand(lot) == Decimal("10.00")


def test_a_lot_can_be_used_on_its_expiry_day(location, doctor):
    day = date(2026, 5, 1)
    lot = make_lot(location, expires_on=day, received_on=day - timedelta(days=90))
    take(location, doctor, (lot, "1"), on=day)
    assert on_hand(lot) == Decimal("9.00")


def test_it_refuses_a_recalled_lot(location, doctor):
    lot = make_lot(location, recalled=True)
    with pytest.raises(services.LotRecalled, match="recalled"):
        take(location, doctor, (lot, "1"))


def test_it_refuses_a_lot_of_another_location(location, other_location, doctor):
    lot = make_lot(other_location)
    with pytest.raises(services.WrongLocation, match="another location"):
        take(location, doctor, (lot, "1"))
    assert on_hand(lot) == Decimal("10.00")


def test_it_refuses_more_than_the_lot_holds_and_says_how_much_it_holds(location, doctor):
    lot = make_lot(location, quantity="2")
    with pytest.raises(services.InsufficientStock, match=r"holds 2 ml; 2\.5 ml were asked for") as refused:
        take(location, doctor, (lot, "2.5"))
    assert (refused.value.available, refused.value.requested, refused.value.lot.pk) == (Decimal("2.00"), Decimal("2.50"), lot.pk)


@pytest.mark.parametrize("quantity", ["0", "-1", "0.005"])
def test_it_refuses_a_use_that_is_not_a_positive_amount(location, doctor, quantity):
    lot = make_lot(location)
    with pytest.raises(services.InvalidQuantity):
        take(location, doctor, (lot, quantity))


def test_it_refuses_part_of_a_needle(location, doctor):
    lot = make_lot(location, consumable=ConsumableFactory(), quantity="10")
    with pytest.raises(services.InvalidQuantity, match="whole numbers"):
        take(location, doctor, (lot, "1.5"))


@pytest.mark.parametrize("failing", ["expired", "recalled", "elsewhere", "short"])
def test_nothing_is_taken_when_one_of_several_usages_is_refused(location, other_location, doctor, failing):
    good = make_lot(location, quantity="10")
    needles = make_lot(location, consumable=ConsumableFactory(), quantity="50")
    bad = {
        "expired": lambda: make_lot(location, expires_on=timezone.localdate() - timedelta(days=1)),
        "recalled": lambda: make_lot(location, recalled=True),
        "elsewhere": lambda: make_lot(other_location),
        "short": lambda: make_lot(location, quantity="0.5"),
    }[failing]()
    movements_before, audit_before = StockMovement.objects.count(), AuditEvent.objects.count()
    with pytest.raises(services.StockError):
        take(location, doctor, (good, "2"), (needles, "2"), (bad, "1"))
    assert (on_hand(good), on_hand(needles), on_hand(bad)) == (Decimal("10.00"), Decimal("50.00"), bad.quantity_received)
    assert (StockMovement.objects.count(), AuditEvent.objects.count()) == (movements_before, audit_before)


def test_it_checks_the_current_row_not_the_callers_stale_copy(location, doctor):
    lot = make_lot(location, quantity="3")
    stale = Lot.objects.get(pk=lot.pk)
    take(location, doctor, (lot, "2"))
    with pytest.raises(services.InsufficientStock):
        take(location, doctor, (stale, "2"))  # the stale copy still says 3 ml
    Lot.objects.filter(pk=lot.pk).update(recalled=True, recalled_at=timezone.now(), recall_reason="notice")
    with pytest.raises(services.LotRecalled):
        take(location, doctor, (stale, "0.5"))


def test_an_empty_list_of_usages_takes_nothing(location, doctor):
    assert take(location, doctor) == []
    assert not StockMovement.objects.exists()


def test_a_use_needs_the_session_it_belongs_to(location, doctor):
    lot = make_lot(location)
    with pytest.raises(ValueError, match="reference"):
        services.take_stock(
            ctx=ctx_for(doctor),
            location=location,
            usages=[StockUsage(lot, Decimal(1))],
            reference_type="",
            reference_id="",
            patient_id=7,
            on=timezone.localdate(),
        )


def test_check_usable_raises_what_take_stock_would(location, other_location):
    today = timezone.localdate()
    product = ProductFactory()
    usable = make_lot(location, product=product, quantity="2")
    assert services.check_usable(lot=usable, location=location, on=today) is None
    assert services.check_usable(lot=usable, location=location, on=today, quantity=Decimal("2"), product=product) is None
    with pytest.raises(services.InsufficientStock):
        services.check_usable(lot=usable, location=location, on=today, quantity=Decimal("2.01"))
    with pytest.raises(services.WrongItem, match="is not"):
        services.check_usable(lot=usable, location=location, on=today, product=ProductFactory())
    with pytest.raises(services.WrongItem):
        services.check_usable(lot=usable, location=location, on=today, consumable=ConsumableFactory())
    with pytest.raises(services.WrongLocation):
        services.check_usable(lot=usable, location=other_location, on=today)
    with pytest.raises(services.LotExpired):
        services.check_usable(lot=usable, location=location, on=usable.expires_on + timedelta(days=1))
    with pytest.raises(services.LotRecalled):
        services.check_usable(lot=make_lot(location, recalled=True), location=location, on=today)


def test_vials_are_taken_in_whole_numbers(location, doctor):
    lot = make_lot(location, product=ProductFactory(unit=Product.Unit.VIAL), quantity="5")
    take(location, doctor, (lot, "2"))
    assert on_hand(lot) == Decimal("3.00")

"""Reads: which lot to use first (FEFO), low stock, expiring soon, the overview, and a lot's ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory import selectors, services
from mesoclinic.inventory.models import ReorderLevel
from mesoclinic.inventory.services import StockUsage
from mesoclinic.patients.tests.factories import PatientFactory

from .factories import ConsumableFactory, ProductFactory, ctx_for, make_lot

pytestmark = pytest.mark.django_db
DAY = date(2026, 6, 15)


def test_usable_lots_offer_the_soonest_expiring_valid_lot_first(location, other_location):
    product = ProductFactory()
    later = make_lot(location, product=product, expires_on=DAY + timedelta(days=200), received_on=DAY - timedelta(days=60))
    soonest = make_lot(location, product=product, expires_on=DAY + timedelta(days=3), received_on=DAY - timedelta(days=60))
    middle = make_lot(location, product=product, expires_on=DAY + timedelta(days=40), received_on=DAY - timedelta(days=60))
    today = make_lot(location, product=product, expires_on=DAY, received_on=DAY - timedelta(days=60))
    make_lot(location, product=product, expires_on=DAY - timedelta(days=1), received_on=DAY - timedelta(days=90))  # expired
    make_lot(location, product=product, expires_on=DAY + timedelta(days=1), recalled=True)  # recalled
    empty = make_lot(location, product=product, expires_on=DAY + timedelta(days=2), quantity="1")
    services.adjust_stock(ctx=ctx_for(None), lot=empty, quantity=Decimal("-1"), reason="count")
    make_lot(other_location, product=product, expires_on=DAY + timedelta(days=1))  # elsewhere
    make_lot(location, expires_on=DAY + timedelta(days=1))  # another product
    assert selectors.usable_lots(location=location, product=product, on=DAY) == [today, soonest, middle, later]


def test_usable_lots_work_for_needles_and_cartridges_too(location):
    needle = ConsumableFactory()
    second = make_lot(location, consumable=needle, expires_on=DAY + timedelta(days=90))
    first = make_lot(location, consumable=needle, expires_on=DAY + timedelta(days=30))
    assert selectors.usable_lots(location=location, consumable=needle, on=DAY) == [first, second]


def test_usable_lots_need_exactly_one_item(location):
    with pytest.raises(ValueError):
        selectors.usable_lots(location=location, on=DAY)


def test_low_stock_lists_items_at_or_below_their_level_counting_only_usable_lots(location, other_location):
    low, fine, edge, unset, needle = (
        ProductFactory(name="A low"),
        ProductFactory(name="B fine"),
        ProductFactory(name="C edge"),
        ProductFactory(),
        ConsumableFactory(name="D needles"),
    )
    make_lot(location, product=low, quantity="2", expires_on=DAY + timedelta(days=10))
    make_lot(location, product=low, quantity="50", expires_on=DAY - timedelta(days=1), received_on=DAY - timedelta(days=100))  # expired
    make_lot(location, product=low, quantity="50", recalled=True, expires_on=DAY + timedelta(days=10))
    make_lot(other_location, product=low, quantity="50", expires_on=DAY + timedelta(days=10))
    make_lot(location, product=fine, quantity="20", expires_on=DAY + timedelta(days=10))
    make_lot(location, product=edge, quantity="5", expires_on=DAY + timedelta(days=10))
    make_lot(location, product=unset, quantity="1", expires_on=DAY + timedelta(days=10))
    for product, level in ((low, "5"), (fine, "5"), (edge, "5")):
        ReorderLevel.objects.create(location=location, product=product, level=Decimal(level))
    ReorderLevel.objects.create(location=location, consumable=needle, level=Decimal("100"))  # no lot at all
    ReorderLevel.objects.create(location=location, product=unset, level=Decimal("0"))  # warning off
    rows = selectors.low_stock(location=location, on=DAY)
    assert [(row.item.name, row.usable) for row in rows] == [
        ("A low", Decimal("2.00")),
        ("C edge", Decimal("5.00")),
        ("D needles", Decimal("0.00")),
    ]
    assert [row.unit for row in rows] == ["ml", "ml", "pieces"]
    assert selectors.low_stock(location=other_location, on=DAY) == []


def test_expiring_lists_lots_with_stock_within_the_window_and_expired_ones_still_on_the_shelf(location, other_location, settings):
    settings.MESOCLINIC_EXPIRY_WARNING_DAYS = 30
    soon = make_lot(location, expires_on=DAY + timedelta(days=30))
    sooner = make_lot(location, expires_on=DAY)
    make_lot(location, expires_on=DAY + timedelta(days=31))
    expired = make_lot(location, expires_on=DAY - timedelta(days=1), received_on=DAY - timedelta(days=200))
    make_lot(location, expires_on=DAY + timedelta(days=5), recalled=True)
    make_lot(other_location, expires_on=DAY + timedelta(days=5))
    result = selectors.expiring_lots(location=location, on=DAY)
    assert (result.soon, result.expired, result.days) == ([sooner, soon], [expired], 30)
    assert selectors.expiring_lots(location=location, on=DAY, days=60).soon[-1].expires_on == DAY + timedelta(days=31)


def test_the_overview_groups_lots_by_item_with_the_usable_total_on_the_first_row(location, other_location):
    alpha, beta = ProductFactory(name="Alpha"), ProductFactory(name="beta")
    a2 = make_lot(location, product=alpha, quantity="3", expires_on=DAY + timedelta(days=90))
    a1 = make_lot(location, product=alpha, quantity="2", expires_on=DAY + timedelta(days=10))
    a_expired = make_lot(location, product=alpha, quantity="7", expires_on=DAY - timedelta(days=1), received_on=DAY - timedelta(days=200))
    b1 = make_lot(location, product=beta, quantity="1", lot_number="BETA-1")
    make_lot(other_location, product=alpha)
    page = selectors.stock_overview(location=location, on=DAY)
    assert [(row.lot, row.first_of_item, row.item_total) for row in page.rows] == [
        (a_expired, True, Decimal("5.00")),
        (a1, False, None),
        (a2, False, None),
        (b1, True, Decimal("1.00")),
    ]
    assert page.rows[0].badges == [("Expired", "bad")]
    assert selectors.stock_overview(location=location, on=DAY, query="beta-").rows[0].lot == b1
    assert [row.lot for row in selectors.stock_overview(location=location, on=DAY, query="alp").rows] == [a_expired, a1, a2]


def test_the_overview_hides_empty_lots_unless_asked_and_pages_without_counting(location):
    product = ProductFactory()
    lots = [make_lot(location, product=product, expires_on=DAY + timedelta(days=n + 1)) for n in range(5)]
    services.adjust_stock(ctx=ctx_for(None), lot=lots[0], quantity=Decimal("-10"), reason="count")
    assert [row.lot for row in selectors.stock_overview(location=location, on=DAY).rows] == lots[1:]
    assert len(selectors.stock_overview(location=location, on=DAY, include_empty=True).rows) == 5
    first = selectors.stock_overview(location=location, on=DAY, page_size=2)
    third = selectors.stock_overview(location=location, on=DAY, page=2, page_size=3)
    assert (len(first.rows), first.has_next, [r.lot for r in third.rows], third.has_next) == (2, True, lots[4:], False)


def test_movements_for_lot_lists_every_session_and_patient_that_received_it(location, doctor):
    lot, other = make_lot(location), make_lot(location)
    for session, patient in (("11", 5), ("12", 6)):
        services.take_stock(
            ctx=ctx_for(doctor),
            location=location,
            usages=[StockUsage(lot, Decimal("1")), StockUsage(other, Decimal("1"))],
            reference_type="procedure",
            reference_id=session,
            patient_id=patient,
            on=lot.received_on,
        )
    assert [(m.kind, m.reference_id, m.patient_id) for m in selectors.movements_for_lot(lot)] == [
        ("received", "", None),
        ("used", "11", 5),
        ("used", "12", 6),
    ]
    assert list(selectors.uses_of_lot(lot).values_list("patient_id", flat=True)) == [5, 6]


def test_viewing_a_lot_is_audited_with_the_patients_its_ledger_names(location, doctor):
    lot = make_lot(location)
    services.take_stock(
        ctx=ctx_for(doctor),
        location=location,
        usages=[StockUsage(lot, Decimal(1))],
        reference_type="procedure",
        reference_id="3",
        patient_id=9,
        on=lot.received_on,
    )
    page = selectors.view_lot(ctx=ctx_for(doctor), scope=frozenset({location.pk}), pk=lot.pk)
    assert len(page.movements) == 2
    event = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW).get()
    assert (event.object_type, event.object_id, event.detail["patient_ids"]) == ("lot", str(lot.pk), [9])


def test_a_lot_of_another_location_does_not_exist_for_the_caller(location, other_location):
    lot = make_lot(other_location)
    with pytest.raises(lot.DoesNotExist):
        selectors.get_lot(scope=frozenset({location.pk}), pk=lot.pk)
    with pytest.raises(lot.DoesNotExist):
        selectors.get_lot(scope=frozenset({location.pk}), pk=2**64)


def test_the_ledger_names_the_patients_of_the_callers_locations_only(location, other_location, doctor):
    lot = make_lot(location)
    here = PatientFactory(location=location, given_name="Amelia", family_name="Hart")
    elsewhere = PatientFactory(location=other_location)
    for session, patient in (("1", here), ("2", elsewhere)):
        services.take_stock(
            ctx=ctx_for(doctor),
            location=location,
            usages=[StockUsage(lot, Decimal(1))],
            reference_type="procedure",
            reference_id=session,
            patient_id=patient.pk,
            on=lot.received_on,
        )
    page = selectors.view_lot(ctx=ctx_for(doctor), scope=frozenset({location.pk}), pk=lot.pk)
    assert [m.patient_label for m in page.movements] == ["", f"Amelia HART ({here.record_number})", f"patient {elsewhere.pk}"]

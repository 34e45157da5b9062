"""Many sign-offs at once against one lot (PostgreSQL, one connection per thread): exactly the ones
that fit succeed, the rest get InsufficientStock, and stock never goes negative."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.inventory import services
from mesoclinic.inventory.models import Lot, StockMovement
from mesoclinic.inventory.services import StockUsage

from .factories import ConsumableFactory, make_lot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def sign_offs_at_once(location, usages_per_session: list[list[tuple[Lot, str]]]) -> tuple[list[int], list[BaseException]]:
    """Each session's usages taken by its own thread and connection, all released together."""
    start = threading.Barrier(len(usages_per_session))
    succeeded: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    today = timezone.localdate()

    def sign_off(session: int, usages: list[tuple[Lot, str]]) -> None:
        try:
            start.wait(timeout=10)
            with transaction.atomic():  # the chart's own sign-off transaction
                services.take_stock(
                    ctx=audit.SYSTEM,
                    location=location,
                    usages=[StockUsage(lot=lot, quantity=Decimal(quantity)) for lot, quantity in usages],
                    reference_type="procedure",
                    reference_id=str(session),
                    patient_id=session,
                    on=today,
                )
            with lock:
                succeeded.append(session)
        except BaseException as error:
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_off, args=(n, usages)) for n, usages in enumerate(usages_per_session, start=1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return succeeded, errors


def assert_ledger_adds_up(lot: Lot) -> None:
    lot.refresh_from_db()
    assert lot.on_hand >= 0
    assert lot.on_hand == lot.movements.aggregate(total=Sum("quantity"))["total"]
    moved = lot.movements.exclude(kind="received").aggregate(total=Sum("quantity"))["total"] or 0
    assert lot.on_hand == lot.quantity_received + moved


def test_two_sign_offs_that_together_need_more_than_the_lot_holds(location):
    lot = make_lot(location, quantity="3")
    succeeded, errors = sign_offs_at_once(location, [[(lot, "2")], [(lot, "2")]])
    assert len(succeeded) == 1
    assert len(errors) == 1 and isinstance(errors[0], services.InsufficientStock)
    assert "holds 1 ml; 2 ml were asked for" in str(errors[0])
    assert_ledger_adds_up(lot)
    assert lot.on_hand == Decimal("1.00")


def test_twenty_sign_offs_at_once_take_exactly_what_fits(location):
    lot = make_lot(location, quantity="10")
    succeeded, errors = sign_offs_at_once(location, [[(lot, "1.5")] for _ in range(20)])
    assert len(succeeded) == 6  # 6 × 1.5 ml = 9 ml; a seventh would need 10.5
    assert len(errors) == 14 and all(isinstance(error, services.InsufficientStock) for error in errors)
    assert_ledger_adds_up(lot)
    assert lot.on_hand == Decimal("1.00")
    uses = StockMovement.objects.filter(lot=lot, kind="used")
    assert sorted(int(ref) for ref in uses.values_list("reference_id", flat=True)) == sorted(succeeded)
    assert sorted(m.on_hand_after for m in uses) == [Decimal(x) for x in ("1.00", "2.50", "4.00", "5.50", "7.00", "8.50")]


def test_sessions_locking_the_same_lots_in_different_orders_do_not_deadlock(location):
    solution = make_lot(location, quantity="100")
    needles = make_lot(location, consumable=ConsumableFactory(), quantity="100")
    sessions = [[(solution, "1"), (needles, "1")] if n % 2 else [(needles, "1"), (solution, "1")] for n in range(20)]
    succeeded, errors = sign_offs_at_once(location, sessions)
    assert errors == []
    assert len(succeeded) == 20
    for lot in (solution, needles):
        assert_ledger_adds_up(lot)
        assert lot.on_hand == Decimal("80.00")


def test_a_sign_off_that_fails_late_gives_its_stock_back(location):
    """The chart's transaction fails after take_stock: the lot is as if nothing happened."""
    lot = make_lot(location, quantity="5")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.take_stock(
            ctx=audit.SYSTEM,
            location=location,
            usages=[StockUsage(lot=lot, quantity=Decimal("5"))],
            reference_type="procedure",
            reference_id="1",
            patient_id=1,
            on=timezone.localdate(),
        )
        raise RuntimeError("the signature could not be stored")
    assert_ledger_adds_up(lot)
    assert lot.on_hand == Decimal("5.00")

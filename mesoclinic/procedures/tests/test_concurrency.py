"""Two sign-offs at once that together need more than a lot holds: one signs, the other gets a clear
message, and stock never goes below zero (PostgreSQL, two real connections)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from mesoclinic.inventory.models import Lot, StockMovement
from mesoclinic.procedures import services
from mesoclinic.procedures.models import ProcedureRecord

from .conftest import TEN
from .factories import chart_fully

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_sign_offs_that_overdraw_a_lot_sign_one_and_refuse_the_other(clinic, clock):
    start = TEN
    records = [clinic.record(at=start + timedelta(hours=1)), clinic.record(at=start + timedelta(hours=2))]
    for record in records:  # each charts 6 ml of the 10 ml lot: fine alone, too much together
        chart_fully(clinic.nurse_ctx, record, clock, lot=clinic.lot, volume="6.00")

    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def sign(pk: int) -> None:
        try:
            barrier.wait(timeout=10)
            services.sign_procedure(ctx=clinic.nurse_ctx, record=ProcedureRecord.objects.get(pk=pk))
            outcomes[pk] = "signed"
        except services.StockRefused as refused:
            outcomes[pk] = refused.message
        finally:
            connection.close()

    threads = [threading.Thread(target=sign, args=(record.pk,)) for record in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outcomes) == 2
    refused = [message for message in outcomes.values() if message != "signed"]
    assert len(refused) == 1, outcomes
    assert refused[0].startswith("Not signed:") and "holds 4 ml; 6 ml were asked for" in refused[0]
    assert Lot.objects.get(pk=clinic.lot.pk).on_hand == Decimal("4.00")
    assert StockMovement.objects.filter(lot=clinic.lot, kind=StockMovement.Kind.USED).count() == 1
    assert ProcedureRecord.objects.filter(status=ProcedureRecord.Status.SIGNED).count() == 1
    loser = next(pk for pk, outcome in outcomes.items() if outcome != "signed")
    assert ProcedureRecord.objects.get(pk=loser).status == ProcedureRecord.Status.OPEN

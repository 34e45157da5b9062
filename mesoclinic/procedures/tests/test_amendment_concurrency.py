"""Two amendments at once that move two sessions onto a lot holding enough for one: one is amended,
the other refused with a clear message; the lots are locked in primary-key order, so neither
deadlocks, and stock never goes below zero (PostgreSQL, two real connections)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from mesoclinic.inventory.models import Lot, StockMovement
from mesoclinic.procedures import services
from mesoclinic.procedures.amendments import amendable_fields
from mesoclinic.procedures.models import Amendment, ProcedureRecord

from .conftest import TEN
from .factories import chart_fully, make_lot, product

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_lot_amendments_that_overdraw_the_new_lot_amend_one_and_refuse_the_other(clinic, clock):
    small = make_lot(clinic.location, product=product(), quantity="3", lot_number="HC-SMALL")
    records = [clinic.record(at=TEN + timedelta(hours=1)), clinic.record(at=TEN + timedelta(hours=2))]
    for record in records:
        chart_fully(clinic.nurse_ctx, record, clock, lot=clinic.lot, volume="2.50")
        services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    targets = {record.pk: next(f.key for f in amendable_fields(record) if f.field == "lot") for record in records}

    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def amend(pk: int) -> None:
        try:
            barrier.wait(timeout=10)
            services.amend_record(
                ctx=clinic.doctor_ctx,
                record=ProcedureRecord.objects.get(pk=pk),
                target=targets[pk],
                new_value="HC-SMALL",
                reason="The vial in the bin says HC-SMALL.",
            )
            outcomes[pk] = "amended"
        except services.ChartRefused as refused:
            outcomes[pk] = refused.message
        finally:
            connection.close()

    threads = [threading.Thread(target=amend, args=(record.pk,)) for record in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outcomes) == 2
    refused = [message for message in outcomes.values() if message != "amended"]
    assert len(refused) == 1, outcomes
    assert refused[0].startswith("Not amended:") and "holds 0.5 ml; 2.5 ml were asked for" in refused[0]
    assert Lot.objects.get(pk=small.pk).on_hand == Decimal("0.50")
    assert Lot.objects.get(pk=clinic.lot.pk).on_hand == Decimal("7.50")  # 10 − 2 × 2.5 + 2.5 given back
    assert StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTED).count() == 2
    assert Amendment.objects.count() == 1

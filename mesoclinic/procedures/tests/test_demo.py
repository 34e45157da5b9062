"""The demo: a few signed sessions for patients with courses, their stock taken through the ledger."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from mesoclinic.courses.models import Course
from mesoclinic.inventory.models import StockMovement
from mesoclinic.procedures.models import ProcedureRecord
from mesoclinic.procedures.selectors import records_for_lot
from mesoclinic.scheduling.models import Appointment

pytestmark = pytest.mark.django_db


def test_the_small_demo_signs_a_few_sessions_with_their_stock():
    out = StringIO()
    call_command("seed_demo", "--scale", "small", stdout=out)

    records = list(ProcedureRecord.objects.select_related("patient", "appointment"))
    assert 3 <= len(records) <= 6
    assert all(record.status == ProcedureRecord.Status.SIGNED for record in records)
    with_course = set(Course.objects.values_list("patient_id", flat=True))
    assert sum(record.patient_id in with_course for record in records) >= 1
    assert not any(record.patient.record_number == "MC0000001" for record in records)  # Amelia Hart's is the golden path's
    for record in records:
        assert record.appointment.status == Appointment.Status.COMPLETED
        assert record.appointment.ends_at <= record.signed_at + record.appointment.duration
        used = StockMovement.objects.filter(kind=StockMovement.Kind.USED, reference_type="procedure", reference_id=str(record.pk))
        assert used.count() == 2
        lot = record.product_usages.get().lot
        assert record.pk in {use.record.pk for use in records_for_lot(lot=lot, scope=None)}
        assert record.numbing_lot is not None and record.numbing_lot.consumable.kind == "numbing"  # the numbing cream is traced too
        assert record.pk in {use.record.pk for use in records_for_lot(lot=record.numbing_lot, scope=None)}
    assert "signed session records" in out.getvalue()

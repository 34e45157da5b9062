"""The needle/cartridge lot is required unless the clinic turns it off; the numbing cream is recorded
with its lot from stock, and the recall finds it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mesoclinic.inventory.models import Consumable, Lot
from mesoclinic.procedures import services
from mesoclinic.procedures.amended import records_for_lot
from mesoclinic.procedures.amendments import amendable_fields
from mesoclinic.procedures.models import AreaTreatment

from .factories import ConsumableFactory, make_lot, prepare, treat

pytestmark = pytest.mark.django_db


def cream(clinic, number: str = "EMLA-1", **kwargs) -> Lot:
    consumable = Consumable.objects.filter(kind="numbing").first() or ConsumableFactory(
        key="emla", name="Lidocaine/prilocaine 5% cream", kind=Consumable.Kind.NUMBING
    )
    return make_lot(clinic.location, consumable=consumable, lot_number=number, quantity="5", **kwargs)


def test_an_area_without_its_needle_or_cartridge_lot_is_refused_by_default(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    with pytest.raises(services.ChartRefused, match="needle or cartridge") as refused:
        treat(clinic.nurse_ctx, record, lot=clinic.lot, consumables=[])
    assert "consumable_lot_1" in refused.value.errors
    assert not AreaTreatment.objects.filter(record=record).exists()


def test_a_clinic_that_turns_the_setting_off_charts_without_it(clinic, clock, settings):
    settings.MESOCLINIC_REQUIRE_CONSUMABLE_LOTS = False
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    treat(clinic.nurse_ctx, record, lot=clinic.lot, consumables=[])
    assert AreaTreatment.objects.filter(record=record).count() == 1


def test_the_numbing_step_records_the_creams_lot_and_the_recall_finds_it_before_sign_off(clinic, clock):
    lot = cream(clinic)
    record = clinic.record()
    prepare(clinic.nurse_ctx, record)
    services.record_numbing(ctx=clinic.nurse_ctx, record=record, lot=lot)  # charted again: with the lot
    record.refresh_from_db()
    assert (record.numbing_lot, record.numbing_product) == (lot, "Lidocaine/prilocaine 5% cream")
    [use] = records_for_lot(lot=lot, scope=frozenset({clinic.location.pk}))
    assert (use.record.pk, use.kind, use.signed) == (record.pk, "numbing", False)


def test_it_refuses_a_lot_that_is_not_numbing_cream_or_is_recalled(clinic):
    record = clinic.record()
    prepare(clinic.nurse_ctx, record)
    with pytest.raises(services.ChartRefused, match="numbing cream"):
        services.record_numbing(ctx=clinic.nurse_ctx, record=record, lot=clinic.lot)
    recalled = cream(clinic, "EMLA-BAD")
    Lot.objects.filter(pk=recalled.pk).update(recalled=True, recalled_at=timezone.now(), recall_reason="Contaminated")
    recalled.refresh_from_db()
    with pytest.raises(services.ChartRefused, match="recalled"):
        services.record_numbing(ctx=clinic.nurse_ctx, record=record, lot=recalled)


def test_the_chart_form_offers_the_numbing_lots_and_records_one(clinic, client):
    lot = cream(clinic)
    record = clinic.record()
    prepare(clinic.nurse_ctx, record)
    client.force_login(clinic.nurse)
    page = client.get(reverse("procedures:detail", args=[record.pk])).content.decode()
    assert "EMLA-1" in page
    response = client.post(reverse("procedures:step", args=[record.pk, "numbing"]), {"numbing_lot": str(lot.pk)})
    assert response.status_code in (200, 302)
    record.refresh_from_db()
    assert record.numbing_lot == lot


def test_the_numbing_lot_can_be_amended_and_the_recall_follows(clinic, clock):
    first, second = cream(clinic, "EMLA-1"), cream(clinic, "EMLA-2")
    record = clinic.record()
    prepare(clinic.nurse_ctx, record)
    services.record_numbing(ctx=clinic.nurse_ctx, record=record, lot=first)
    clock.shift(timedelta(minutes=30))
    chart_fully_rest(clinic, record)
    services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    key = next(f.key for f in amendable_fields(record) if f.field == "numbing_lot")
    services.amend_record(ctx=clinic.doctor_ctx, record=record, target=key, new_value="EMLA-2", reason="Wrong tube noted at first.")
    scope = frozenset({clinic.location.pk})
    assert records_for_lot(lot=first, scope=scope) == []
    assert [use.record.pk for use in records_for_lot(lot=second, scope=scope)] == [record.pk]
    assert Lot.objects.get(pk=second.pk).on_hand == 5  # the numbing cream is not counted out per session


def chart_fully_rest(clinic, record):
    treat(clinic.nurse_ctx, record, lot=clinic.lot)
    services.record_reactions(ctx=clinic.nurse_ctx, record=record, reactions=[services.ReactionLine(kind="none")])

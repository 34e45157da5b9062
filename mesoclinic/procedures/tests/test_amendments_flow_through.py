"""Every charted fact can be amended, and every reader reads the record as amended: the stock ledger
is corrected in the same transaction, the recall follows the amended lot, the signed record shows
the original beside the new value."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from mesoclinic.inventory.models import Lot, StockMovement
from mesoclinic.procedures import services
from mesoclinic.procedures.amended import amended_product_usages, as_amended_treatments, records_for_lot
from mesoclinic.procedures.amendments import amendable_fields
from mesoclinic.procedures.models import Amendment, ProductUsage
from mesoclinic.procedures.selectors import signed_record_detail
from mesoclinic.scheduling.tests.factories import DeviceFactory

from .factories import chart_fully, make_lot, product

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(clinic, clock):
    record = chart_fully(clinic.nurse_ctx, clinic.record(), clock, lot=clinic.lot, consumables=[cartridge(clinic)])
    services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    return record


def cartridge(clinic):
    return services.ConsumableLine(lot=clinic.cartridge_lot, quantity=1)


def key(record, field: str) -> str:
    return next(item.key for item in amendable_fields(record) if item.field == field)


def amend(clinic, record, field: str, value: str):
    return services.amend_record(
        ctx=clinic.doctor_ctx, record=record, target=key(record, field), new_value=value, reason="Checked against the vial."
    )


def on_hand(lot) -> Decimal:
    return Lot.objects.get(pk=lot.pk).on_hand


def test_a_volume_amended_from_2_5_to_3_ml_takes_the_half_millilitre_out_of_stock(signed, clinic):
    assert on_hand(clinic.lot) == Decimal("7.50")
    amendment = amend(clinic, signed, "volume_ml", "3")
    assert on_hand(clinic.lot) == Decimal("7.00")
    movement = StockMovement.objects.get(lot=clinic.lot, kind=StockMovement.Kind.ADJUSTED)
    assert (movement.quantity, movement.reference_type, movement.reference_id) == (Decimal("-0.50"), "procedure", str(signed.pk))
    assert movement.patient_id == signed.patient_id and "volume" in movement.reason
    assert amended_product_usages(signed)[0].volume_ml == Decimal("3")
    assert amendment.original_value == "2.5"


def test_a_lot_amendment_gives_back_to_the_charted_lot_and_takes_from_the_new_one(signed, clinic):
    amendment = amend(clinic, signed, "lot", "HC-SOON")
    assert (amendment.original_ref, amendment.new_ref) == (clinic.lot.pk, clinic.soon_lot.pk)
    assert on_hand(clinic.lot) == Decimal("10.00")
    assert on_hand(clinic.soon_lot) == Decimal("7.50")
    assert ProductUsage.objects.get(record=signed).lot_id == clinic.lot.pk  # the signed row is untouched
    usage = amended_product_usages(signed)[0]
    assert usage.lot == clinic.soon_lot and "HC-LATE" in usage.as_signed["lot"]


def test_the_recall_follows_the_amended_lot(signed, clinic):
    amend(clinic, signed, "lot", "HC-SOON")
    assert [use.record.pk for use in records_for_lot(lot=clinic.soon_lot, scope=frozenset({clinic.location.pk}))] == [signed.pk]
    assert records_for_lot(lot=clinic.lot, scope=frozenset({clinic.location.pk})) == []


def test_a_volume_amended_after_the_lot_counts_against_the_new_lot(signed, clinic):
    amend(clinic, signed, "lot", "HC-SOON")
    amend(clinic, signed, "volume_ml", "3")
    assert (on_hand(clinic.lot), on_hand(clinic.soon_lot)) == (Decimal("10.00"), Decimal("7.00"))
    [use] = records_for_lot(lot=clinic.soon_lot, scope=frozenset({clinic.location.pk}))
    assert use.quantity == Decimal("3") and use.amended


def test_it_refuses_a_recalled_new_lot_and_writes_nothing(signed, clinic):
    Lot.objects.filter(pk=clinic.soon_lot.pk).update(recalled=True, recalled_at=timezone.now(), recall_reason="Supplier notice")
    with pytest.raises(services.ChartRefused, match="recalled"):
        amend(clinic, signed, "lot", "HC-SOON")
    assert not Amendment.objects.filter(record=signed).exists()
    assert (on_hand(clinic.lot), on_hand(clinic.soon_lot)) == (Decimal("7.50"), Decimal("10.00"))


def test_it_refuses_a_lot_that_had_expired_on_the_session_day(signed, clinic):
    make_lot(clinic.location, product=product(), quantity="10", lot_number="HC-OLD", expires_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(services.ChartRefused, match="expired"):
        amend(clinic, signed, "lot", "HC-OLD")
    assert not Amendment.objects.filter(record=signed).exists()


def test_it_refuses_a_lot_number_that_is_not_in_stock_here(signed, clinic):
    with pytest.raises(services.ChartRefused, match="Type one of the lot numbers"):
        amend(clinic, signed, "lot", "NOPE-1")


def test_the_product_follows_the_lot(signed, clinic):
    amend(clinic, signed, "lot", "MED-1")
    usage = amended_product_usages(signed)[0]
    assert usage.product.key == "hair_loss_medicine_solution"
    assert on_hand(clinic.medicine_lot) == Decimal("7.50")


def test_technique_device_and_cartridge_lot_and_count_can_be_amended(signed, clinic):
    DeviceFactory(location=clinic.location, serial_number="DP-TEST-2")
    other_cartridges = make_lot(clinic.location, consumable=clinic.cartridge_lot.consumable, quantity="5", lot_number="CART-2")
    amend(clinic, signed, "technique", "Dermapen, stamping")
    amend(clinic, signed, "device", "DP-TEST-2")
    amend(clinic, signed, "consumable_lot", "CART-2")
    amend(clinic, signed, "quantity", "2")
    [treatment] = as_amended_treatments(signed)
    assert treatment.technique.key == "dermapen_stamping" and treatment.device.serial_number == "DP-TEST-2"
    [item] = treatment.consumable_usages.all()
    assert (item.lot, item.quantity) == (other_cartridges, 2)
    assert on_hand(clinic.cartridge_lot) == Decimal("20") and on_hand(other_cartridges) == Decimal("3")


def test_a_reaction_description_can_be_amended(clinic, clock):
    record = chart_fully(clinic.nurse_ctx, clinic.record(), clock, lot=clinic.lot, consumables=[cartridge(clinic)])
    services.record_reactions(ctx=clinic.nurse_ctx, record=record, reactions=[services.ReactionLine(kind="redness", severity="mild")])
    services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    amend(clinic, record, "description", "Redness across the crown, gone in an hour")
    fact = next(f for f in signed_record_detail(record).reaction_facts if f.label.endswith("description"))
    assert (fact.signed, fact.current) == ("", "Redness across the crown, gone in an hour")


def test_the_signed_record_page_strikes_the_original_lot_through(signed, clinic, client):
    amend(clinic, signed, "lot", "HC-SOON")
    client.force_login(clinic.doctor)
    page = client.get(reverse("procedures:detail", args=[signed.pk])).content.decode()
    assert '<span class="original" title="As signed">Hair cocktail' in page or "HC-LATE" in page.split('class="original"')[1][:200]
    assert "HC-SOON" in page


def test_the_amend_page_answers_a_wrong_lot_number_with_a_400_and_the_choices(signed, clinic, client):
    client.force_login(clinic.doctor)
    url = reverse("procedures:amend", args=[signed.pk])
    response = client.post(url, {"target": key(signed, "lot"), "new_value": "NOPE-1", "reason": "Checked against the vial."})
    assert response.status_code == 400
    assert "Type one of the lot numbers" in response.content.decode() and "HC-SOON" in response.content.decode()
    assert not Amendment.objects.exists()
    response = client.post(url, {"target": key(signed, "lot"), "new_value": "hc-soon", "reason": "Checked against the vial."})
    assert response.status_code == 302 and Amendment.objects.get().new_ref == clinic.soon_lot.pk

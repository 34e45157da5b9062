"""The recall search: every signed session that used a lot — mixtures, needles and PRP kits included."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mesoclinic.inventory.models import Consumable, Lot
from mesoclinic.procedures import services
from mesoclinic.procedures.selectors import records_for_lot

from .conftest import TEN
from .factories import ConsumableFactory, kit_lot, make_lot, needles_for, no_reactions, prepare, product, treat

pytestmark = pytest.mark.django_db


def needles(clinic):
    consumable = Consumable.objects.filter(key="needle-rec").first() or ConsumableFactory(
        key="needle-rec", name="Needle 30G", kind="needle"
    )
    return Lot.objects.filter(consumable=consumable).first() or make_lot(clinic.location, consumable=consumable, lot_number="N-REC")


def signed_session(clinic, clock, *, at, lines, consumables=None):
    consumables = consumables if consumables is not None else [services.ConsumableLine(lot=needles(clinic), quantity=1)]
    record = clinic.record(at=at)
    clock.move_to(at - timedelta(minutes=5))
    prepare(clinic.nurse_ctx, record)
    clock.shift(timedelta(minutes=30))
    treat(clinic.nurse_ctx, record, lot=None, products=lines, consumables=consumables)
    no_reactions(clinic.nurse_ctx, record)
    services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    return record


def test_every_signed_session_that_used_a_lot_is_found(clinic, clock, other_location):
    cocktail, medicine = product(), product("hair_loss_medicine_solution")
    day = TEN
    first = signed_session(
        clinic,
        clock,
        at=day + timedelta(hours=1),
        lines=[
            services.ProductLine(product=cocktail, lot=clinic.lot, volume_ml=Decimal("2")),
            services.ProductLine(product=medicine, lot=clinic.medicine_lot, volume_ml=Decimal("0.5")),
        ],
        consumables=[services.ConsumableLine(lot=clinic.cartridge_lot, quantity=1)],
    )
    second = signed_session(
        clinic,
        clock,
        at=day + timedelta(hours=3),
        lines=[services.ProductLine(product=medicine, lot=clinic.medicine_lot, volume_ml=Decimal("1"))],
    )
    still_open = prepare(clinic.nurse_ctx, clinic.record(at=day + timedelta(hours=5)))

    uses = records_for_lot(lot=clinic.medicine_lot, scope=frozenset({clinic.location.pk}))

    assert [(use.record.pk, use.kind, use.quantity, use.area_name) for use in uses] == [
        (first.pk, "product", Decimal("0.50"), "Scalp"),
        (second.pk, "product", Decimal("1.00"), "Scalp"),
    ]
    assert all(use.patient == clinic.patient for use in uses)
    assert still_open.pk not in {use.record.pk for use in uses}
    assert [use.record.pk for use in records_for_lot(lot=clinic.cartridge_lot, scope=None)] == [first.pk]
    assert records_for_lot(lot=clinic.medicine_lot, scope=frozenset({other_location.pk})) == []


def test_a_prp_kit_lot_is_traced_to_its_session(clinic, clock):
    record = clinic.record(protocol_key="hair_prp")
    kit = kit_lot(clinic.location)
    prepare(clinic.nurse_ctx, record)
    services.record_prp(
        ctx=clinic.nurse_ctx,
        record=record,
        blood_drawn_ml=Decimal("18"),
        drawn_at=record.started_at,
        kit_lot=kit,
        centrifuge_programme="Programme 2",
        prepared_ml=Decimal("4"),
        injected_ml=Decimal("4"),
    )
    clock.shift(timedelta(minutes=30))
    services.record_area_treatment(
        ctx=clinic.nurse_ctx,
        record=record,
        area_key="scalp",
        technique_key="direct_nappage",
        depth_mm=Decimal("1"),
        products=[],
        consumables=needles_for(record),
    )
    no_reactions(clinic.nurse_ctx, record)
    services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    [use] = records_for_lot(lot=kit, scope=None)
    assert (use.record.pk, use.kind) == (record.pk, "prp-kit")

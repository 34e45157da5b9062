"""Step 6: each treated area — technique, depth within the bounds, products with their own lots, volumes, consumables.
Every refusal leaves nothing saved."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mesoclinic.core.tests.factories import DeviceFactory
from mesoclinic.inventory.models import Lot
from mesoclinic.procedures import services
from mesoclinic.procedures.models import AreaTreatment, ConsumableUsage, ProductUsage

from .conftest import NOW
from .factories import cartridge_lot, make_lot, prepare, product, treat

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    return record


def nothing_saved() -> bool:
    return not AreaTreatment.objects.exists() and not ProductUsage.objects.exists() and not ConsumableUsage.objects.exists()


def test_a_dermapen_area_with_a_mixture_keeps_each_products_lot(clinic, ready):
    lines = [
        services.ProductLine(product=product(), lot=clinic.soon_lot, volume_ml=Decimal("2.00")),
        services.ProductLine(product=product("hair_loss_medicine_solution"), lot=clinic.medicine_lot, volume_ml=Decimal("0.50")),
    ]
    treatment = treat(
        clinic.nurse_ctx, ready, lot=None, products=lines, consumables=[services.ConsumableLine(lot=clinic.cartridge_lot, quantity=1)]
    )
    assert (treatment.method, treatment.mode, treatment.depth_mm, treatment.passes, treatment.dermapen_speed) == (
        "dermapen",
        "rolling",
        Decimal("1.00"),
        3,
        8,
    )
    assert treatment.device == clinic.dermapen
    usages = {(u.product.key, u.lot_id, u.volume_ml, u.stock_quantity) for u in treatment.product_usages.all()}
    assert usages == {
        ("hair_cocktail", clinic.soon_lot.pk, Decimal("2.00"), Decimal("2.00")),
        ("hair_loss_medicine_solution", clinic.medicine_lot.pk, Decimal("0.50"), Decimal("0.50")),
    }
    assert treatment.consumable_usages.get().lot == clinic.cartridge_lot
    assert Lot.objects.get(pk=clinic.soon_lot.pk).on_hand == Decimal("10")  # stock moves only at sign-off


@pytest.mark.parametrize(
    ("depth", "message"),
    [
        pytest.param("1.60", "outside the protocol's depth for Scalp", id="deeper-than-the-area"),
        pytest.param("0.40", "outside the protocol's depth", id="shallower-than-the-area"),
        pytest.param("3.50", "at most 3 mm", id="beyond-3-mm"),
        pytest.param("0", "more than 0", id="zero"),
        pytest.param("-1", "more than 0", id="negative"),
    ],
)
def test_it_refuses_a_depth_outside_the_bounds(clinic, ready, depth, message):
    with pytest.raises(services.ChartRefused, match=message) as refused:
        treat(clinic.nurse_ctx, ready, lot=clinic.lot, depth=depth)
    assert "depth_mm" in refused.value.errors
    assert nothing_saved()


@pytest.mark.parametrize("volume", ["0", "-0.5", "0.001", "250"])
def test_it_refuses_a_volume_that_is_not_above_zero_or_not_plausible(clinic, ready, volume):
    with pytest.raises(services.ChartRefused, match="volume"):
        treat(clinic.nurse_ctx, ready, lot=clinic.lot, volume=volume)
    assert nothing_saved()


def test_it_refuses_a_lot_of_another_product(clinic, ready):
    lines = [services.ProductLine(product=product(), lot=clinic.medicine_lot, volume_ml=Decimal("1"))]
    with pytest.raises(services.ChartRefused, match="is not Hair revitalising cocktail"):
        treat(clinic.nurse_ctx, ready, lot=None, products=lines)
    assert nothing_saved()


def test_it_refuses_a_lot_of_another_location(clinic, ready, other_location):
    elsewhere = make_lot(other_location, product=product(), quantity="10")
    with pytest.raises(services.ChartRefused, match="another location"):
        treat(clinic.nurse_ctx, ready, lot=elsewhere)
    assert nothing_saved()


def test_it_refuses_an_expired_lot(clinic, ready):
    expired = make_lot(clinic.location, product=product(), quantity="10", expires_on=NOW.date() - timedelta(days=1))
    with pytest.raises(services.ChartRefused, match="expired on"):
        treat(clinic.nurse_ctx, ready, lot=expired)
    assert nothing_saved()


def test_it_refuses_a_recalled_lot(clinic, ready):
    recalled = make_lot(clinic.location, product=product(), quantity="10", recalled=True)
    with pytest.raises(services.ChartRefused, match="recalled"):
        treat(clinic.nurse_ctx, ready, lot=recalled)
    assert nothing_saved()


def test_it_refuses_more_than_the_lot_holds(clinic, ready):
    with pytest.raises(services.ChartRefused, match="holds 10 ml"):
        treat(clinic.nurse_ctx, ready, lot=clinic.lot, volume="12")
    assert nothing_saved()


def test_a_bad_second_line_saves_nothing_of_the_first(clinic, ready):
    lines = [
        services.ProductLine(product=product(), lot=clinic.lot, volume_ml=Decimal("2")),
        services.ProductLine(product=product("hair_loss_medicine_solution"), lot=clinic.medicine_lot, volume_ml=Decimal("0")),
    ]
    with pytest.raises(services.ChartRefused):
        treat(clinic.nurse_ctx, ready, lot=None, products=lines)
    assert nothing_saved()
    ready.refresh_from_db()
    assert ready.injections_started_at is None


def test_a_product_outside_the_protocol_is_refused(clinic, ready):
    other = make_lot(clinic.location, product=product("lightening_cocktail"), quantity="5")
    with pytest.raises(services.ChartRefused, match="not a product of this protocol"):
        treat(clinic.nurse_ctx, ready, lot=other)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"device": None}, "device", id="no-device"),
        pytest.param({"dermapen_speed": None}, "dermapen_speed", id="no-speed"),
        pytest.param({"dermapen_speed": 99}, "dermapen_speed", id="speed-too-high"),
        pytest.param({"passes": None}, "passes", id="no-passes"),
        pytest.param({"passes": 0}, "passes", id="zero-passes"),
        pytest.param({"depth": None}, "depth_mm", id="no-depth"),
        pytest.param({"area_key": "face"}, "area", id="area-not-planned"),
        pytest.param({"technique_key": "direct_point_by_point"}, "technique", id="technique-not-in-protocol"),
    ],
)
def test_a_dermapen_treatment_needs_its_details(clinic, ready, change, field):
    kwargs = {"lot": clinic.lot, **change}
    if "device" in change and change["device"] is None:
        kwargs["device"] = None
        ready.appointment.device = None
    with pytest.raises(services.ChartRefused) as refused:
        treat(clinic.nurse_ctx, ready, **kwargs)
    assert field in refused.value.errors
    assert nothing_saved()


def test_a_dermapen_of_another_location_is_refused(clinic, ready, other_location):
    elsewhere = DeviceFactory(location=other_location)
    with pytest.raises(services.ChartRefused) as refused:
        treat(clinic.nurse_ctx, ready, lot=clinic.lot, device=elsewhere)
    assert "device" in refused.value.errors


def test_direct_injection_has_no_speed_and_needs_no_device(clinic, ready):
    treatment = treat(
        clinic.nurse_ctx, ready, lot=clinic.lot, technique_key="direct_papule", dermapen_speed=None, depth="1.00", passes=None
    )
    assert (treatment.method, treatment.device, treatment.dermapen_speed) == ("direct", None, None)


def test_a_needle_lot_must_be_usable_too(clinic, ready):
    expired = cartridge_lot(clinic.location, expires_on=NOW.date() - timedelta(days=3))
    with pytest.raises(services.ChartRefused, match="expired"):
        treat(clinic.nurse_ctx, ready, lot=clinic.lot, consumables=[services.ConsumableLine(lot=expired, quantity=1)])
    with pytest.raises(services.ChartRefused, match="needles, cartridges or syringes"):
        treat(clinic.nurse_ctx, ready, lot=clinic.lot, consumables=[services.ConsumableLine(lot=clinic.lot, quantity=1)])
    assert nothing_saved()


def test_a_treated_area_can_be_removed_before_sign_off(clinic, ready):
    treatment = treat(clinic.nurse_ctx, ready, lot=clinic.lot)
    services.remove_area_treatment(ctx=clinic.nurse_ctx, record=ready, treatment_id=treatment.pk)
    assert nothing_saved()
    with pytest.raises(services.ChartRefused):
        services.remove_area_treatment(ctx=clinic.nurse_ctx, record=ready, treatment_id=treatment.pk)


def test_a_protocol_area_without_depth_guidance_still_refuses_more_than_3_mm(clinic, clock):
    from mesoclinic.catalog.models import Technique

    record = clinic.record(protocol_key="lipolysis_chin")
    prepare(clinic.nurse_ctx, record)
    clock.shift(timedelta(minutes=30))
    lot = make_lot(clinic.location, product=product("deoxycholate_solution"), quantity="10")
    assert Technique.objects.get(key="direct_point_by_point")
    with pytest.raises(services.ChartRefused, match="at most 3 mm"):
        treat(
            clinic.nurse_ctx, record, lot=lot, area_key="submental", technique_key="direct_point_by_point", depth="4", dermapen_speed=None
        )
    treatment = treat(
        clinic.nurse_ctx, record, lot=lot, area_key="submental", technique_key="direct_point_by_point", depth=None, dermapen_speed=None
    )
    assert treatment.depth_mm is None

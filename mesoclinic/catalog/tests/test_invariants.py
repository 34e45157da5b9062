"""Catalog invariants: refused by the service (whole-catalog check) and by the database's own constraints."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from mesoclinic.catalog import services
from mesoclinic.catalog.models import (
    AftercareRule,
    Area,
    CatalogVersion,
    Concern,
    ContraindicationRule,
    Product,
    Protocol,
    ProtocolArea,
    ProtocolIngredient,
    Technique,
)
from mesoclinic.core.models import AuditEvent

from .factories import director_ctx

pytestmark = pytest.mark.django_db


@pytest.fixture
def ctx(catalog, medical_director):
    return director_ctx(medical_director)


def _unchanged(catalog):
    assert CatalogVersion.objects.count() == 1
    assert CatalogVersion.objects.get().fingerprint == catalog.fingerprint
    assert not AuditEvent.objects.filter(object_type="catalog-version", action="update").exists()


def _guidance(protocol, **depths):
    return [
        services.AreaGuidance(
            area=row.area, depth_min_mm=depths.get("low", row.depth_min_mm), depth_max_mm=depths.get("high", row.depth_max_mm)
        )
        for row in protocol.protocol_areas.select_related("area")
    ]


def _doses(protocol):
    return [
        services.IngredientDose(
            ingredient=row.ingredient, concentration=row.concentration, concentration_unit=row.concentration_unit, note=row.note
        )
        for row in protocol.protocol_ingredients.select_related("ingredient")
    ]


def _related(protocol, **changes):
    related = {
        "concerns": list(protocol.concerns.all()),
        "techniques": list(protocol.techniques.all()),
        "products": list(protocol.products.all()),
    }
    related.update(changes)
    return related


def test_it_refuses_more_minimum_sessions_than_maximum(ctx, catalog):
    hair = Protocol.objects.get(key="hair_cocktail")
    with pytest.raises(services.CatalogInvalid, match="most sessions"):
        services.save_item(ctx=ctx, model=Protocol, pk=hair.pk, fields={"sessions_min": 7, "sessions_max": 6})
    _unchanged(catalog)


def test_it_refuses_a_shortest_interval_longer_than_the_longest(ctx, catalog):
    hair = Protocol.objects.get(key="hair_cocktail")
    with pytest.raises(services.CatalogInvalid, match="longest interval"):
        services.save_item(ctx=ctx, model=Protocol, pk=hair.pk, fields={"interval_min_days": 30, "interval_max_days": 21})
    _unchanged(catalog)


def test_it_refuses_a_protocol_with_no_area(ctx, catalog):
    hair = Protocol.objects.get(key="hair_cocktail")
    with pytest.raises(services.CatalogInvalid, match="has no area"):
        services.save_protocol(ctx=ctx, pk=hair.pk, fields={}, related=_related(hair), areas=[], ingredients=_doses(hair))
    _unchanged(catalog)
    assert hair.protocol_areas.count() == 1


@pytest.mark.parametrize(
    ("low", "high", "message"),
    [
        (Decimal("0.5"), Decimal("3.5"), "at most 3"),
        (Decimal("0"), Decimal("1.0"), "more than 0"),
        (Decimal("-0.5"), Decimal("1.0"), "more than 0"),
        (Decimal("1.5"), Decimal("1.0"), "cannot be shallower"),
        (Decimal("1.0"), None, "both depths"),
    ],
)
def test_it_refuses_depths_outside_zero_to_three_millimetres_or_reversed(ctx, catalog, low, high, message):
    hair = Protocol.objects.get(key="hair_cocktail")
    with pytest.raises(services.CatalogInvalid, match=message):
        services.save_protocol(
            ctx=ctx, pk=hair.pk, fields={}, related=_related(hair), areas=_guidance(hair, low=low, high=high), ingredients=_doses(hair)
        )
    _unchanged(catalog)


def test_it_refuses_a_dermapen_protocol_without_depth_guidance(ctx, catalog):
    hair = Protocol.objects.get(key="hair_cocktail")
    with pytest.raises(services.CatalogInvalid, match="needs a depth range"):
        services.save_protocol(
            ctx=ctx, pk=hair.pk, fields={}, related=_related(hair), areas=_guidance(hair, low=None, high=None), ingredients=_doses(hair)
        )
    _unchanged(catalog)


def test_it_refuses_a_product_used_for_a_concern_it_is_not_approved_for(ctx, catalog):
    hair = Protocol.objects.get(key="hair_cocktail")
    concerns = [*hair.concerns.all(), Concern.objects.get(key="acne_scars")]
    with pytest.raises(services.CatalogInvalid, match="not approved for “Acne scars”"):
        services.save_protocol(
            ctx=ctx, pk=hair.pk, fields={}, related=_related(hair, concerns=concerns), areas=_guidance(hair), ingredients=_doses(hair)
        )
    _unchanged(catalog)


def test_it_refuses_to_withdraw_an_approval_a_protocol_relies_on(ctx, catalog):
    product = Product.objects.get(key="hair_cocktail")
    with pytest.raises(services.CatalogInvalid, match="not approved for “Hair loss”"):
        services.save_item(ctx=ctx, model=Product, pk=product.pk, fields={}, related={"approved_concerns": []})
    _unchanged(catalog)


def test_it_refuses_a_product_that_is_not_water_soluble_in_a_protocol(ctx, catalog):
    product = Product.objects.get(key="hair_cocktail")
    with pytest.raises(services.CatalogInvalid, match="not water-soluble"):
        services.save_item(ctx=ctx, model=Product, pk=product.pk, fields={"water_soluble": False})
    _unchanged(catalog)


def test_it_refuses_to_deactivate_an_area_an_active_protocol_treats(ctx, catalog):
    scalp = Area.objects.get(key="scalp")
    with pytest.raises(services.CatalogInvalid, match="inactive area “Scalp”"):
        services.save_item(ctx=ctx, model=Area, pk=scalp.pk, fields={"is_active": False})
    _unchanged(catalog)


def test_it_refuses_to_change_a_key(ctx, catalog):
    scalp = Area.objects.get(key="scalp")
    with pytest.raises(services.CatalogInvalid, match="key cannot be changed"):
        services.save_item(ctx=ctx, model=Area, pk=scalp.pk, fields={"key": "head"})
    _unchanged(catalog)


def test_it_refuses_a_duplicate_key(ctx, catalog):
    with pytest.raises(services.CatalogInvalid, match="already used"):
        services.save_item(
            ctx=ctx, model=Area, pk=None, fields={"key": "scalp", "name": "Scalp again", "kind": "scalp", "description": "Another scalp."}
        )
    _unchanged(catalog)


def test_a_technique_mode_must_fit_its_method(ctx, catalog):
    with pytest.raises(services.CatalogInvalid, match="Dermapen stamps"):
        services.save_item(
            ctx=ctx,
            model=Technique,
            pk=None,
            fields={"key": "pen_papule", "name": "Pen papules", "method": "dermapen", "mode": "papule", "description": "Not a thing."},
        )
    _unchanged(catalog)


# --- the database guards the same rules, whatever code writes ---------------------------------------------


def _refused_by_database(queryset, **changes):
    with pytest.raises(IntegrityError), transaction.atomic():
        queryset.update(**changes)


@pytest.mark.parametrize(
    ("model", "lookup", "changes"),
    [
        (Protocol, {"key": "hair_cocktail"}, {"sessions_min": 7, "sessions_max": 6}),
        (Protocol, {"key": "hair_cocktail"}, {"sessions_min": 0}),
        (Protocol, {"key": "hair_cocktail"}, {"interval_min_days": 29, "interval_max_days": 28}),
        (Protocol, {"key": "hair_cocktail"}, {"procedure_minutes": 0}),
        (ProtocolArea, {"protocol__key": "hair_cocktail"}, {"depth_max_mm": Decimal("3.5")}),
        (ProtocolArea, {"protocol__key": "hair_cocktail"}, {"depth_min_mm": Decimal("0")}),
        (ProtocolArea, {"protocol__key": "hair_cocktail"}, {"depth_min_mm": Decimal("2.0"), "depth_max_mm": Decimal("1.0")}),
        (ProtocolArea, {"protocol__key": "hair_cocktail"}, {"depth_min_mm": None}),
        (ProtocolIngredient, {"protocol__key": "lipolysis_chin", "ingredient__key": "deoxycholate"}, {"concentration": Decimal("-1")}),
        (ProtocolIngredient, {"protocol__key": "lipolysis_chin", "ingredient__key": "deoxycholate"}, {"concentration_unit": ""}),
        (ProtocolIngredient, {"protocol__key": "lipolysis_chin", "ingredient__key": "caffeine"}, {"concentration_unit": "mg/ml"}),
        (Technique, {"key": "dermapen_rolling"}, {"mode": "papule"}),
        (AftercareRule, {"key": "scalp_aftercare"}, {"area_kind": ""}),
        (ContraindicationRule, {"key": "pregnancy"}, {"coding_code": ""}),
        (Concern, {"key": "hair_loss"}, {"description": ""}),
    ],
)
def test_the_database_refuses_what_the_forms_refuse(catalog, model, lookup, changes):
    queryset = model.objects.filter(**lookup)
    assert queryset.exists()
    _refused_by_database(queryset, **changes)


def test_a_database_refusal_inside_an_edit_becomes_a_clear_message(ctx, catalog):
    def write_directly():
        with services.catalog_edit(ctx=ctx, note="raw"):
            Protocol.objects.filter(key="hair_cocktail").update(sessions_min=9)

    with pytest.raises(services.CatalogInvalid, match="minimum number of sessions"):
        write_directly()
    _unchanged(catalog)

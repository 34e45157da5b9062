"""Reads other apps use: the current version, active protocols, the aftercare rule for an area."""

from __future__ import annotations

import pytest

from mesoclinic.catalog import selectors, services
from mesoclinic.catalog.models import AftercareRule, Area, Protocol

from .factories import director_ctx

pytestmark = pytest.mark.django_db


def test_an_empty_catalog_says_how_to_load_one(db):
    with pytest.raises(selectors.CatalogNotLoaded, match="load_default_catalog"):
        selectors.current_version()
    assert selectors.current_version_number() is None


def test_the_current_version_is_the_newest(catalog, medical_director):
    hair = Protocol.objects.get(key="hair_cocktail")
    services.save_item(ctx=director_ctx(medical_director), model=Protocol, pk=hair.pk, fields={"sessions_max": 8})
    assert selectors.current_version().number == 2 == selectors.current_version_number()


def test_active_protocols_leave_out_deactivated_ones(catalog, medical_director):
    chin = Protocol.objects.get(key="lipolysis_chin")
    services.save_item(ctx=director_ctx(medical_director), model=Protocol, pk=chin.pk, fields={"is_active": False})
    keys = [protocol.key for protocol in selectors.active_protocols()]
    assert "lipolysis_chin" not in keys and keys[0] == "hair_cocktail" and len(keys) == 9


def test_the_aftercare_rule_for_an_area_prefers_a_rule_for_that_area(catalog, medical_director):
    scalp, cheeks, body = (Area.objects.get(key=key) for key in ("scalp", "cheeks", "body"))
    assert selectors.aftercare_rule_for(scalp).duration_hours == 24
    assert selectors.aftercare_rule_for(cheeks).duration_hours == 72
    assert selectors.aftercare_rule_for(body).key == "body_aftercare"
    assert selectors.areas_without_aftercare() == []
    services.save_item(
        ctx=director_ctx(medical_director),
        model=AftercareRule,
        pk=None,
        fields={
            "key": "cheek_aftercare",
            "name": "Cheeks",
            "area": cheeks,
            "instruction": "No make-up for 12 hours.",
            "duration_hours": 12,
            "expected_effects": "Mild redness settles within 4–6 hours.",
        },
    )
    assert selectors.aftercare_rule_for(cheeks).key == "cheek_aftercare"
    assert selectors.aftercare_rule_for(Area.objects.get(key="forehead")).key == "face_aftercare"

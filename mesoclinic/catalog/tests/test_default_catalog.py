"""The default catalog holds every item of the clinic's service page, each described in plain language."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from mesoclinic.catalog import exchange, services
from mesoclinic.catalog.models import (
    AftercareRule,
    Area,
    CatalogVersion,
    Concern,
    ContraindicationRule,
    Ingredient,
    ProcedureStep,
    Product,
    Protocol,
    Technique,
)

from .factories import default_catalog, fixture_data

pytestmark = pytest.mark.django_db

# What the clinic's service page lists (the source of the default catalog, docs/product.md) → the catalog item that carries it.
PAGE_CONCERNS = {
    "Hair loss – alopecia or traumatic hair loss": ["hair_loss"],
    "Facial skin rejuvenation – wrinkles, fine lines, skin tightening": ["facial_rejuvenation"],
    "Hyperpigmentation (melasma)": ["hyperpigmentation"],
    "Uneven skin tone": ["uneven_skin_tone"],
    "Fat reduction – double chin, lipomas, xanthelasmas (and cellulite)": ["double_chin", "lipoma", "xanthelasma", "cellulite"],
    "Stretch marks": ["stretch_marks"],
    "Acne scar revision": ["acne_scars"],
    "Meso-injections for fine lines (around the eyes, open pores)": ["fine_lines_eyes_pores"],
}
PAGE_INGREDIENTS = {
    "Hyaluronic acid": "hyaluronic_acid",
    "Vitamin C": "vitamin_c",
    "Lysine amino acid": "lysine",
    "Kojic acid": "kojic_acid",
    "Azelaic acid": "azelaic_acid",
    "Minerals": "minerals",
    "Growth factor treatment": "growth_factor",
    "Plant extracts": "plant_extracts",
    "Medicine for managing hair loss": "hair_loss_medicine",
    "multivitamins": "multivitamins",
    "plant amino acids": "plant_amino_acids",
    "antioxidants": "antioxidants",
    "vitamins and amino acid cocktails": "amino_acids",
    "peptides": "peptides",
    "anti-aging protein": "anti_ageing_peptide",
    "caffeine": "caffeine",
    "deoxycholate": "deoxycholate",
    "growth factors from the patient's blood": "autologous_growth_factors",
}
PAGE_CONTRAINDICATIONS = {
    "pregnant": ["pregnancy"],
    "lactating": ["lactation"],
    "active skin/scalp inflammation or infection": ["active_infection_scalp", "active_infection_face", "active_infection_body"],
    "diabetes": ["diabetes"],
    "hemophilia and other coagulation disorders": ["coagulation_disorder"],
    "epilepsy": ["epilepsy"],
}


def test_every_concern_on_the_page_is_in_the_catalog():
    default_catalog()
    for phrase, keys in PAGE_CONCERNS.items():
        for key in keys:
            assert Concern.objects.filter(key=key, is_active=True).exists(), phrase
            assert Protocol.objects.filter(concerns__key=key, is_active=True).exists(), f"no protocol treats {phrase}"


def test_every_ingredient_on_the_page_is_in_the_catalog_and_used():
    default_catalog()
    for phrase, key in PAGE_INGREDIENTS.items():
        ingredient = Ingredient.objects.get(key=key)
        assert ingredient.is_active, phrase
        assert ingredient.protocol_ingredients.exists(), f"no protocol uses {phrase}"


def test_every_protocol_family_and_technique_of_the_page_is_there():
    default_catalog()
    assert set(Protocol.objects.values_list("family", flat=True)) == set(Protocol.Family.values)
    modes = set(Technique.objects.values_list("method", "mode"))
    assert {("direct", "point_by_point"), ("direct", "papule"), ("direct", "nappage")} <= modes
    assert {("dermapen", "stamping"), ("dermapen", "rolling"), ("dermapen", "stamping_and_rolling")} <= modes
    assert Protocol.objects.get(key="hair_prp").uses_prp
    assert set(Area.objects.values_list("key", flat=True)) >= {"scalp", "face", "periorbital", "submental", "body"}


def test_the_course_numbing_and_aftercare_rules_of_the_page_are_the_defaults():
    default_catalog()
    for protocol in Protocol.objects.exclude(key="lipolysis_chin"):
        assert (protocol.sessions_min, protocol.sessions_max) == (4, 6), protocol.key
        assert (protocol.interval_min_days, protocol.interval_max_days) == (21, 28), protocol.key
    assert set(Protocol.objects.values_list("numbing_minutes", flat=True)) == {30}
    scalp = AftercareRule.objects.get(area_kind="scalp")
    face = AftercareRule.objects.get(area_kind="face")
    assert scalp.duration_hours == 24 and "wash your hair" in scalp.instruction and "oil" in scalp.instruction
    assert face.duration_hours == 72 and "direct sun" in face.instruction and "active ingredients" in face.instruction
    assert all("4–6 hours" in rule.expected_effects for rule in AftercareRule.objects.all())
    assert list(ProcedureStep.objects.values_list("key", flat=True)) == ["numbing", "alcohol_swab", "micro_injections"]


def test_every_contraindication_of_the_page_is_an_absolute_rule():
    default_catalog()
    for phrase, keys in PAGE_CONTRAINDICATIONS.items():
        for key in keys:
            rule = ContraindicationRule.objects.get(key=key)
            assert rule.severity == "absolute" and rule.origin == "page" and rule.is_active, phrase
    infection = {rule.key: rule.area_kinds for rule in ContraindicationRule.objects.filter(key__startswith="active_infection")}
    assert infection == {"active_infection_scalp": ["scalp"], "active_infection_face": ["face"], "active_infection_body": ["body"]}


def test_every_item_has_a_plain_language_description():
    default_catalog()
    for model in (Concern, Ingredient, Area, Technique, Product, Protocol, ContraindicationRule, ProcedureStep):
        for obj in model.objects.all():
            assert len(obj.description.strip()) >= 20, f"{model.__name__} {obj.key}"
    for rule in AftercareRule.objects.all():
        assert rule.instruction and rule.expected_effects


def test_only_codes_the_reference_confirms_are_used():
    default_catalog()
    coded = {rule.key: (rule.coding_system, rule.coding_code) for rule in ContraindicationRule.objects.exclude(coding_code="")}
    sct = "http://snomed.info/sct"
    assert coded == {
        "pregnancy": (sct, "77386006"),
        "diabetes": (sct, "73211009"),
        "coagulation_disorder": (sct, "64779008"),
        "epilepsy": (sct, "84757009"),
    }


def test_the_default_catalog_meets_every_invariant():
    default_catalog()
    assert services.validate_catalog() == []


def test_loading_twice_keeps_one_version():
    first = default_catalog()
    second = default_catalog()
    assert first.pk == second.pk and CatalogVersion.objects.count() == 1
    assert first.number == 1 and "fixture version 2" in first.note


def test_the_fixture_is_exactly_what_the_catalog_exports():
    version = default_catalog()
    data = fixture_data()
    data.pop("fixture_version")
    for section in exchange.SECTIONS:
        data[section.name] = sorted(data[section.name], key=lambda item: item["key"])
        for item in data[section.name]:
            for name in ("areas", "ingredients"):
                if section.name == "protocols":
                    item[name] = sorted(item[name], key=lambda row: row.get("area") or row.get("ingredient"))
    assert data == version.snapshot


def test_the_load_command_loads_once(capsys):
    call_command("load_default_catalog")
    call_command("load_default_catalog")
    assert CatalogVersion.objects.count() == 1
    assert "Catalog version 1" in capsys.readouterr().out

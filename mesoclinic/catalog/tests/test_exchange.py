"""Export and import: one JSON format, a lossless round trip, and a bad file changes nothing."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from mesoclinic.catalog import exchange, services
from mesoclinic.catalog.models import CatalogVersion, Concern, Product, Protocol, ProtocolArea

from .factories import director_ctx, item

pytestmark = pytest.mark.django_db


def _export():
    return json.loads(json.dumps(exchange.export_catalog()))


def test_an_export_imported_again_changes_nothing(catalog, medical_director):
    assert services.import_catalog(ctx=director_ctx(medical_director), data=_export()) is None
    assert CatalogVersion.objects.count() == 1


def test_an_edited_export_round_trips_exactly(catalog, medical_director):
    ids = dict(Protocol.objects.values_list("key", "id"))
    data = _export()
    item(data, "protocols", "hair_cocktail")["sessions_max"] = 8
    item(data, "protocols", "hair_cocktail")["areas"][0]["depth_max_mm"] = 1.2
    data["concerns"].append(
        {"key": "rosacea", "name": "Rosacea", "description": "Redness and flushing of the face.", "position": 120, "is_active": True}
    )
    version = services.import_catalog(ctx=director_ctx(medical_director), data=data, note="Spring update")
    assert version.number == 2 and version.note == "Spring update"
    data["concerns"].sort(key=lambda entry: entry["key"])
    assert _export() == data
    assert dict(Protocol.objects.values_list("key", "id")) == ids  # ids are stable: stock lots and courses keep pointing at them
    assert str(ProtocolArea.objects.get(protocol__key="hair_cocktail").depth_max_mm) == "1.20"
    assert {change["key"] for change in version.changes} == {"hair_cocktail", "rosacea"}


def test_items_left_out_of_a_file_are_deactivated_not_deleted(catalog, medical_director):
    data = _export()
    data["products"] = [entry for entry in data["products"] if entry["key"] != "caffeine_solution"]
    for protocol in data["protocols"]:
        protocol["products"] = [key for key in protocol["products"] if key != "caffeine_solution"]
    services.import_catalog(ctx=director_ctx(medical_director), data=data)
    product = Product.objects.get(key="caffeine_solution")
    assert not product.is_active


def test_the_export_and_import_commands_round_trip(catalog, tmp_path, capsys):
    path = tmp_path / "catalog.json"
    call_command("export_catalog", output=str(path))
    data = json.loads(path.read_text())
    assert data["catalog_version"] == 1 and data["format"] == "mesoclinic-catalog"
    item(data, "concerns", "hair_loss")["name"] = "Hair loss and thinning"
    path.write_text(json.dumps(data))
    call_command("import_catalog", str(path), note="From the command line")
    assert Concern.objects.get(key="hair_loss").name == "Hair loss and thinning"
    assert CatalogVersion.objects.get(number=2).note == "From the command line"


def test_the_import_command_lists_the_problems_and_changes_nothing(catalog, tmp_path):
    path = tmp_path / "catalog.json"
    data = _export()
    item(data, "protocols", "hair_cocktail")["sessions_min"] = "four"
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError, match="sessions_min: must be a whole number"):
        call_command("import_catalog", str(path))
    path.write_text("{not json")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_catalog", str(path))
    assert CatalogVersion.objects.count() == 1


def _breaks(mutate):
    data = _export()
    mutate(data)
    return data


BAD_FILES = {
    "not an object": (lambda data: None, "one JSON object"),
    "wrong format": (lambda data: data.update(format="something-else"), "not a Mesoclinic catalog"),
    "future format version": (lambda data: data.update(format_version=99), "format version 99"),
    "unknown section": (lambda data: data.update(recipes=[]), "Unknown section"),
    "section not a list": (lambda data: data.update(concerns={"a": 1}), "concerns: must be a list"),
    "item not an object": (lambda data: data["concerns"].append("hair"), "must be an object"),
    "item without key": (lambda data: data["concerns"].append({"name": "No key"}), "needs a “key”"),
    "duplicate key": (lambda data: data["concerns"].append(dict(data["concerns"][0])), "appears twice"),
    "unknown field": (lambda data: item(data, "concerns", "hair_loss").update(colour="red"), "unknown field(s): colour"),
    "text expected": (lambda data: item(data, "concerns", "hair_loss").update(name=12), "name: must be text"),
    "boolean expected": (lambda data: item(data, "concerns", "hair_loss").update(is_active="yes"), "is_active: must be true or false"),
    "number expected": (lambda data: item(data, "protocols", "hair_cocktail")["areas"][0].update(depth_min_mm="deep"), "must be a number"),
    "negative whole number": (lambda data: item(data, "protocols", "hair_cocktail").update(sessions_max=-1), "from 0 to 32767"),
    "infinite number": (lambda data: item(data, "protocols", "hair_cocktail")["areas"][0].update(depth_min_mm="Infinity"), "finite"),
    "unknown choice": (lambda data: item(data, "areas", "scalp").update(kind="foot"), "not a valid choice"),
    "too long": (lambda data: item(data, "concerns", "hair_loss").update(name="x" * 500), "at most 120 characters"),
    "blank description": (lambda data: item(data, "concerns", "hair_loss").update(description=""), "cannot be blank"),
    "unknown reference": (lambda data: item(data, "protocols", "hair_cocktail").update(concerns=["baldness"]), "unknown key(s): baldness"),
    "unknown question": (lambda data: item(data, "contraindication_rules", "pregnancy").update(question="nope"), "unknown key 'nope'"),
    "reference list not a list": (
        lambda data: item(data, "products", "hair_cocktail").update(ingredients="minerals"),
        "must be a list of keys",
    ),
    "sessions reversed": (lambda data: item(data, "protocols", "hair_cocktail").update(sessions_min=7), "most sessions"),
    "depth above 3 mm": (lambda data: item(data, "protocols", "hair_cocktail")["areas"][0].update(depth_max_mm=4), "at most 3"),
    "area listed twice": (
        lambda data: item(data, "protocols", "hair_cocktail")["areas"].append(dict(item(data, "protocols", "hair_cocktail")["areas"][0])),
        "listed twice",
    ),
    "no area": (lambda data: item(data, "protocols", "hair_cocktail").update(areas=[]), "has no area"),
    "unapproved product": (
        lambda data: item(data, "products", "hair_cocktail").update(approved_concerns=[]),
        "not approved for “Hair loss”",
    ),
    "bad area kinds": (lambda data: item(data, "contraindication_rules", "pregnancy").update(area_kinds=["foot"]), "Unknown area kind"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_refused_with_a_clear_message_and_changes_nothing(catalog, medical_director, case):
    mutate, message = BAD_FILES[case]
    data = _export() if case != "not an object" else ["a", "list"]
    if case != "not an object":
        mutate(data)
    with pytest.raises(services.CatalogInvalid) as refused:
        services.import_catalog(ctx=director_ctx(medical_director), data=data)
    assert any(message in error for error in refused.value.errors), refused.value.errors
    assert CatalogVersion.objects.count() == 1
    assert exchange.fingerprint(exchange.export_catalog()) == catalog.fingerprint


def test_many_problems_are_all_reported_at_once(catalog, medical_director):
    data = _export()
    item(data, "concerns", "hair_loss")["name"] = 1
    item(data, "areas", "scalp")["kind"] = "foot"
    item(data, "protocols", "rejuvenation")["sessions_min"] = "x"
    with pytest.raises(services.CatalogInvalid) as refused:
        services.import_catalog(ctx=director_ctx(medical_director), data=data)
    assert len(refused.value.errors) >= 3

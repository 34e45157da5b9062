"""The medical director's catalog pages: who may see and edit, every page renders, bad input answers 4xx."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.catalog import exchange, views
from mesoclinic.catalog.models import AftercareRule, Area, CatalogVersion, Concern, Product, Protocol, Technique
from mesoclinic.core.models import AuditEvent

from .factories import item, protocol_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def director_client(client, medical_director, catalog):
    client.force_login(medical_director)
    return client


@pytest.fixture
def nurse_client(client, location, catalog):
    client.force_login(UserFactory(role=Role.NURSE, locations=[location]))
    return client


def _first_pk(page):
    return page.model._default_manager.order_by("pk").values_list("pk", flat=True)[0]


def test_a_receptionist_may_not_open_the_catalog(client, receptionist, catalog):
    client.force_login(receptionist)
    assert client.get(reverse("catalog:overview")).status_code == 403
    assert client.get(reverse("catalog:export")).status_code == 403


def test_clinical_staff_read_the_catalog_but_may_not_edit_it(nurse_client):
    assert nurse_client.get(reverse("catalog:overview")).status_code == 200
    for page in views.PAGES:
        pk = _first_pk(page)
        assert nurse_client.get(reverse(page.list_url)).status_code == 200
        assert nurse_client.get(reverse(page.detail_url, args=[pk])).status_code == 200
        assert nurse_client.get(reverse(page.new_url)).status_code == 403
        assert nurse_client.post(reverse(page.edit_url, args=[pk]), {}).status_code == 403
    assert nurse_client.get(reverse("catalog:import")).status_code == 403
    assert b"Add a" not in nurse_client.get(reverse("catalog:protocol-list")).content


def test_every_catalog_page_renders_for_the_director(director_client):
    for url in (
        reverse("catalog:overview"),
        reverse("catalog:version-list"),
        reverse("catalog:version-detail", args=[1]),
        reverse("catalog:import"),
    ):
        assert director_client.get(url).status_code == 200, url
    for page in views.PAGES:
        pk = _first_pk(page)
        for url in (reverse(page.list_url), reverse(page.detail_url, args=[pk]), reverse(page.new_url), reverse(page.edit_url, args=[pk])):
            assert director_client.get(url).status_code == 200, url


def test_the_overview_names_areas_without_aftercare(director_client):
    assert "No aftercare rule covers:" not in director_client.get(reverse("catalog:overview")).content.decode()
    AftercareRule.objects.filter(key="body_aftercare").update(is_active=False)  # straight in the table: the editor would hold it
    response = director_client.get(reverse("catalog:overview"))
    assert "No aftercare rule covers:" in response.content.decode() and "Body" in response.content.decode()


def test_the_director_edits_a_protocol_and_a_new_version_is_made(director_client):
    hair = Protocol.objects.get(key="hair_cocktail")
    data = protocol_form_data(hair, sessions_max=8, change_note="Longer hair courses")
    data["areas-0-depth_max_mm"] = "1.2"
    response = director_client.post(reverse("catalog:protocol-edit", args=[hair.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    version = CatalogVersion.objects.get(number=2)
    assert version.note == "Longer hair courses"
    assert item(version.snapshot, "protocols", "hair_cocktail")["sessions_max"] == 8
    assert item(version.snapshot, "protocols", "hair_cocktail")["areas"][0]["depth_max_mm"] == 1.2
    page = director_client.get(reverse("catalog:version-detail", args=[2])).content.decode()
    assert "sessions_max" in page and "6 → 8" in page


def test_the_director_adds_a_protocol(director_client):
    new = Protocol(key="hair_booster", name="Hair booster", family="hair", description="A shorter hair course for maintenance.")
    data = protocol_form_data(new, sessions_min=2, sessions_max=3)
    data.update(
        {
            "concerns": [Concern.objects.get(key="hair_loss").pk],
            "techniques": [Technique.objects.get(key="dermapen_rolling").pk],
            "products": [Product.objects.get(key="hair_cocktail").pk],
            "areas-TOTAL_FORMS": 1,
            "areas-0-area": Area.objects.get(key="scalp").pk,
            "areas-0-depth_min_mm": "0.5",
            "areas-0-depth_max_mm": "1.0",
        }
    )
    response = director_client.post(reverse("catalog:protocol-new"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    protocol = Protocol.objects.get(key="hair_booster")
    assert protocol.protocol_areas.get().area.key == "scalp" and protocol.sessions_max == 3


def _post_edit(client, url, data):
    response = client.post(url, data)
    return response.status_code, response.content.decode()


PROTOCOL_BAD_INPUT = {
    "sessions reversed": ({"sessions_min": 7, "sessions_max": 6}, 400, "cannot be fewer than the fewest"),
    "interval reversed": ({"interval_min_days": 30, "interval_max_days": 21}, 400, "cannot be shorter than the shortest"),
    "wrong type": ({"sessions_min": "four"}, 400, "Enter a whole number"),
    "missing field": ({"name": ""}, 400, "This field is required"),
    "too long": ({"name": "x" * 400}, 400, "at most 160 characters"),
    "unknown concern id": ({"concerns": [999999]}, 400, "Select a valid choice"),
    "no technique": ({"techniques": []}, 400, "Choose at least one technique"),
    "depth above 3 mm": ({"areas-0-depth_max_mm": "3.5"}, 400, "Depth must be at most 3 mm"),
    "depth zero": ({"areas-0-depth_min_mm": "0"}, 400, "Depth must be more than 0 mm"),
    "depths reversed": ({"areas-0-depth_min_mm": "1.5", "areas-0-depth_max_mm": "0.5"}, 400, "cannot be shallower"),
    "one depth only": ({"areas-0-depth_max_mm": ""}, 400, "Give both depths"),
    "dermapen without depth": ({"areas-0-depth_min_mm": "", "areas-0-depth_max_mm": ""}, 400, "give a depth range"),
    "no area": ({"areas-0-DELETE": "on"}, 400, "Please submit at least 1 form"),
    "unapproved product": ({"products": "__acne__"}, 400, "is not approved for"),
    "stale version": ({"expected_version": 0}, 409, "The catalog changed while you were editing"),
    "huge number": ({"sessions_max": "99999999999999999999"}, 400, "At most 20 sessions"),
    "too many sessions": ({"sessions_max": "21"}, 400, "At most 20 sessions"),
    "sessions too close": ({"interval_min_days": "3"}, 400, "at least 7 days apart"),
    "no numbing wait with a cream": ({"numbing_minutes": "0"}, 400, "wait at least 10 minutes"),
}


@pytest.mark.parametrize("case", sorted(PROTOCOL_BAD_INPUT))
def test_bad_input_on_the_protocol_form_is_refused_and_nothing_is_saved(director_client, case):
    changes, status, message = PROTOCOL_BAD_INPUT[case]
    hair = Protocol.objects.get(key="hair_cocktail")
    data = protocol_form_data(hair)
    if changes.get("products") == "__acne__":
        changes = {"products": [Product.objects.get(key="growth_factor_complex").pk]}
    data.update(changes)
    if case == "stale version":
        data["sessions_max"] = 7
        CatalogVersion.objects.filter(number=1).update(number=5)
    code, body = _post_edit(director_client, reverse("catalog:protocol-edit", args=[hair.pk]), data)
    assert code == status, body[:3000]
    assert message in body
    assert CatalogVersion.objects.count() == 1


def test_an_invariant_broken_elsewhere_in_the_catalog_answers_409(director_client):
    scalp = Area.objects.get(key="scalp")
    data = {"name": scalp.name, "kind": scalp.kind, "description": scalp.description, "position": scalp.position, "expected_version": 1}
    code, body = _post_edit(director_client, reverse("catalog:area-edit", args=[scalp.pk]), data)  # is_active unticked
    assert code == 409 and "treats the inactive area “Scalp”" in body
    assert Area.objects.get(pk=scalp.pk).is_active


def test_withdrawing_an_approval_a_protocol_relies_on_is_refused_on_the_form(director_client):
    product = Product.objects.get(key="hair_cocktail")
    data = {
        "name": product.name,
        "manufacturer": product.manufacturer,
        "description": product.description,
        "ingredients": [i.pk for i in product.ingredients.all()],
        "approved_concerns": [],
        "water_soluble": "on",
        "unit": "ml",
        "is_active": "on",
        "expected_version": 1,
    }
    code, body = _post_edit(director_client, reverse("catalog:product-edit", args=[product.pk]), data)
    assert code == 400 and "keep it approved for that concern" in body


@pytest.mark.parametrize("page", views.PAGES, ids=lambda page: page.slug)
def test_an_empty_new_form_answers_400_on_every_section(director_client, page):
    response = director_client.post(reverse(page.new_url), {})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert CatalogVersion.objects.count() == 1


@pytest.mark.parametrize("page", views.PAGES, ids=lambda page: page.slug)
def test_unknown_ids_answer_404_on_every_section(director_client, page):
    assert director_client.get(reverse(page.detail_url, args=[999999])).status_code == 404
    assert director_client.post(reverse(page.edit_url, args=[999999]), {}).status_code == 404


NEW_ITEM_BAD_INPUT = {
    "area": ("area-new", {"key": "Not A Slug!", "name": "X", "kind": "face", "description": "Somewhere."}, "Enter a valid “slug”"),
    "area kind": ("area-new", {"key": "neck", "name": "Neck", "kind": "foot", "description": "The neck."}, "Select a valid choice"),
    "technique": (
        "technique-new",
        {"key": "pen_papule", "name": "X", "method": "dermapen", "mode": "papule", "description": "No."},
        "A Dermapen stamps",
    ),
    "aftercare both": (
        "aftercare-new",
        {
            "key": "both",
            "name": "Both",
            "area": "__scalp__",
            "area_kind": "face",
            "instruction": "x",
            "duration_hours": 24,
            "expected_effects": "x",
        },
        "either one area or one kind",
    ),
    "aftercare hours": (
        "aftercare-new",
        {"key": "long", "name": "Long", "area_kind": "face", "instruction": "x", "duration_hours": 0, "expected_effects": "x"},
        "greater than or equal to 1",
    ),
    "rule coding": (
        "rule-new",
        {
            "key": "x",
            "condition": "X",
            "severity": "absolute",
            "question": "__pregnancy__",
            "description": "X.",
            "coding_system": "http://snomed.info/sct",
        },
        "needs both a system and a code",
    ),
    "rule severity": (
        "rule-new",
        {"key": "x", "condition": "X", "severity": "fatal", "question": "__pregnancy__", "description": "X."},
        "Select a valid choice",
    ),
    "rule unknown question": (
        "rule-new",
        {"key": "x", "condition": "X", "severity": "absolute", "question": "999999", "description": "X."},
        "Select a valid choice",
    ),
    "duplicate key": ("concern-new", {"key": "hair_loss", "name": "Again", "description": "Again."}, "already used"),
}


@pytest.mark.parametrize("case", sorted(NEW_ITEM_BAD_INPUT))
def test_bad_input_on_the_other_forms_answers_400(director_client, case):
    url_name, data, message = NEW_ITEM_BAD_INPUT[case]
    data = dict(data, expected_version=1)
    if data.get("area") == "__scalp__":
        data["area"] = Area.objects.get(key="scalp").pk
    if data.get("question") == "__pregnancy__":
        from mesoclinic.catalog.models import Question

        data["question"] = Question.objects.get(key="pregnancy").pk
    response = director_client.post(reverse(f"catalog:{url_name}"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert CatalogVersion.objects.count() == 1


def test_the_director_adds_a_clinic_rule_with_its_question(director_client):
    question = director_client.post(
        reverse("catalog:question-new"),
        {
            "key": "isotretinoin",
            "text": "Have you taken isotretinoin in the last six months?",
            "position": 95,
            "is_active": "on",
            "expected_version": 1,
        },
    )
    assert question.status_code == 302
    from mesoclinic.catalog.models import ContraindicationRule, Question

    response = director_client.post(
        reverse("catalog:rule-new"),
        {
            "key": "isotretinoin",
            "condition": "Isotretinoin in the last six months",
            "severity": "absolute",
            "question": Question.objects.get(key="isotretinoin").pk,
            "area_kinds": ["face"],
            "description": "Skin heals poorly after isotretinoin; face treatment waits six months.",
            "origin": "clinic",
            "position": 95,
            "is_active": "on",
            "expected_version": 2,
        },
    )
    assert response.status_code == 302
    rule = ContraindicationRule.objects.get(key="isotretinoin")
    assert rule.area_kinds == ["face"] and CatalogVersion.objects.count() == 3


def test_the_export_downloads_the_current_version_and_is_audited(director_client, medical_director):
    response = director_client.get(reverse("catalog:export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert 'filename="mesoclinic-catalog-v1.json"' in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["catalog_version"] == 1 and len(data["protocols"]) == 10
    assert AuditEvent.objects.filter(action="export", object_type="catalog-version", actor=medical_director).exists()
    assert director_client.get(reverse("catalog:version-download", args=[1])).status_code == 200
    assert director_client.get(reverse("catalog:version-download", args=[99])).status_code == 404
    assert director_client.get(reverse("catalog:version-detail", args=[99])).status_code == 404


def _upload(content: bytes, name="catalog.json"):
    return SimpleUploadedFile(name, content, content_type="application/json")


def test_the_director_imports_an_edited_export(director_client):
    data = exchange.export_catalog()
    item(data, "concerns", "hair_loss")["name"] = "Hair loss and thinning"
    response = director_client.post(
        reverse("catalog:import"), {"file": _upload(json.dumps(data).encode()), "change_note": "Renamed", "expected_version": 1}
    )
    assert response.status_code == 302 and response["Location"] == reverse("catalog:version-detail", args=[2])
    assert Concern.objects.get(key="hair_loss").name == "Hair loss and thinning"


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (None, "This field is required"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[1, 2]", "one JSON object"),
        (b'{"format": "mesoclinic-catalog", "format_version": 1, "concerns": [{"key": "x"}]}', "concerns › x"),
        (b" " * (2 * 1024 * 1024 + 1), "larger than 2 MB"),
    ],
    ids=["missing", "not json", "not utf-8", "not an object", "invalid item", "too large"],
)
def test_a_bad_upload_answers_400_and_changes_nothing(director_client, upload, message):
    data = {"expected_version": 1}
    if upload is not None:
        data["file"] = _upload(upload)
    response = director_client.post(reverse("catalog:import"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert CatalogVersion.objects.count() == 1


def test_list_pages_run_the_same_queries_however_large_the_catalog(director_client):
    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert director_client.get(url).status_code == 200
        return len(queries)

    urls = [reverse(page.list_url) for page in views.PAGES]
    before = [count(url) for url in urls]
    hair = Protocol.objects.get(key="hair_cocktail")
    for n in range(3):
        copy = Protocol.objects.create(key=f"copy{n}", name=f"Copy {n}", family="hair", description="A copy for counting.")
        copy.concerns.set(hair.concerns.all())
        copy.protocol_areas.create(area=Area.objects.get(key="scalp"), depth_min_mm="0.5", depth_max_mm="1.0")
        Product.objects.create(key=f"p{n}", name=f"P{n}", manufacturer="M", description="A product.").approved_concerns.set(
            hair.concerns.all()
        )
    assert [count(url) for url in urls] == before


def test_an_empty_import_post_answers_400(director_client):
    response = director_client.post(reverse("catalog:import"), {})
    assert response.status_code == 400 and "This field is required" in response.content.decode()

"""The staff screens: screen, re-screen, verdict page, override; the patient-page panel; scoping and bad input."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.catalog.models import CatalogVersion, Protocol
from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.screening import services
from mesoclinic.screening.models import Override, Screening

from .factories import all_no, ctx, screen

pytestmark = pytest.mark.django_db
REASON = "Discussed with the obstetrician; benefit outweighs risk."


def _answers(**overrides):
    return {f"answers-{key}": value for key, value in {**all_no(), **overrides}.items()}


@pytest.fixture
def doctor_client(client, doctor, catalog):
    client.force_login(doctor)
    return client


def test_a_doctor_screens_a_patient_and_sees_every_reason(doctor_client, patient, doctor):
    page = doctor_client.get(reverse("screening:new", args=[patient.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Are you pregnant, or could you be pregnant?" in body and "Feeds: Pregnancy (absolute)" in body
    response = doctor_client.post(reverse("screening:new", args=[patient.pk]), _answers(pregnancy="yes"))
    screening = Screening.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("screening:detail", args=[screening.pk])
    detail = doctor_client.get(response["Location"]).content.decode()
    assert "Not eligible — Pregnancy" in detail
    assert "Mesotherapy should be avoided during pregnancy" in detail and "Rule <code>pregnancy</code>" in detail
    assert AuditEvent.objects.filter(object_type="screening", action="view", patient_id=patient.pk).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Answer this question"),
        ({"answers-pregnancy": "perhaps"}, "Answer yes, no or not sure"),
    ],
)
def test_a_questionnaire_with_missing_or_wrong_answers_answers_400(doctor_client, patient, data, message):
    full = _answers()
    full.pop("answers-pregnancy")
    response = doctor_client.post(reverse("screening:new", args=[patient.pk]), {**(full if data else {}), **data})
    assert response.status_code == 400 and message in response.content.decode()
    assert not Screening.objects.exists()


def test_only_doctors_open_the_full_questionnaire(client, nurse, receptionist, patient, catalog):
    for user in (nurse, receptionist):
        client.force_login(user)
        assert client.get(reverse("screening:new", args=[patient.pk])).status_code == 403
        assert client.post(reverse("screening:new", args=[patient.pk]), _answers()).status_code == 403
    assert not Screening.objects.exists()


def test_another_locations_patient_answers_404_everywhere(doctor_client, doctor, other_location, catalog):
    stranger = PatientFactory(location=other_location)
    screening = services.record_screening(
        ctx=ctx(doctor), patient=stranger, answers={**all_no(), "pregnancy": "yes"}, kind="full"
    )  # the service does not scope; the screens do
    hair = Protocol.objects.get(key="hair_cocktail")
    urls = [
        reverse("screening:new", args=[stranger.pk]),
        reverse("screening:rescreen", args=[stranger.pk]),
        reverse("screening:history", args=[stranger.pk]),
        reverse("screening:detail", args=[screening.pk]),
        reverse("screening:override", args=[screening.pk]) + f"?protocol={hair.pk}&areas=scalp",
    ]
    for url in urls:
        assert doctor_client.get(url).status_code == 404, url
    assert doctor_client.post(reverse("screening:new", args=[stranger.pk]), _answers()).status_code == 404
    post = {"protocol": hair.pk, "areas": "scalp", "reason": REASON}
    assert doctor_client.post(reverse("screening:override", args=[screening.pk]), post).status_code == 404
    assert not Override.objects.exists()


def test_unknown_ids_answer_404(doctor_client):
    for url in (
        reverse("screening:new", args=[999999]),
        reverse("screening:detail", args=[999999]),
        reverse("screening:history", args=[999999]),
    ):
        assert doctor_client.get(url).status_code == 404


def test_a_doctor_overrides_from_the_verdict_page(doctor_client, doctor, patient):
    screening = screen(doctor, patient, pregnancy="yes")
    hair = Protocol.objects.get(key="hair_cocktail")
    url = reverse("screening:override", args=[screening.pk])
    page = doctor_client.get(f"{url}?protocol={hair.pk}&areas=scalp")
    assert page.status_code == 200 and "Not eligible — Pregnancy." in page.content.decode()
    response = doctor_client.post(url, {"protocol": hair.pk, "areas": "scalp", "reason": REASON})
    assert response.status_code == 302
    override = Override.objects.get()
    assert override.area_keys == ["scalp"] and override.reason == REASON
    patient_page = doctor_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert REASON in patient_page and "overridden by" in patient_page


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"areas": "scalp", "reason": REASON}, 400, "Which verdict?"),
        ({"protocol": "999999", "areas": "scalp", "reason": REASON}, 400, "Which verdict?"),
        ({"protocol": "abc", "areas": "scalp", "reason": REASON}, 400, "Which verdict?"),
        ({"protocol": "__hair__", "areas": "sc alp!", "reason": REASON}, 400, "Which verdict?"),
        ({"protocol": "__hair__", "areas": "scalp", "reason": ""}, 400, "Write the clinical reason"),
        ({"protocol": "__hair__", "areas": "scalp", "reason": "short"}, 400, "at least 10 characters"),
        ({"protocol": "__hair__", "areas": "scalp", "reason": "x" * 2001}, 400, "under 2000 characters"),
        ({"protocol": "__face__", "areas": "face", "reason": REASON}, 409, "Only a “not eligible” verdict"),
    ],
)
def test_bad_override_input_is_refused_and_nothing_is_saved(doctor_client, doctor, patient, data, status, message):
    screening = screen(doctor, patient, infection_scalp="yes")
    data = dict(data)
    if data.get("protocol") == "__hair__":
        data["protocol"] = Protocol.objects.get(key="hair_cocktail").pk
    if data.get("protocol") == "__face__":
        data["protocol"] = Protocol.objects.get(key="rejuvenation").pk
    response = doctor_client.post(reverse("screening:override", args=[screening.pk]), data)
    assert response.status_code == status
    assert message in response.content.decode()
    assert not Override.objects.exists()


def test_a_nurse_may_not_override(client, nurse, doctor, patient, catalog):
    screening = screen(doctor, patient, pregnancy="yes")
    client.force_login(nurse)
    hair = Protocol.objects.get(key="hair_cocktail")
    assert (
        client.post(
            reverse("screening:override", args=[screening.pk]), {"protocol": hair.pk, "areas": "scalp", "reason": REASON}
        ).status_code
        == 403
    )
    assert client.get(reverse("screening:detail", args=[screening.pk])).status_code == 200
    assert not Override.objects.exists()


def test_a_nurse_rescreens_before_a_session(client, nurse, doctor, patient, catalog):
    screen(doctor, patient)
    client.force_login(nurse)
    url = reverse("screening:rescreen", args=[patient.pk])
    picker = client.get(url)
    assert picker.status_code == 200 and "Areas treated today" in picker.content.decode()
    questions = client.get(f"{url}?areas=scalp&next=/patients/{patient.pk}/")
    body = questions.content.decode()
    assert questions.status_code == 200 and "scalp" in body.lower() and "breastfeeding" in body.lower() and "diabetes" not in body.lower()
    answers = {
        f"answers-{key}": "no" for key in ("pregnancy", "breastfeeding", "infection_scalp", "new_medicines", "new_diagnosis_or_medicine")
    }
    response = client.post(url, {**answers, "areas": "scalp", "next": f"/patients/{patient.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/"
    assert Screening.objects.filter(kind="rescreen").count() == 1
    unsafe = client.post(url, {**answers, "areas": "scalp", "next": "https://evil.example/"})
    assert unsafe.status_code == 302 and unsafe["Location"].startswith("/screening/")


@pytest.mark.parametrize(("query", "message"), [("areas=elbow", "is not a treatment area"), ("areas=", "Choose the area")])
def test_a_rescreen_with_bad_areas_answers_400(client, nurse, doctor, patient, catalog, query, message):
    screen(doctor, patient)
    client.force_login(nurse)
    response = client.get(reverse("screening:rescreen", args=[patient.pk]) + "?" + query)
    assert response.status_code == 400 and message in response.content.decode()


def test_a_rescreen_without_a_full_screening_says_so(client, nurse, patient, catalog):
    client.force_login(nurse)
    url = reverse("screening:rescreen", args=[patient.pk])
    assert "No valid full screening" in client.get(url).content.decode()
    response = client.post(url, {"areas": "scalp", "answers-pregnancy": "no"})
    assert response.status_code == 409 and not Screening.objects.exists()


def test_screening_without_a_catalog_answers_409(client, doctor, patient):
    client.force_login(doctor)
    assert not CatalogVersion.objects.exists()
    assert client.get(reverse("screening:new", args=[patient.pk])).status_code == 409


def test_the_patient_page_panel_shows_screening_to_clinical_staff_only(client, doctor, receptionist, patient, catalog):
    client.force_login(doctor)
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Not screened" in page and reverse("screening:new", args=[patient.pk]) in page
    screen(doctor, patient, infection_face="yes")
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Not eligible — Active inflammation or infection of the face" in page and "Expires" in page
    client.force_login(receptionist)
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Not eligible" not in page and "Screening" not in page


def test_the_history_page_lists_screenings_and_is_audited(doctor_client, doctor, patient):
    screen(doctor, patient)
    screen(doctor, patient, pregnancy="yes")
    response = doctor_client.get(reverse("screening:history", args=[patient.pk]))
    assert response.status_code == 200 and response.content.decode().count("Full screening") == 2
    assert AuditEvent.objects.filter(object_type="screening-history", patient_id=patient.pk).exists()


def test_the_panel_and_verdict_page_do_not_grow_queries_with_history(doctor_client, doctor, patient):
    screening = screen(doctor, patient, pregnancy="yes")

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert doctor_client.get(url).status_code == 200
        return len(queries)

    patient_url = reverse("patients:detail", args=[patient.pk])
    before = count(patient_url), count(reverse("screening:detail", args=[screening.pk]))
    hair = Protocol.objects.get(key="hair_cocktail")
    for _ in range(3):
        screening = screen(doctor, patient, pregnancy="yes")
        services.override_verdict(ctx=ctx(doctor), screening=screening, protocol=hair, area_keys=["scalp"], reason=REASON)
    after = count(patient_url), count(reverse("screening:detail", args=[screening.pk]))
    assert after == before


def test_the_screening_page_has_one_override_action_and_shows_an_overridden_verdict_as_overridden(doctor_client, doctor, patient):
    screening = screen(doctor, patient, pregnancy="yes")
    hair = Protocol.objects.get(key="hair_cocktail")
    detail = reverse("screening:detail", args=[screening.pk])
    page = doctor_client.get(detail).content.decode()
    assert page.count("Override…") == 1 and "Not eligible" in page
    assert "not_eligible<" not in page and "Not_eligible" not in page
    assert f'<option value="{hair.pk}">' in page

    chosen = doctor_client.get(reverse("screening:override", args=[screening.pk]) + f"?protocol={hair.pk}")
    assert chosen.status_code == 200 and "The verdict at scalp" in chosen.content.decode()
    doctor_client.post(reverse("screening:override", args=[screening.pk]), {"protocol": hair.pk, "reason": REASON})
    assert Override.objects.get().area_keys == ["scalp"]

    after = doctor_client.get(detail).content.decode()
    assert 'class="status status-overridden">Not eligible — Pregnancy — overridden' in after
    assert f'<option value="{hair.pk}">' not in after

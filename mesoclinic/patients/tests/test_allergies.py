"""A patient's recorded allergies: catalog ingredients and free text, edited on the patient form and shown on the patient page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.catalog.models import Ingredient
from mesoclinic.catalog.services import load_default_catalog
from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, receptionist):
    load_default_catalog()
    client.force_login(receptionist)
    return client


def test_the_edit_form_records_allergies_to_catalog_ingredients_and_in_words(signed_in, location):
    patient = PatientFactory(location=location)
    minerals = Ingredient.objects.get(key="minerals")
    url = reverse("patients:edit", args=[patient.pk])
    assert "Allergic to (catalog ingredients)" in signed_in.get(url).content.decode()

    data = form_data(allergy_ingredients=str(minerals.pk), allergy_notes="Latex")
    response = signed_in.post(url, data)

    assert response.status_code == 302
    stored = Patient.objects.get(pk=patient.pk)
    assert list(stored.allergy_ingredients.all()) == [minerals] and stored.allergy_notes == "Latex"
    assert {"allergy_notes", "allergy_ingredients"} <= set(AuditEvent.objects.get(action="update").detail["fields"])
    page = signed_in.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Minerals; Latex" in page


def test_a_patient_without_allergies_says_none_recorded(signed_in, location):
    patient = PatientFactory(location=location)
    assert "None recorded" in signed_in.get(reverse("patients:detail", args=[patient.pk])).content.decode()


def test_an_unknown_ingredient_is_refused_with_a_400_and_nothing_changes(signed_in, location):
    patient = PatientFactory(location=location)
    response = signed_in.post(reverse("patients:edit", args=[patient.pk]), form_data(allergy_ingredients="999999"))
    assert response.status_code == 400
    assert "Choose ingredients from the list." in response.content.decode()
    assert not Patient.objects.get(pk=patient.pk).allergy_ingredients.exists()


def test_registering_a_patient_keeps_their_allergies(signed_in, location):
    caffeine = Ingredient.objects.get(key="caffeine")
    response = signed_in.post(reverse("patients:new"), form_data(location, allergy_ingredients=str(caffeine.pk)))
    assert response.status_code == 302
    assert list(Patient.objects.get().allergy_ingredients.all()) == [caffeine]

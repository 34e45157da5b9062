"""Prescribing checks the patient's recorded allergies against the protocol's products: refused with a
message naming the allergen, unless the doctor writes why it is acceptable (kept on the course)."""

from __future__ import annotations

import pytest

from mesoclinic.catalog.models import Concern, Ingredient
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.courses.models import Course
from mesoclinic.courses.services import CourseRefused, prescribe_course

from .factories import hair, prescribe_hair
from .test_views import new_url, prescribe_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def allergic(clinic):
    clinic.patient.allergy_ingredients.add(Ingredient.objects.get(key="minerals"))  # in the hair cocktail
    return clinic.patient


def test_a_protocol_whose_product_holds_an_allergen_is_refused_naming_it(clinic, allergic):
    with pytest.raises(CourseRefused) as refused:
        prescribe_hair(clinic.doctor, allergic)
    message = refused.value.errors["allergy_reason"]
    assert message.startswith(f"{allergic.full_name} is allergic to Minerals, an ingredient of")
    assert "write why it is acceptable" in message
    assert not Course.objects.exists()


def test_with_the_doctors_written_reason_the_course_is_prescribed_and_keeps_it(clinic, allergic):
    course = prescribe_course(
        ctx=audit.AuditContext(actor=clinic.doctor, path="/test"),
        patient=allergic,
        protocol=hair(),
        concern=Concern.objects.get(key="hair_loss"),
        area_keys=["scalp"],
        sessions=6,
        interval_min_days=28,
        interval_max_days=28,
        allergy_reason="Patch-tested on 2 March: no reaction to the cocktail.",
    )
    assert course.allergy_acknowledgement == "Patch-tested on 2 March: no reaction to the cocktail."
    assert AuditEvent.objects.get(object_type="course").detail["allergy_acknowledged"] is True


def test_a_patient_without_those_allergies_needs_no_reason(clinic):
    clinic.patient.allergy_ingredients.add(Ingredient.objects.get(key="caffeine"))
    course = prescribe_hair(clinic.doctor, clinic.patient)
    assert course.allergy_acknowledgement == ""


def test_the_prescribe_screen_warns_and_refuses_without_a_reason_then_accepts_one(client, clinic, allergic):
    client.force_login(clinic.doctor)
    page = client.get(new_url(allergic, hair())).content.decode()
    assert "Allergy:" in page and "is allergic to Minerals" in page

    refused = client.post(new_url(allergic, hair()), prescribe_data(clinic))
    assert refused.status_code == 400 and "write why it is acceptable" in refused.content.decode()
    assert not Course.objects.exists()

    accepted = client.post(new_url(allergic, hair()), prescribe_data(clinic, allergy_reason="Patch test negative on 2 March."))
    assert accepted.status_code == 302
    assert Course.objects.get().allergy_acknowledgement == "Patch test negative on 2 March."

"""The chart refuses a practitioner who is not qualified for the protocol (opening, charting, signing)
and a product that holds an ingredient the patient is allergic to — each with a message naming why."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from mesoclinic.catalog.models import Ingredient
from mesoclinic.courses.models import Qualification
from mesoclinic.procedures import services
from mesoclinic.procedures.models import AreaTreatment, ProcedureRecord

from .factories import chart_fully, needles_for, prepare, product, treat

pytestmark = pytest.mark.django_db


def unqualify(user) -> None:
    Qualification.objects.filter(practitioner=user).delete()


def test_an_unqualified_practitioner_cannot_open_the_chart(clinic):
    unqualify(clinic.nurse)
    with pytest.raises(services.NotQualified, match="Nadia Brooks is not qualified for Hair"):
        clinic.record()
    assert not ProcedureRecord.objects.exists()


def test_the_open_screen_answers_403_with_the_reason(client, clinic):
    unqualify(clinic.nurse)
    client.force_login(clinic.nurse)
    response = client.post(reverse("procedures:open", args=[clinic.appointment().pk]))
    assert response.status_code == 403
    assert "is not qualified for" in response.content.decode()
    assert not ProcedureRecord.objects.exists()


def test_an_unqualified_practitioner_cannot_chart_a_treated_area(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    unqualify(clinic.nurse)
    with pytest.raises(services.NotQualified, match="not qualified"):
        treat(clinic.nurse_ctx, record, lot=clinic.lot)
    assert not AreaTreatment.objects.exists()


def test_an_unqualified_doctor_cannot_sign(clinic, clock):
    record = chart_fully(clinic.nurse_ctx, clinic.record(), clock, lot=clinic.lot)
    unqualify(clinic.doctor)
    with pytest.raises(services.NotQualified, match="Daniela Ortega is not qualified"):
        services.sign_procedure(ctx=clinic.doctor_ctx, record=record)
    assert ProcedureRecord.objects.get(pk=record.pk).status == ProcedureRecord.Status.OPEN


def test_the_chart_warns_an_unqualified_viewer_and_a_step_answers_403(client, clinic):
    record = clinic.record()
    unqualify(clinic.nurse)
    client.force_login(clinic.nurse)
    page = client.get(reverse("procedures:detail", args=[record.pk])).content.decode()
    assert "Nadia Brooks is not qualified for" in page
    response = client.post(
        reverse("procedures:step", args=[record.pk, "consent"]), {"consent-confirmed": "on"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 403 and "not qualified" in response.content.decode()


def test_a_product_holding_an_allergen_of_the_patient_is_refused_naming_it(clinic, clock):
    clinic.patient.allergy_ingredients.add(Ingredient.objects.get(key="minerals"))
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    with pytest.raises(services.ChartRefused) as refused:
        treat(clinic.nurse_ctx, record, lot=clinic.lot)
    assert refused.value.message.startswith("Amelia Hart is allergic to Minerals, an ingredient of Hair")
    assert refused.value.errors == {"product_1": refused.value.message}
    assert not AreaTreatment.objects.exists()


def test_a_product_free_of_the_patients_allergens_is_recorded(clinic, clock):
    clinic.patient.allergy_ingredients.add(Ingredient.objects.get(key="caffeine"))
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    line = services.ProductLine(product=product("hair_loss_medicine_solution"), lot=clinic.medicine_lot, volume_ml=Decimal("1"))
    treat(clinic.nurse_ctx, record, lot=None, products=[line])
    assert AreaTreatment.objects.count() == 1


def test_the_chart_shows_the_allergy_and_refuses_the_product_on_screen(client, clinic, clock):
    clinic.patient.allergy_ingredients.add(Ingredient.objects.get(key="minerals"))
    clinic.patient.allergy_notes = "Latex"
    clinic.patient.save()
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    client.force_login(clinic.nurse)
    page = client.get(reverse("procedures:detail", args=[record.pk])).content.decode()
    assert "Minerals; Latex" in page
    data = {
        "area": "scalp",
        "technique": "dermapen_rolling",
        "depth_mm": "1.00",
        "passes": "3",
        "dermapen_speed": "8",
        "device": str(clinic.dermapen.pk),
        "product_1": str(clinic.lot.product_id),
        "lot_1": str(clinic.lot.pk),
        "volume_1": "2.5",
        "consumable_lot_1": str(needles_for(record)[0].lot.pk),  # needle/cartridge lots are required by default
        "consumable_quantity_1": "1",
    }
    response = client.post(reverse("procedures:step", args=[record.pk, "treatment"]), data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "Amelia Hart is allergic to Minerals" in response.content.decode()
    assert not AreaTreatment.objects.exists()


def test_a_course_whose_doctor_accepted_the_allergen_lets_the_chart_record_it_with_the_reason_shown(client, clinic, clock):
    from .factories import book_hair_course

    course, appointments = book_hair_course(clinic, start_on=clock_today(clock))
    clinic.patient.allergy_ingredients.add(Ingredient.objects.get(key="minerals"))
    Course = type(course)
    Course.objects.filter(pk=course.pk).update(allergy_acknowledgement="Patch test negative on 2 March.")
    record = prepare(clinic.nurse_ctx, services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointments[0]))
    clock.shift(timedelta(minutes=30))
    client.force_login(clinic.nurse)
    page = client.get(reverse("procedures:detail", args=[record.pk])).content.decode()
    assert "The prescribing doctor accepted it: “Patch test negative on 2 March.”" in page
    treat(clinic.nurse_ctx, record, lot=clinic.lot)
    assert AreaTreatment.objects.count() == 1


def clock_today(clock):
    from django.utils import timezone

    from .conftest import LONDON

    return timezone.now().astimezone(LONDON).date()

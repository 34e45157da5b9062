"""Checking a patient in looks at their screening: a treatment stops on one that does not allow it."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from mesoclinic.catalog.services import load_default_catalog
from mesoclinic.courses.tests.factories import screen
from mesoclinic.scheduling import arrival, services
from mesoclinic.scheduling.models import Appointment

from .conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(clinic):
    return load_default_catalog()


def book(clinic, starts_at=None, *, kind=Appointment.Kind.TREATMENT, protocol_key="hair_cocktail"):
    return services.book_appointment(
        ctx=clinic.ctx,
        location=clinic.location,
        patient=clinic.patient,
        practitioner=clinic.nurse,
        room=clinic.room,
        device=None,
        starts_at=starts_at or at(2, 10),
        kind=kind,
        numbing_minutes=30 if kind == Appointment.Kind.TREATMENT else 0,
        procedure_minutes=30,
        protocol_key=protocol_key if kind == Appointment.Kind.TREATMENT else "",
    )


def test_an_unscreened_patient_is_not_checked_in_for_a_treatment(clinic, catalog):
    appointment = book(clinic)

    with pytest.raises(arrival.ScreeningStopsCheckIn) as stopped:
        arrival.check_in_patient(ctx=clinic.ctx, appointment=appointment)

    assert str(stopped.value) == "Not checked in. Not screened: a doctor must screen the patient before the treatment."
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


def test_an_expired_screening_stops_the_treatment_with_its_date_and_what_to_do(clinic, catalog, frozen):
    screening = screen(clinic.doctor, clinic.patient)  # 2 March 2026: expires on 31 August
    appointment = book(clinic, at(3, 10, month=9))
    frozen.move_to(at(3, 9, month=9))

    check = arrival.arrival_check(appointment)

    assert screening.expires_on.isoformat() == "2026-08-31"
    assert check.stops and check.status == "expired"
    assert check.message == "Screening expired on 31 August 2026: a doctor must screen the patient again before the treatment."
    with pytest.raises(arrival.ScreeningStopsCheckIn):
        arrival.check_in_patient(ctx=clinic.ctx, appointment=appointment)


def test_a_not_eligible_screening_stops_the_treatment_with_the_conditions(clinic, catalog):
    screen(clinic.doctor, clinic.patient, pregnancy=True)
    appointment = book(clinic)

    check = arrival.arrival_check(appointment)

    assert check.stops and check.status == "not_eligible"
    assert check.message == (
        "Not eligible for “Hair meso — vitamin and amino-acid cocktail”: Pregnancy. "
        "A doctor must review the screening (and may override it with a written reason) before the treatment."
    )


def test_an_eligible_screening_lets_the_treatment_check_in(clinic, catalog):
    screen(clinic.doctor, clinic.patient)
    appointment = book(clinic)

    checked = arrival.check_in_patient(ctx=clinic.ctx, appointment=appointment)

    assert checked.status == Appointment.Status.CHECKED_IN
    assert arrival.arrival_check(appointment).message == "Screening valid until 30 August 2026."


def test_a_consultation_is_checked_in_and_only_told_about_the_missing_screening(clinic, catalog):
    appointment = book(clinic, kind=Appointment.Kind.CONSULTATION)

    check = arrival.arrival_check(appointment)
    checked = arrival.check_in_patient(ctx=clinic.ctx, appointment=appointment)

    assert not check.stops
    assert check.message == "Not screened: a doctor must screen the patient before any treatment; this consultation can go ahead."
    assert checked.status == Appointment.Status.CHECKED_IN


def test_the_appointment_page_shows_the_stop_and_offers_no_check_in(client, clinic, catalog):
    appointment = book(clinic)
    client.force_login(clinic.nurse)

    page = client.get(reverse("scheduling:appointment-detail", args=[appointment.pk]))

    html = page.content.decode()
    assert "Not screened: a doctor must screen the patient before the treatment." in html
    assert reverse("scheduling:appointment-check-in", args=[appointment.pk]) not in html


def test_posting_a_check_in_the_screening_stops_answers_409_with_the_reason(client, clinic, catalog):
    appointment = book(clinic)
    client.force_login(clinic.nurse)

    response = client.post(reverse("scheduling:appointment-check-in", args=[appointment.pk]))

    assert response.status_code == 409
    assert "Not checked in. Not screened" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


def test_the_screening_is_judged_on_the_appointments_local_day(clinic, catalog):
    with time_machine.travel(at(2, 7, month=3), tick=False):
        screen(clinic.doctor, clinic.patient)
    appointment = book(clinic, at(30, 10, month=8))  # the last day the screening is valid

    assert not arrival.arrival_check(appointment).stops


def test_a_doctors_override_or_a_caution_is_shown_but_does_not_stop_the_treatment(clinic, catalog):
    from mesoclinic.catalog.models import Protocol
    from mesoclinic.courses.tests.factories import override

    screening = screen(clinic.doctor, clinic.patient, pregnancy=True)
    override(clinic.doctor, screening, Protocol.objects.get(key="hair_cocktail"), ["scalp"])
    appointment = book(clinic)

    check = arrival.arrival_check(appointment)

    assert not check.stops and check.status == "not_eligible"
    assert check.message.startswith("Screening valid until 30 August 2026; not eligible for")
    assert "overridden by a doctor" in check.message
    screen(clinic.doctor, clinic.patient, anticoagulants=True)
    caution = arrival.arrival_check(appointment)
    assert not caution.stops and caution.status == "caution" and "The practitioner re-screens first." in caution.message

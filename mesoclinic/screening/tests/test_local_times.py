"""Screenings and overrides are shown in the patient's clinic's wall clock, not UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.catalog.models import Protocol
from mesoclinic.core.models import Location
from mesoclinic.core.tests.zones import shows_local_not_utc, wall_clock, zoned_location_fixture
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.screening.models import Override, Screening
from mesoclinic.screening.selectors import Eligibility, EligibilityStatus

from .factories import screen

zoned_location_ = zoned_location_fixture()


def test_the_screening_pages_and_panel_show_local_times(client, catalog, zoned_location):
    location, utc_time = zoned_location
    doctor = UserFactory(role=Role.DOCTOR, locations=[location])
    patient = PatientFactory(location=location)
    with time_machine.travel(wall_clock(location.time_zone), tick=False):
        screening = screen(doctor, patient)
    Override.objects.create(
        screening=screening,
        patient=patient,
        protocol=Protocol.objects.order_by("key").first(),
        area_keys=["scalp"],
        rule_keys=[],
        reason="Discussed with the patient",
        overridden_by=doctor,
        overridden_at=wall_clock(location.time_zone, minute=50),
    )
    client.force_login(doctor)
    detail = client.get(reverse("screening:detail", args=[screening.pk])).content.decode()
    assert "30 Mar 2027 10:45" in detail
    shows_local_not_utc(detail, utc_time)
    history = client.get(reverse("screening:history", args=[patient.pk])).content.decode()
    assert "30 Mar 2027 10:45" in history
    shows_local_not_utc(history, utc_time)
    patient_page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "30 Mar 2027 10:50" in patient_page  # the override, on the screening panel
    assert utc_time.replace("45", "50") not in patient_page


def test_a_late_evening_screening_is_dated_on_the_local_day(client, catalog, zoned_location):
    location, _ = zoned_location
    doctor = UserFactory(role=Role.DOCTOR, locations=[location])
    patient = PatientFactory(location=location)
    with time_machine.travel(wall_clock(location.time_zone, day=31, hour=0, minute=30), tick=False):
        screen(doctor, patient)
    client.force_login(doctor)
    patient_page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Full screening on 31 Mar 2027" in patient_page or "on 31 Mar 2027 by" in patient_page


def test_an_override_made_late_in_the_evening_is_dated_on_the_clinic_s_day():
    # 23:30 UTC on 30 March 2027 is already 31 March in Madrid.
    override = Override(overridden_at=datetime(2027, 3, 30, 23, 30, tzinfo=UTC))
    screening = Screening(location=Location(time_zone="Europe/Madrid"))
    eligibility = Eligibility(status=EligibilityStatus.NOT_ELIGIBLE, reasons=(), override=override, screening=screening)
    assert "overridden by a doctor on 31 Mar 2027" in eligibility.detail

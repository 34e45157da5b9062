from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from mesoclinic.conftest import ARTIFACTS
from mesoclinic.core.tests.factories import DeviceFactory, RoomFactory
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling.models import Appointment

from .factories import AppointmentFactory, open_every_day, practitioner_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_receptionist_books_an_appointment_and_sees_it_on_the_day_and_week_calendars(page, sign_in, receptionist, location):
    open_every_day(location)
    nurse = practitioner_at(location, first_name="Nadia", last_name="Brooks")
    practitioner_at(location, first_name="Daniela", last_name="Ortega")
    room = RoomFactory(location=location, name="Treatment room 1")
    RoomFactory(location=location, name="Treatment room 2")
    DeviceFactory(location=location, serial_number="DP4-001")
    patient = PatientFactory(location=location, given_name="Amelia", family_name="Hart")
    tomorrow = location.local(timezone.now()).date() + timedelta(days=1)
    start = location.start_of_day(tomorrow) + timedelta(hours=8)
    for n in range(3):  # someone else is already booked early that morning
        AppointmentFactory(
            location=location,
            practitioner=nurse,
            room=room,
            starts_at=start + timedelta(minutes=30 * n),
            patient=PatientFactory(location=location, given_name="Other", family_name=f"Patient{n}"),
        )

    sign_in(receptionist)
    page.get_by_role("link", name="Schedule").first.click()
    page.get_by_role("heading", name=f"Day calendar — {location.name}").wait_for()
    page.get_by_role("link", name="Book an appointment").click()

    page.get_by_label("Find the patient").fill("hart")
    page.get_by_role("link", name="Choose Amelia Hart").click()
    page.get_by_label("Date").fill(tomorrow.isoformat())
    page.get_by_label("Practitioner").select_option(label="Nadia Brooks")
    page.get_by_label("Needs a Dermapen").check()
    page.get_by_role("button", name="Show free times").click()
    page.get_by_role("heading", name=f"3. Free times on {tomorrow:%A} {tomorrow.day} {tomorrow:%B}").wait_for()
    first_free = page.locator(".slot-list label").first
    assert "09:30" in first_free.inner_text()  # 08:00–09:30 is taken
    page.screenshot(path=os.path.join(ARTIFACTS, "scheduling-slot-picker.png"), full_page=True)
    first_free.click()
    page.get_by_label("Notes").fill("First treatment")
    page.get_by_role("button", name="Book", exact=True).click()
    page.get_by_text("Booked Amelia Hart on").wait_for()

    appointment = Appointment.objects.get(patient=patient)
    assert location.local(appointment.starts_at).strftime("%H:%M") == "09:30"
    assert appointment.device is not None and appointment.practitioner == nurse

    page.get_by_role("link", name="Back to the day").click()
    page.get_by_role("link", name="09:30–10:30 HART, Amelia").wait_for()
    page.screenshot(path=os.path.join(ARTIFACTS, "scheduling-day-calendar.png"), full_page=True)
    page.get_by_role("link", name="Week view").click()
    page.get_by_role("heading", name="Week of").wait_for()
    assert page.get_by_role("link", name="09:30 HART, A.").count() == 1

"""The golden path, step 3, in Chromium: a doctor prescribes a 6-session hair course for a screened
patient (scalp, every 4 weeks), the planner proposes six dates, the receptionist books all six in
one step, and they appear on the week calendar."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
import time_machine

from mesoclinic.courses.models import Course
from mesoclinic.patients.tests.screens import snap
from mesoclinic.scheduling.models import Appointment

from .conftest import LONDON
from .factories import DeviceFactory, PatientFactory, RoomFactory, hair_clinic, screen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 3, 2, 7, 0, tzinfo=LONDON), tick=True):
        yield


def test_a_doctor_prescribes_a_hair_course_and_the_receptionist_books_all_six_sessions(
    page, sign_in, location, receptionist, clock, request
):
    doctor, nurse = hair_clinic(location)
    RoomFactory(location=location, name="Treatment room 1")
    RoomFactory(location=location, name="Treatment room 2")
    DeviceFactory(location=location, serial_number="DP4-LDN-001")
    patient = PatientFactory(location=location, given_name="Amelia", family_name="Hart")
    screen(doctor, patient)

    # The doctor prescribes.
    sign_in(doctor)
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Prescribe a course").click()
    page.get_by_label("Protocol").select_option(label="Hair meso — vitamin and amino-acid cocktail")
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Screening verdict for Hair meso").wait_for()
    assert page.get_by_label("Scalp").is_checked()
    page.get_by_label("Dermapen, rolling").check()
    page.get_by_label("Number of sessions").fill("6")
    page.get_by_label("Shortest interval (days)").fill("28")
    page.get_by_label("Longest interval (days)").fill("28")
    snap(page, request, "prescribe")
    page.get_by_role("button", name="Prescribe the course").click()
    page.get_by_text("Course prescribed: 6 sessions").wait_for()
    course = Course.objects.get()
    page.get_by_role("button", name="Sign out").click()

    # The receptionist opens the course from the patient page: six proposed dates, then books them all.
    sign_in(receptionist)
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Hair meso — vitamin and amino-acid cocktail").click()
    page.get_by_role("button", name="Book all 6 sessions").wait_for()
    assert page.locator("table.proposal tbody tr[id^=session-]").count() == 6
    assert page.get_by_text("Proposed", exact=True).count() == 6
    snap(page, request, "proposal")
    # The patient prefers half past ten: propose again from that time (later sessions keep it).
    page.get_by_label("Preferred time").fill("10:30")
    page.get_by_role("button", name="Propose again").click()
    page.get_by_role("button", name="Book all 6 sessions").wait_for()
    assert page.get_by_label("Session 6 time").input_value() == "10:30"
    # Session 3 with the nurse instead: htmx re-checks the table in place.
    page.get_by_label("Session 3 practitioner").select_option(label=str(nurse))
    page.locator("#session-3").get_by_text("Proposed").wait_for()
    assert page.get_by_label("Session 3 practitioner").input_value() == str(nurse.pk)
    snap(page, request, "proposal-edited")
    page.get_by_role("button", name="Book all 6 sessions").click()
    page.get_by_text("Booked 6 sessions in one step").wait_for()
    snap(page, request, "booked")
    sessions_table = page.locator("#proposal table").inner_text()
    assert sessions_table.count("10:30") == 6 and "09:30" not in sessions_table  # local time, also after 29 March
    assert "Tue 3 Mar – Mon 16 Mar 2026" in sessions_table  # session 1's window from the chosen start date

    appointments = list(Appointment.objects.filter(patient=patient).order_by("starts_at"))
    assert len(appointments) == 6
    days = [a.starts_at.astimezone(LONDON) for a in appointments]
    assert [(b.date() - a.date()).days for a, b in itertools.pairwise(days)] == [28] * 5
    assert days[0].strftime("%H:%M") == "10:30"
    assert {d.strftime("%H:%M") for d in days} == {"10:30"}  # across the change to summer time on 29 March
    assert all(a.device is not None for a in appointments)
    assert appointments[2].practitioner == nurse
    assert course.sessions.filter(appointment__isnull=False).count() == 6

    # Each session is on the week calendar.
    for day in days:
        page.goto(f"/schedule/week/?location={location.pk}&on={day.date().isoformat()}")
        page.get_by_text("Hart", exact=False).first.wait_for()
        assert "10:30" in page.content()
    page.goto(f"/schedule/week/?location={location.pk}&on={days[1].date().isoformat()}")
    snap(page, request, "week-calendar")

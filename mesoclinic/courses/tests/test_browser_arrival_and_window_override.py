"""In Chromium: the front desk is stopped from checking an unscreened patient in for a treatment, and
a doctor moves a course session outside its window on the calendar by giving a reason."""

from __future__ import annotations

import os
from datetime import date, datetime, time

import pytest
import time_machine

from mesoclinic.conftest import ARTIFACTS
from mesoclinic.core import audit
from mesoclinic.courses.models import WindowOverride
from mesoclinic.courses.planner import plan_course
from mesoclinic.courses.services import book_course
from mesoclinic.scheduling import services as scheduling

from .conftest import LONDON
from .factories import DeviceFactory, PatientFactory, RoomFactory, hair_clinic, prescribe_hair, screen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Travelling for a month; shorter interval agreed with the patient."


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 3, 2, 7, 0, tzinfo=LONDON), tick=True):
        yield


def test_check_in_stops_on_a_missing_screening_and_a_doctor_overrides_a_window(page, sign_in, location, receptionist, clock):
    doctor, nurse = hair_clinic(location)
    room = RoomFactory(location=location, name="Treatment room 1")
    RoomFactory(location=location, name="Treatment room 2")
    DeviceFactory(location=location, serial_number="DP4-LDN-001")
    unscreened = PatientFactory(location=location, given_name="Noor", family_name="Haddad")
    today = scheduling.book_appointment(
        ctx=audit.AuditContext(actor=receptionist),
        location=location,
        patient=unscreened,
        practitioner=nurse,
        room=room,
        device=None,
        starts_at=datetime(2026, 3, 2, 10, 0, tzinfo=LONDON),
        kind="treatment",
        numbing_minutes=30,
        procedure_minutes=30,
        protocol_key="hair_cocktail",
    )
    patient = PatientFactory(location=location, given_name="Amelia", family_name="Hart")
    screen(doctor, patient)
    course = prescribe_hair(doctor, patient, sessions=4, interval=(21, 28))
    rows = plan_course(course=course, start_on=date(2026, 3, 3), at_time=time(10, 30))
    book_course(ctx=audit.AuditContext(actor=receptionist), course=course, proposals=rows)
    second = course.sessions.get(number=2).appointment

    # Reception: the unscreened patient's treatment cannot be checked in, and the page says why.
    sign_in(receptionist)
    page.goto(f"/schedule/appointments/{today.pk}/")
    page.get_by_text("Not screened: a doctor must screen the patient before the treatment.").wait_for()
    assert page.get_by_role("button", name="Check in").count() == 0
    page.screenshot(path=os.path.join(ARTIFACTS, "arrival-check-stops-treatment.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()

    # A doctor moves session 2 to a week after session 1: asked for a reason, then moved.
    sign_in(doctor)
    page.goto(f"/schedule/appointments/{second.pk}/reschedule/")
    page.get_by_label("New date").fill("2026-03-10")
    page.get_by_role("button", name="Show free times").click()
    page.get_by_role("heading", name="Free times on Tuesday 10 March").wait_for()
    page.locator(".slot-list label").first.click()
    page.get_by_role("button", name="Move it here").click()
    page.get_by_text("Session 2 on 10 Mar 2026 would be outside its window (24 Mar to 31 Mar 2026).").wait_for()
    page.get_by_label("Reason for moving outside the course window").fill(REASON)
    page.screenshot(path=os.path.join(ARTIFACTS, "window-override-reason.png"), full_page=True)
    page.get_by_role("button", name="Move it outside the window").click()
    page.get_by_role("heading", name="Move the later appointments too?").wait_for()
    page.get_by_role("link", name="Leave them where they are").click()

    assert WindowOverride.objects.get().reason == REASON
    page.goto(f"/courses/{course.pk}/")
    page.get_by_role("heading", name="Moved outside the window (doctor's override)").wait_for()
    assert REASON in page.content()

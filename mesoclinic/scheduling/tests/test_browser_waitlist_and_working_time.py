from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
from django.utils import timezone

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.conftest import ARTIFACTS
from mesoclinic.core import audit
from mesoclinic.core.tests.factories import RoomFactory
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling import services
from mesoclinic.scheduling.models import Appointment, Closure, WaitlistOffer

from .factories import open_every_day, practitioner_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    page.screenshot(path=os.path.join(ARTIFACTS, f"scheduling-{name}.png"), full_page=True)


def test_a_cancellation_offers_the_time_to_the_waitlist_and_reception_books_it(page, sign_in, receptionist, location):
    open_every_day(location)
    nurse = practitioner_at(location, first_name="Nadia", last_name="Brooks")
    room = RoomFactory(location=location, name="Treatment room 1")
    booked_patient = PatientFactory(location=location, given_name="Amelia", family_name="Hart")
    waiting = PatientFactory(location=location, given_name="Zoë", family_name="Ölçer")
    day = location.local(timezone.now()).date() + timedelta(days=2)
    appointment = services.book_appointment(
        ctx=audit.SYSTEM,
        location=location,
        patient=booked_patient,
        practitioner=nurse,
        room=room,
        device=None,
        starts_at=location.start_of_day(day) + timedelta(hours=11),
        kind=Appointment.Kind.TREATMENT,
        numbing_minutes=30,
        procedure_minutes=30,
    )
    services.add_to_waitlist(
        ctx=audit.SYSTEM, location=location, patient=waiting, earliest_on=day - timedelta(days=1), latest_on=day + timedelta(days=3)
    )

    sign_in(receptionist)
    page.goto(f"/schedule/appointments/{appointment.pk}/")
    page.get_by_role("heading", name="Treatment session").wait_for()
    shot(page, "appointment-detail")
    page.get_by_label("Why is it cancelled?").fill("Patient called: unwell")
    page.get_by_role("button", name="Cancel the appointment").click()
    page.get_by_text("Cancelled. Waitlisted patients").wait_for()

    page.get_by_role("link", name="Waitlist").first.click()
    page.get_by_role("heading", name="Freed times offered").wait_for()
    shot(page, "waitlist")
    page.get_by_role("button", name="Book Zoë Ölçer").click()
    page.get_by_text("Booked Zoë Ölçer into the freed time.").wait_for()
    assert Appointment.objects.get(patient=waiting).status == Appointment.Status.BOOKED
    assert WaitlistOffer.objects.get().status == WaitlistOffer.Status.BOOKED


def test_a_manager_closes_the_location_for_a_day_and_a_practitioner_switches_on_their_feed(page, sign_in, location):
    open_every_day(location)
    nurse = practitioner_at(location, first_name="Nadia", last_name="Brooks")
    manager = UserFactory(role=Role.MANAGER, locations=[location])
    sign_in(manager)
    page.get_by_role("link", name="Schedule").first.click()
    page.get_by_role("link", name="Working time").click()
    page.get_by_role("heading", name=f"Working time — {location.name}").wait_for()
    closed_on = date.today() + timedelta(days=30)
    page.locator("#closure_first_on").fill(closed_on.isoformat())
    page.locator("#closure_reason").fill("Bank holiday")
    page.get_by_role("button", name="Add").last.click()
    page.get_by_text("Closure recorded.").wait_for()
    shot(page, "working-time")
    assert Closure.objects.get().reason == "Bank holiday"

    page.context.clear_cookies()
    sign_in(nurse)
    page.get_by_role("link", name="My schedule").first.click()
    page.get_by_role("button", name="Switch on my calendar feed").click()
    feed = page.get_by_label("Feed address").input_value()
    assert feed.endswith(".ics")
    shot(page, "my-schedule")
    response = page.request.get(feed)
    assert response.status == 200 and response.text().startswith("BEGIN:VCALENDAR")

"""Every time the schedule shows or sends is the appointment's location's wall clock, not UTC.

A session at 10:45 on Tuesday 30 March 2027 (summer time: London UTC+1, Madrid UTC+2) must read
10:45 on every page, e-mail, SMS and calendar, and never 09:45 / 08:45 (the UTC time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from mesoclinic.accounts.roles import Role
from mesoclinic.core import audit
from mesoclinic.core.tests.factories import LocationFactory
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.senders import LocmemSmsBackend
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling import services
from mesoclinic.scheduling.models import Appointment, Closure, WaitlistEntry, WaitlistOffer

from .factories import AppointmentFactory, PatientFactory, RoomFactory, UserFactory, open_every_day, practitioner_at

# (zone, the UTC wall clock of 10:45 local on 30 March 2027)
ZONES = [("Europe/London", "09:45"), ("Europe/Madrid", "08:45")]


@dataclass
class Site:
    location: object
    zone: ZoneInfo
    utc_time: str
    nurse: object
    manager: object
    room: object
    patient: Patient
    ctx: audit.AuditContext

    def at(self, day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
        return datetime(2027, month, day, hour, minute, tzinfo=self.zone)


@pytest.fixture(params=ZONES, ids=["london", "madrid"])
def site(request, db):
    zone, utc_time = request.param
    with time_machine.travel(datetime(2027, 3, 1, 9, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        location = LocationFactory(time_zone=zone)
        open_every_day(location)
        manager = UserFactory(role=Role.MANAGER, locations=[location])
        yield Site(
            location=location,
            zone=ZoneInfo(zone),
            utc_time=utc_time,
            nurse=practitioner_at(location, first_name="Nadia", last_name="Brooks"),
            manager=manager,
            room=RoomFactory(location=location, name="Room A"),
            patient=PatientFactory(location=location, given_name="Amelia", family_name="Hart"),
            ctx=audit.AuditContext(actor=manager, path="/test"),
        )


@pytest.fixture(autouse=True)
def _sms_in_memory(settings):
    settings.MESOCLINIC_SMS_BACKEND = "locmem"
    LocmemSmsBackend.reset()


def appointment(site, **overrides):
    values = {
        "location": site.location,
        "patient": site.patient,
        "practitioner": site.nurse,
        "room": site.room,
        "starts_at": site.at(30, 10, 45),
    }
    values.update(overrides)
    return AppointmentFactory(**values)


def page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def shows_local_not_utc(site, text: str, local: str = "10:45") -> None:
    assert local in text
    assert site.utc_time not in text


def test_the_patient_page_shows_an_appointment_at_its_location_s_time(client, site):
    appointment(site)
    text = page(client, site.manager, reverse("patients:detail", args=[site.patient.pk]))
    assert "Tue 30 Mar 2027 10:45" in text
    shows_local_not_utc(site, text)


def test_the_appointment_page_shows_arrival_room_end_check_in_and_booking_in_local_time(client, site):
    booked = appointment(
        site,
        numbing_minutes=30,
        resource_starts_at=site.at(30, 11, 15),
        ends_at=site.at(30, 11, 45),
        checked_in_at=site.at(30, 10, 40),
        status=Appointment.Status.CHECKED_IN,
    )
    Appointment.objects.filter(pk=booked.pk).update(created_at=site.at(1, 10, 5))
    text = page(client, site.manager, reverse("scheduling:appointment-detail", args=[booked.pk]))
    assert "Tuesday 30 March 2027, 10:45" in text
    assert "<dt>Patient arrives</dt><dd>10:45</dd>" in text
    assert "<dt>Room from</dt><dd>11:15</dd>" in text
    assert "<dt>Ends</dt><dd>11:45" in text
    assert "<dt>Checked in</dt><dd>10:40</dd>" in text
    assert "1 Mar 2027 10:05" in text
    assert f"on={'2027-03-30'}" in text
    shows_local_not_utc(site, text)


def test_a_cancelled_appointment_shows_when_it_was_cancelled_in_local_time(client, site):
    booked = appointment(site, status=Appointment.Status.CANCELLED, cancelled_at=site.at(29, 16, 20), cancelled_reason="Unwell")
    text = page(client, site.manager, reverse("scheduling:appointment-detail", args=[booked.pk]))
    assert "29 Mar 2027 16:20: Unwell" in text


def test_a_late_evening_appointment_is_on_the_local_day_not_the_utc_one(client, site):
    # 00:30 on Wednesday 31 March locally is still Tuesday 30 March in UTC.
    late = appointment(site, starts_at=site.at(31, 0, 30))
    detail = page(client, site.manager, reverse("scheduling:appointment-detail", args=[late.pk]))
    assert "Wednesday 31 March 2027, 00:30" in detail
    assert "on=2027-03-31" in detail
    patient_page = page(client, site.manager, reverse("patients:detail", args=[site.patient.pk]))
    assert "Wed 31 Mar 2027 00:30" in patient_page and "Tue 30 Mar" not in patient_page


def test_the_day_and_week_calendars_show_local_times(client, site):
    appointment(site)
    query = f"?location={site.location.pk}&on=2027-03-30"
    shows_local_not_utc(site, page(client, site.manager, reverse("scheduling:day") + query))
    shows_local_not_utc(site, page(client, site.manager, reverse("scheduling:week") + query))


def test_my_schedule_shows_local_times(client, site):
    with time_machine.travel(site.at(29, 9), tick=False):
        appointment(site)
        shows_local_not_utc(site, page(client, site.nurse, reverse("scheduling:mine")))


def test_the_reschedule_page_shows_the_current_time_in_local_time(client, site):
    booked = appointment(site)
    with time_machine.travel(site.at(29, 9), tick=False):
        text = page(client, site.manager, reverse("scheduling:appointment-reschedule", args=[booked.pk]))
    assert "Now: <strong>Tuesday 30 March 2027, 10:45</strong>" in text  # (09:45 may be a free time)


def test_the_waitlist_shows_an_offered_time_in_local_time(client, site):
    with time_machine.travel(site.at(29, 9), tick=False):
        entry = WaitlistEntry.objects.create(
            location=site.location,
            patient=site.patient,
            kind=Appointment.Kind.TREATMENT,
            procedure_minutes=30,
            earliest_on=site.at(29, 0).date(),
            latest_on=site.at(31, 0).date(),
        )
        freed = appointment(site, status=Appointment.Status.CANCELLED, cancelled_at=site.at(29, 8))
        WaitlistOffer.objects.create(entry=entry, freed_appointment=freed, starts_at=site.at(30, 10, 45))
        text = page(client, site.manager, reverse("scheduling:waitlist") + f"?location={site.location.pk}")
    assert "Tue 30 Mar 10:45" in text
    shows_local_not_utc(site, text)


def test_working_time_shows_closures_in_local_time(client, site):
    Closure.objects.create(location=site.location, starts_at=site.at(30, 10, 45), ends_at=site.at(30, 12, 15), reason="Training")
    text = page(client, site.manager, reverse("scheduling:working-time") + f"?location={site.location.pk}")
    assert "Tue 30 Mar 2027 10:45" in text and "Tue 30 Mar 2027 12:15" in text
    shows_local_not_utc(site, text)


def book(site, **overrides):
    arguments = {
        "ctx": site.ctx,
        "location": site.location,
        "patient": site.patient,
        "practitioner": site.nurse,
        "room": site.room,
        "device": None,
        "starts_at": site.at(30, 10, 45),
        "kind": Appointment.Kind.TREATMENT,
        "numbing_minutes": 0,
        "procedure_minutes": 30,
    }
    arguments.update(overrides)
    return services.book_appointment(**arguments)


def test_the_confirmation_email_and_its_ics_are_in_local_time(site, django_capture_on_commit_callbacks):
    with time_machine.travel(site.at(1, 10), tick=False), django_capture_on_commit_callbacks(execute=True):
        book(site)
    (email,) = mail.outbox
    assert "Tuesday 30 March 2027 at 10:45" in email.body
    shows_local_not_utc(site, email.body)
    _, content, _ = email.attachments[0]
    (event,) = Calendar.from_ical(content).walk("VEVENT")
    assert event.decoded("DTSTART") == site.at(30, 10, 45)
    assert event["DTSTART"].params["TZID"] == str(site.zone)
    assert f"DTSTART;TZID={site.zone}:20270330T104500" in content
    assert "BEGIN:VTIMEZONE" in content


def test_an_sms_reminder_is_in_local_time(site):
    Patient.objects.filter(pk=site.patient.pk).update(preferred_channel="sms")
    site.patient.refresh_from_db()
    with time_machine.travel(site.at(1, 10), tick=False):
        book(site)
    reminders = OutboundMessage.objects.filter(kind="reminder", channel="sms")
    assert reminders
    for message in reminders:
        assert "10:45" in message.body
        shows_local_not_utc(site, message.body)


def test_the_practitioner_s_ical_feed_is_in_local_time(client, site):
    with time_machine.travel(site.at(29, 9), tick=False):
        appointment(site)
        client.force_login(site.nurse)
        response = client.post(reverse("scheduling:my-feed"))
        url = response.content.decode().split('value="http://testserver', 1)[1].split('"', 1)[0]
        client.logout()
        content = client.get(url).content.decode()
    (event,) = Calendar.from_ical(content).walk("VEVENT")
    assert event.decoded("DTSTART") == site.at(30, 10, 45)
    assert f"DTSTART;TZID={site.zone}:20270330T104500" in content
    assert f"DTEND;TZID={site.zone}:20270330T111500" in content
    assert "BEGIN:VTIMEZONE" in content

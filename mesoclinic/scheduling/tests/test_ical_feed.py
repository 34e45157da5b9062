from __future__ import annotations

import re

from django.urls import reverse
from icalendar import Calendar

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling import ical
from mesoclinic.scheduling.models import Appointment, CalendarFeed

from .conftest import at
from .factories import AppointmentFactory


def switch_on(client, user) -> str:
    client.force_login(user)
    response = client.post(reverse("scheduling:my-feed"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    url = re.search(r'value="(http[^"]+\.ics)"', response.content.decode()).group(1)
    client.logout()
    return url.split("testserver", 1)[1]


def test_a_practitioner_subscribes_to_a_valid_feed_of_their_own_bookings_with_initials_only(client, clinic):
    mine = AppointmentFactory(
        location=clinic.location, patient=clinic.patient, practitioner=clinic.nurse, room=clinic.room, starts_at=at(3, 10)
    )
    AppointmentFactory(location=clinic.location, practitioner=clinic.doctor, room=clinic.room2, starts_at=at(3, 10))
    AppointmentFactory(
        location=clinic.location,
        practitioner=clinic.nurse,
        room=clinic.room,
        starts_at=at(3, 12),
        status=Appointment.Status.CANCELLED,
        cancelled_at=at(2, 6),
    )
    path = switch_on(client, clinic.nurse)

    response = client.get(path)  # no sign-in: the secret address is the key
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    assert [str(event["UID"]) for event in events] == [f"appointment-{mine.pk}@mesoclinic"]
    assert str(events[0]["SUMMARY"]) == "Treatment session · A.H."
    assert events[0].decoded("DTSTART") == at(3, 10)
    assert "Hart" not in response.content.decode() and "Amelia" not in response.content.decode()
    assert AuditEvent.objects.filter(object_type="calendar-feed", action="export").count() == 1


def test_only_a_hash_of_the_token_is_stored(client, clinic):
    path = switch_on(client, clinic.nurse)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    stored = CalendarFeed.objects.get(user=clinic.nurse).token_hash
    assert token not in stored
    assert stored == CalendarFeed.hash_token(token)


def test_a_new_address_replaces_the_old_one_and_switching_off_revokes_it(client, clinic):
    first = switch_on(client, clinic.nurse)
    second = switch_on(client, clinic.nurse)
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    client.force_login(clinic.nurse)
    client.post(reverse("scheduling:my-feed"), {"action": "revoke"})
    client.logout()
    assert client.get(second).status_code == 404


def test_unknown_or_absurd_tokens_answer_404(client, clinic):
    assert client.get("/schedule/ical/nope.ics").status_code == 404
    assert client.get("/schedule/ical/" + "x" * 300 + ".ics").status_code == 404


def test_receptionists_have_no_feed(client, clinic):
    client.force_login(clinic.ctx.actor)
    assert client.post(reverse("scheduling:my-feed")).status_code == 403


def test_initials():
    assert ical.initials("Zoë", "Ölçer") == "Z.Ö."
    assert ical.initials("", "") == "?"


def test_the_patient_calendar_has_the_rfc_5545_essentials(clinic):
    appointment = AppointmentFactory(
        location=clinic.location,
        patient=PatientFactory(location=clinic.location),
        practitioner=clinic.nurse,
        room=clinic.room,
        starts_at=at(3, 10),
    )
    text = ical.patient_ics([appointment])
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    calendar = Calendar.from_ical(text)
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"]) == ical.PRODID
    (event,) = calendar.walk("VEVENT")
    for required in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
        assert required in event
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))  # folded lines (RFC 5545 3.1)

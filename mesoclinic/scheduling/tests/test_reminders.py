from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from icalendar import Calendar

from mesoclinic.messaging import delivery
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.senders import LocmemSmsBackend
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling import services
from mesoclinic.scheduling.models import Appointment

from .conftest import at


def book(clinic, starts_at=None, **overrides):
    arguments = {
        "ctx": clinic.ctx,
        "location": clinic.location,
        "patient": clinic.patient,
        "practitioner": clinic.nurse,
        "room": clinic.room,
        "device": None,
        "starts_at": starts_at or at(5, 10),
        "kind": Appointment.Kind.TREATMENT,
        "numbing_minutes": 30,
        "procedure_minutes": 30,
    }
    arguments.update(overrides)
    return services.book_appointment(**arguments)


def reminders(appointment, status="pending"):
    return list(OutboundMessage.objects.filter(related_id=str(appointment.pk), kind="reminder", status=status).order_by("due_at"))


def test_a_booking_queues_a_reminder_at_each_lead_time(clinic, settings):
    settings.MESOCLINIC_REMINDER_LEAD_HOURS = [48, 2]
    appointment = book(clinic)
    queued = reminders(appointment)
    assert [message.due_at for message in queued] == [at(3, 10), at(5, 8)]
    assert all(message.channel == "email" and message.recipient == clinic.patient.email for message in queued)
    assert "Thursday 5 March 2026 at 10:00" in queued[0].body
    assert queued[0].dedupe_key == f"reminder:{appointment.pk}:48h:{int(at(5, 10).timestamp())}"


def test_lead_times_already_past_are_skipped(clinic, settings):
    settings.MESOCLINIC_REMINDER_LEAD_HOURS = [48, 2]
    appointment = book(clinic, starts_at=at(3, 10))  # 27 hours from now: only the 2-hour reminder is ahead
    assert [message.due_at for message in reminders(appointment)] == [at(3, 8)]


def test_reminders_go_by_sms_to_patients_who_prefer_it(clinic):
    Patient.objects.filter(pk=clinic.patient.pk).update(preferred_channel="sms")
    clinic.patient.refresh_from_db()
    appointment = book(clinic)
    assert {message.channel for message in reminders(appointment)} == {"sms"}
    assert {message.recipient for message in reminders(appointment)} == {clinic.patient.phone}


@pytest.mark.parametrize("change", [{"consents_to_reminders": False}, {"preferred_channel": "phone"}, {"preferred_channel": "none"}])
def test_no_reminders_without_consent_or_for_phone_or_no_messages(clinic, change):
    Patient.objects.filter(pk=clinic.patient.pk).update(**change)
    clinic.patient.refresh_from_db()
    appointment = book(clinic)
    assert reminders(appointment) == []


def test_the_confirmation_email_carries_a_valid_ics(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(clinic)
    confirmation = OutboundMessage.objects.get(kind="confirmation")
    assert confirmation.status == "sent"  # due now: the (immediate) worker sent it after commit
    (email,) = mail.outbox
    filename, content, mimetype = email.attachments[0]
    assert (filename, mimetype) == ("appointment.ics", "text/calendar")
    calendar = Calendar.from_ical(content)
    (event,) = calendar.walk("VEVENT")
    assert event["UID"] == f"appointment-{appointment.pk}@mesoclinic"
    assert event.decoded("DTSTART") == at(5, 10)
    assert event.decoded("DTEND") == at(5, 11)
    assert clinic.location.name in str(event["LOCATION"])


def test_a_rescheduled_booking_takes_its_pending_reminders_with_it(clinic):
    appointment = book(clinic)
    old = reminders(appointment)
    moved = services.reschedule_appointment(ctx=clinic.ctx, appointment=appointment, starts_at=at(6, 14))
    assert [message.status for message in OutboundMessage.objects.filter(pk__in=[m.pk for m in old])] == ["cancelled", "cancelled"]
    assert [message.due_at for message in reminders(moved)] == [at(4, 14), at(6, 12)]
    assert OutboundMessage.objects.filter(kind="rescheduled", related_id=str(appointment.pk)).count() == 1


def test_moving_there_and_back_sends_each_reminder_once(clinic):
    appointment = book(clinic)
    services.reschedule_appointment(ctx=clinic.ctx, appointment=appointment, starts_at=at(6, 14))
    services.reschedule_appointment(ctx=clinic.ctx, appointment=appointment, starts_at=at(5, 10))
    pending = reminders(appointment)
    assert [message.due_at for message in pending] == [at(3, 10), at(5, 8)]
    assert OutboundMessage.objects.filter(kind="reminder").count() == 4  # two keys per time, revived not duplicated


def test_a_cancelled_booking_cancels_its_pending_reminders(clinic):
    appointment = book(clinic)
    services.cancel_appointment(ctx=clinic.ctx, appointment=appointment, reason="patient called")
    assert reminders(appointment) == []
    assert len(reminders(appointment, status="cancelled")) == 2
    assert OutboundMessage.objects.filter(kind="cancellation").count() == 1


def test_a_reminder_is_sent_when_due_and_never_twice(clinic):
    Patient.objects.filter(pk=clinic.patient.pk).update(preferred_channel="sms")
    clinic.patient.refresh_from_db()
    appointment = book(clinic)
    with time_machine.travel(at(3, 10) + timedelta(seconds=5), tick=False):
        first = delivery.sweep()
        second = delivery.sweep()
    assert (first.sent, second.sent) == (2, 0)  # the confirmation and the 48-hour reminder
    with time_machine.travel(at(5, 8) + timedelta(seconds=5), tick=False):
        assert delivery.sweep().sent == 1
        assert delivery.sweep().sent == 0
    keys = [sms["key"] for sms in LocmemSmsBackend.outbox]
    assert sorted(key.split(":")[0] for key in keys) == ["confirmation", "reminder", "reminder"]
    assert len(set(keys)) == len(keys)
    assert all(str(appointment.pk) in key for key in keys)


def test_a_series_gets_one_confirmation_listing_every_session(clinic):
    proposals = [
        services.ProposedBooking(
            location=clinic.location,
            patient=clinic.patient,
            practitioner=clinic.nurse,
            room=clinic.room,
            device=None,
            starts_at=at(2, 10) + timedelta(days=28 * n),
            numbing_minutes=30,
            procedure_minutes=30,
        )
        for n in range(3)
    ]
    booked = services.book_series(ctx=clinic.ctx, bookings=proposals)
    (confirmation,) = OutboundMessage.objects.filter(kind="confirmation")
    assert confirmation.dedupe_key == f"confirmation:series:{booked[0].series_key}"
    assert confirmation.body.count("Treatment session:") == 3
    calendar = Calendar.from_ical(confirmation.attachments[0]["content"])
    assert len(calendar.walk("VEVENT")) == 3

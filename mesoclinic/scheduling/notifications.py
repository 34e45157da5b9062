"""What patients are told about their appointments, queued in the outbox (messaging).

Called by the booking services inside their transaction, so a message exists exactly when the
change it describes does. Reminders go by the patient's preferred channel (e-mail or SMS) and only
with their consent; patients who prefer phone calls or no messages get none. Every message has a
dedupe key that includes the appointment time, so it is sent once per time, and a rescheduled
appointment gets fresh reminders while the old ones are cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from mesoclinic.messaging import services as outbox
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.patients.models import Patient

from . import ical
from .models import Appointment, WaitlistEntry

REMINDER = "reminder"
CONFIRMATION = "confirmation"
RESCHEDULED = "rescheduled"
CANCELLATION = "cancellation"
WAITLIST_OFFER = "waitlist-offer"


def when(moment: datetime) -> str:
    """'Wednesday 2 December 2026 at 10:00' in the moment's own time zone."""
    return f"{moment:%A} {moment.day} {moment:%B %Y} at {moment:%H:%M}"


def _channel(patient: Patient) -> tuple[str, str] | None:
    """(channel, recipient) for automated messages to this patient, or None if they chose none.

    A missing or unusable address is not None: the outbox keeps the message as undeliverable.
    """
    if patient.preferred_channel == Patient.Channel.EMAIL:
        return OutboundMessage.Channel.EMAIL, patient.email
    if patient.preferred_channel == Patient.Channel.SMS:
        return OutboundMessage.Channel.SMS, patient.phone
    return None


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _queue(
    appointment: Appointment,
    *,
    kind: str,
    key: str,
    subject: str,
    body: str,
    due_at: datetime,
    ics: str = "",
) -> OutboundMessage | None:
    target = _channel(appointment.patient)
    if target is None:
        return None
    channel, recipient = target
    attachments = [outbox.Attachment("appointment.ics", ics, "text/calendar")] if ics and channel == "email" else []
    return outbox.queue_message(  # a bad address is kept as undeliverable: the booking stands, staff see why
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        due_at=due_at,
        dedupe_key=key,
        related=appointment,
        patient_id=appointment.patient_id,
        location_id=appointment.location_id,
        attachments=attachments,
        kind=kind,
    )


def _contact_line(appointment: Appointment) -> str:
    phone = appointment.location.phone
    return f"To change or cancel, call {appointment.location.name} on {phone}." if phone else "To change or cancel, contact the clinic."


def queue_reminders(appointment: Appointment, *, now: datetime | None = None) -> int:
    """Reminders at each configured lead time still in the future. Returns how many were queued."""
    patient = appointment.patient
    if not patient.consents_to_reminders:
        return 0
    now = now or timezone.now()
    local = appointment.local_starts_at()
    queued = 0
    for lead_hours in settings.MESOCLINIC_REMINDER_LEAD_HOURS:
        due_at = appointment.starts_at - timedelta(hours=lead_hours)
        if due_at <= now:
            continue
        body = (
            f"Reminder: your {appointment.get_kind_display().lower()} at {appointment.location.name} is on {when(local)}.\n"
            f"{_contact_line(appointment)}"
        )
        message = _queue(
            appointment,
            kind=REMINDER,
            key=f"{REMINDER}:{appointment.pk}:{lead_hours}h:{_stamp(appointment.starts_at)}",
            subject=f"Reminder: {appointment.get_kind_display().lower()} on {when(local)}",
            body=body,
            due_at=due_at,
        )
        queued += message is not None
    return queued


def cancel_reminders(appointment: Appointment) -> int:
    return outbox.cancel_messages(related=appointment, kinds=[REMINDER])


def queue_confirmation(appointments: Sequence[Appointment], *, now: datetime | None = None) -> OutboundMessage | None:
    """One confirmation for a booking or a whole series, with an .ics of every appointment."""
    first = appointments[0]
    lines = [f"• {appointment.get_kind_display()}: {when(appointment.local_starts_at())}" for appointment in appointments]
    plural = len(appointments) > 1
    body = (
        f"Your {'appointments are' if plural else 'appointment is'} booked at {first.location.name}"
        f"{', ' + first.location.address if first.location.address else ''}:\n" + "\n".join(lines) + f"\n{_contact_line(first)}"
    )
    key = (
        f"{CONFIRMATION}:series:{first.series_key}"
        if plural and first.series_key
        else f"{CONFIRMATION}:{first.pk}:{_stamp(first.starts_at)}"
    )
    return _queue(
        first,
        kind=CONFIRMATION,
        key=key,
        subject=f"Booked: {len(appointments)} appointments at {first.location.name}"
        if plural
        else f"Booked: {when(first.local_starts_at())}",
        body=body,
        due_at=now or timezone.now(),
        ics=ical.patient_ics(appointments),
    )


def queue_rescheduled(appointment: Appointment, *, previous_starts_at: datetime, now: datetime | None = None) -> OutboundMessage | None:
    local = appointment.local_starts_at()
    previous = appointment.location.local(previous_starts_at)
    return _queue(
        appointment,
        kind=RESCHEDULED,
        key=f"{RESCHEDULED}:{appointment.pk}:{_stamp(appointment.starts_at)}",
        subject=f"Moved: your appointment is now on {when(local)}",
        body=f"Your {appointment.get_kind_display().lower()} on {when(previous)} has moved to {when(local)} "
        f"at {appointment.location.name}.\n{_contact_line(appointment)}",
        due_at=now or timezone.now(),
        ics=ical.patient_ics([appointment]),
    )


def queue_cancellation(appointment: Appointment, *, now: datetime | None = None) -> OutboundMessage | None:
    local = appointment.local_starts_at()
    return _queue(
        appointment,
        kind=CANCELLATION,
        key=f"{CANCELLATION}:{appointment.pk}",
        subject=f"Cancelled: your appointment on {when(local)}",
        body=f"Your {appointment.get_kind_display().lower()} on {when(local)} at {appointment.location.name} is cancelled.\n"
        f"{_contact_line(appointment)}",
        due_at=now or timezone.now(),
        ics=ical.patient_ics([appointment], cancelled=True),
    )


def queue_waitlist_offer(entry: WaitlistEntry, freed: Appointment, *, now: datetime | None = None) -> OutboundMessage | None:
    """Tell a waitlisted patient that a slot has opened (they call or reply; reception books it)."""
    target = _channel(entry.patient)
    if target is None:
        return None
    channel, recipient = target
    local = freed.local_starts_at()
    phone = freed.location.phone
    return outbox.queue_message(
        channel=channel,
        recipient=recipient,
        subject=f"An earlier appointment is free: {when(local)}",
        body=f"Good news: a slot has opened at {freed.location.name} on {when(local)}. "
        + (f"Call {phone} to take it." if phone else "Contact the clinic to take it.")
        + " First come, first served.",
        due_at=now or timezone.now(),
        dedupe_key=f"{WAITLIST_OFFER}:{entry.pk}:{freed.pk}",
        related=entry,
        patient_id=entry.patient_id,
        location_id=entry.location_id,
        kind=WAITLIST_OFFER,
    )

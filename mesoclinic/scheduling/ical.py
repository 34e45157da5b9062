"""iCalendar (RFC 5545) for appointments, built with the `icalendar` library.

Two audiences: the patient (a booking e-mail's .ics attachment: where and when, nothing about
other people) and the practitioner (a private feed: patient initials only, never full names).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone
from icalendar import Calendar, Event, vText

from .models import Appointment

PRODID = "-//Mesoclinic//Scheduling//EN"


def initials(given_name: str, family_name: str) -> str:
    parts = [part for part in (given_name.strip()[:1], family_name.strip()[:1]) if part]
    return ".".join(part.upper() for part in parts) + "." if parts else "?"


def uid_for(appointment: Appointment) -> str:
    return f"appointment-{appointment.pk}@mesoclinic"


def _calendar(name: str, *, method: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    return calendar


def _event(appointment: Appointment, *, summary: str, description: str, stamp: datetime, sequence: int) -> Event:
    event = Event()
    event.add("uid", uid_for(appointment))
    event.add("dtstamp", stamp)
    zone = appointment.location.zone  # local times with TZID (and a VTIMEZONE): the clinic's wall clock
    event.add("dtstart", appointment.starts_at.astimezone(zone))
    event.add("dtend", appointment.ends_at.astimezone(zone))
    event.add("summary", summary)
    event.add("description", description)
    event.add("location", vText(f"{appointment.location.name}, {appointment.room.name}"))
    event.add("sequence", sequence)
    cancelled = appointment.status == Appointment.Status.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def _sequence(appointment: Appointment) -> int:
    """Increases whenever the booking changes, so calendar apps replace their copy (RFC 5545 3.8.7.4)."""
    return max(0, int((appointment.updated_at - appointment.created_at).total_seconds())) if appointment.updated_at else 0


def patient_ics(appointments: Iterable[Appointment], *, cancelled: bool = False) -> str:
    """The .ics a patient receives: their own appointments, with the clinic's address and phone."""
    calendar = _calendar("Mesoclinic appointments", method="CANCEL" if cancelled else "PUBLISH")
    stamp = timezone.now()
    for appointment in appointments:
        location = appointment.location
        what = appointment.get_kind_display()
        description = f"{what} at {location.name}. {location.address}".strip()
        if location.phone:
            description += f"\nTo change or cancel, call {location.phone}."
        calendar.add_component(
            _event(appointment, summary=f"{what} — {location.name}", description=description, stamp=stamp, sequence=_sequence(appointment))
        )
    calendar.add_missing_timezones()
    return calendar.to_ical().decode()


def practitioner_ics(appointments: Iterable[Appointment], *, name: str) -> str:
    """A practitioner's feed: each booking with the patient's initials, the room and the device."""
    calendar = _calendar(name)
    stamp = timezone.now()
    for appointment in appointments:
        patient = appointment.patient
        summary = f"{appointment.get_kind_display()} · {initials(patient.given_name, patient.family_name)}"
        details = [f"Room: {appointment.room.name}"]
        if appointment.device is not None:
            details.append(f"Device: {appointment.device.model} #{appointment.device.serial_number}")
        if appointment.numbing_minutes:
            details.append(f"Numbing: {appointment.numbing_minutes} min, procedure: {appointment.procedure_minutes} min")
        if appointment.protocol_key:
            details.append(f"Protocol: {appointment.protocol_key}")
        calendar.add_component(
            _event(appointment, summary=summary, description="\n".join(details), stamp=stamp, sequence=_sequence(appointment))
        )
    calendar.add_missing_timezones()
    return calendar.to_ical().decode()

"""Fixtures for course tests: the default catalog, a London clinic open every day 08:00–20:00 with
a doctor and a nurse qualified for the hair protocol, two rooms, a Dermapen and a screened patient;
the clock frozen on Monday 2 March 2026, 07:00 in London (British Summer Time starts on 29 March)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from mesoclinic.accounts.roles import Role
from mesoclinic.core import audit
from mesoclinic.core.models import Device, Location, Room
from mesoclinic.messaging.senders import LocmemSmsBackend
from mesoclinic.patients.models import Patient

from .factories import DeviceFactory, PatientFactory, RoomFactory, hair, load_catalog, open_every_day, practitioner_at, qualify, screen

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=LONDON)


def at(day: int, hour: int, minute: int = 0, month: int = 3, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


@dataclass
class Clinic:
    location: Location
    doctor: object
    nurse: object
    receptionist: object
    room: Room
    room2: Room
    dermapen: Device
    patient: Patient
    doctor_ctx: audit.AuditContext
    ctx: audit.AuditContext


@pytest.fixture(autouse=True)
def _sms_in_memory(settings):
    settings.MESOCLINIC_SMS_BACKEND = "locmem"
    LocmemSmsBackend.reset()


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(location, receptionist, frozen) -> Clinic:
    load_catalog()
    open_every_day(location)
    doctor = practitioner_at(location, role=Role.DOCTOR, first_name="Daniela", last_name="Ortega")
    nurse = practitioner_at(location, first_name="Nadia", last_name="Brooks")
    qualify(hair(), doctor, nurse)
    patient = PatientFactory(location=location, given_name="Amelia", family_name="Hart")
    screen(doctor, patient)
    return Clinic(
        location=location,
        doctor=doctor,
        nurse=nurse,
        receptionist=receptionist,
        room=RoomFactory(location=location, name="Room A"),
        room2=RoomFactory(location=location, name="Room B"),
        dermapen=DeviceFactory(location=location, serial_number="DP-TEST-1"),
        patient=patient,
        doctor_ctx=audit.AuditContext(actor=doctor, path="/test"),
        ctx=audit.AuditContext(actor=receptionist, path="/test"),
    )

"""Fixtures for the session chart: the default catalog, a London clinic open every day with a doctor,
a nurse, a Dermapen and a screened patient, stock of the hair cocktail, and a checked-in appointment
today at 10:00 — with the clock frozen on Tuesday 10 March 2026, 09:55 in London."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from mesoclinic.accounts.roles import Role
from mesoclinic.catalog.models import Protocol
from mesoclinic.core.models import Device, Location, Room
from mesoclinic.courses.tests.factories import load_catalog, qualify, screen
from mesoclinic.inventory.models import Lot
from mesoclinic.messaging.senders import LocmemSmsBackend
from mesoclinic.patients.models import Patient
from mesoclinic.procedures import services
from mesoclinic.procedures.models import ProcedureRecord
from mesoclinic.scheduling.models import Appointment
from mesoclinic.scheduling.tests.factories import (
    AppointmentFactory,
    DeviceFactory,
    PatientFactory,
    RoomFactory,
    open_every_day,
    practitioner_at,
)

from .factories import cartridge_lot, ctx_of, make_lot, product

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 10, 9, 55, tzinfo=LONDON)
TEN = NOW + timedelta(minutes=5)  # the default appointment: 10:00 today


@dataclass
class Clinic:
    location: Location
    doctor: object
    nurse: object
    receptionist: object
    room: Room
    dermapen: Device
    patient: Patient
    lot: Lot  # hair cocktail, 10 ml, expires later
    soon_lot: Lot  # hair cocktail, 10 ml, expires sooner: offered first
    medicine_lot: Lot  # hair-loss medicine solution, 10 ml
    cartridge_lot: Lot

    @property
    def nurse_ctx(self):
        return ctx_of(self.nurse)

    @property
    def doctor_ctx(self):
        return ctx_of(self.doctor)

    def appointment(
        self, *, at: datetime | None = None, status: str = Appointment.Status.CHECKED_IN, protocol_key: str = "hair_cocktail", **kwargs
    ) -> Appointment:
        starts = at or TEN
        return AppointmentFactory(
            location=self.location,
            patient=kwargs.pop("patient", self.patient),
            practitioner=self.nurse,
            room=self.room,
            device=self.dermapen,
            starts_at=starts,
            numbing_minutes=30,
            procedure_minutes=30,
            protocol_key=protocol_key,
            status=status,
            **kwargs,
        )

    def record(self, **kwargs) -> ProcedureRecord:
        return services.open_procedure(ctx=self.nurse_ctx, appointment=self.appointment(**kwargs))


@pytest.fixture(autouse=True)
def _sms_in_memory(settings):
    settings.MESOCLINIC_SMS_BACKEND = "locmem"
    LocmemSmsBackend.reset()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(location, receptionist, clock) -> Clinic:
    load_catalog()
    open_every_day(location)
    doctor = practitioner_at(location, role=Role.DOCTOR, first_name="Daniela", last_name="Ortega")
    nurse = practitioner_at(location, first_name="Nadia", last_name="Brooks")
    for protocol in Protocol.objects.filter(key__in=["hair_cocktail", "hair_prp", "lipolysis_chin"]):
        qualify(protocol, doctor, nurse)
    patient = PatientFactory(location=location, given_name="Amelia", family_name="Hart")
    screen(doctor, patient)
    today = NOW.date()
    return Clinic(
        location=location,
        doctor=doctor,
        nurse=nurse,
        receptionist=receptionist,
        room=RoomFactory(location=location, name="Room A"),
        dermapen=DeviceFactory(location=location, serial_number="DP-TEST-1"),
        patient=patient,
        lot=make_lot(location, product=product(), quantity="10", lot_number="HC-LATE", expires_on=today + timedelta(days=300)),
        soon_lot=make_lot(location, product=product(), quantity="10", lot_number="HC-SOON", expires_on=today + timedelta(days=40)),
        medicine_lot=make_lot(location, product=product("hair_loss_medicine_solution"), quantity="10", lot_number="MED-1"),
        cartridge_lot=cartridge_lot(location, lot_number="CART-1"),
    )

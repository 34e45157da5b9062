from __future__ import annotations

from datetime import time, timedelta

import factory

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core.models import OpeningHours
from mesoclinic.core.tests.factories import DeviceFactory, LocationFactory, RoomFactory
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling.models import Appointment, WorkingHours


def open_every_day(location, opens=time(8, 0), closes=time(20, 0)) -> None:
    OpeningHours.objects.bulk_create([OpeningHours(location=location, weekday=day, opens_at=opens, closes_at=closes) for day in range(7)])


def works_every_day(user, location, starts=time(8, 0), ends=time(20, 0)) -> None:
    WorkingHours.objects.bulk_create(
        [WorkingHours(user=user, location=location, weekday=day, starts_at=starts, ends_at=ends) for day in range(7)]
    )


def practitioner_at(location, role=Role.NURSE, **kwargs):
    user = UserFactory(role=role, locations=[location], **kwargs)
    works_every_day(user, location)
    return user


class AppointmentFactory(factory.django.DjangoModelFactory):
    """An appointment written directly (no rules, no reminders): for calendars and fixtures."""

    class Meta:
        model = Appointment

    location = factory.SubFactory(LocationFactory)
    patient = factory.SubFactory(PatientFactory, location=factory.SelfAttribute("..location"))
    practitioner = factory.SubFactory(UserFactory, role=Role.NURSE)
    room = factory.SubFactory(RoomFactory, location=factory.SelfAttribute("..location"))
    device = None
    kind = Appointment.Kind.TREATMENT
    numbing_minutes = 0
    procedure_minutes = 30
    resource_starts_at = factory.LazyAttribute(lambda a: a.starts_at)
    ends_at = factory.LazyAttribute(lambda a: a.starts_at + timedelta(minutes=a.numbing_minutes + a.procedure_minutes))


__all__ = ["AppointmentFactory", "DeviceFactory", "PatientFactory", "RoomFactory", "open_every_day", "practitioner_at", "works_every_day"]

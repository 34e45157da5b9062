from __future__ import annotations

from datetime import time, timedelta

import pytest

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.tests.factories import DeviceFactory, LocationFactory, RoomFactory
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling import services
from mesoclinic.scheduling.models import Appointment, Closure, SchedulingPolicy, TimeOff, WorkingHours

from .conftest import at


def book(clinic, **overrides):
    arguments = {
        "ctx": clinic.ctx,
        "location": clinic.location,
        "patient": clinic.patient,
        "practitioner": clinic.nurse,
        "room": clinic.room,
        "device": None,
        "starts_at": at(2, 10),
        "kind": Appointment.Kind.TREATMENT,
        "numbing_minutes": 30,
        "procedure_minutes": 30,
    }
    arguments.update(overrides)
    return services.book_appointment(**arguments)


def test_it_books_an_appointment_with_the_patient_time_and_an_audit_row(clinic):
    appointment = book(clinic, device=clinic.dermapen, protocol_key="hair-v1", notes="first session")
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.starts_at == at(2, 10)
    assert appointment.resource_starts_at == at(2, 10)
    assert appointment.ends_at == at(2, 11)
    assert appointment.booked_by == clinic.ctx.actor
    event = AuditEvent.objects.get(object_type="appointment", object_id=str(appointment.pk))
    assert event.action == AuditEvent.Action.CREATE
    assert event.patient_id == clinic.patient.pk


def test_numbing_in_the_waiting_area_holds_the_room_only_after_the_numbing_time(clinic):
    SchedulingPolicy.objects.create(location=clinic.location, numbing_in_waiting_area=True)
    first = book(clinic, starts_at=at(2, 10))
    assert first.resource_starts_at == at(2, 10, 30)
    # Another patient can use the same room and practitioner while the first one's cream works.
    other = PatientFactory(location=clinic.location)
    book(clinic, patient=other, starts_at=at(2, 9, 30), numbing_minutes=0, procedure_minutes=60)
    assert Appointment.objects.count() == 2


def test_back_to_back_bookings_are_fine(clinic):
    book(clinic, starts_at=at(2, 10))
    other = PatientFactory(location=clinic.location)
    book(clinic, patient=other, starts_at=at(2, 11))
    assert Appointment.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "resource"),
    [
        ({"room": "room2"}, "practitioner"),
        ({"practitioner": "doctor"}, "room"),
        ({"practitioner": "doctor", "room": "room2", "patient": "other"}, "device"),
        ({"practitioner": "doctor", "room": "room2", "device": None}, "patient"),
    ],
)
def test_it_refuses_an_overlapping_booking_naming_the_busy_resource(clinic, change, resource):
    book(clinic, device=clinic.dermapen)
    arguments = {"starts_at": at(2, 10, 30), "device": clinic.dermapen}
    for name, value in change.items():
        if value == "other":
            arguments[name] = PatientFactory(location=clinic.location)
        else:
            arguments[name] = getattr(clinic, value) if value else None
    with pytest.raises(services.SlotUnavailable) as refused:
        book(clinic, **arguments)
    assert refused.value.resource == resource
    assert "not free" in refused.value.message
    assert Appointment.objects.count() == 1


def test_a_conflict_offers_the_next_free_slots(clinic):
    book(clinic)
    other = PatientFactory(location=clinic.location)
    with pytest.raises(services.SlotUnavailable) as refused:
        book(clinic, patient=other, room=clinic.room2)
    alternatives = refused.value.alternatives
    assert alternatives
    assert all(slot.starts_at >= at(2, 10) for slot in alternatives)
    assert alternatives == sorted(alternatives, key=lambda slot: slot.starts_at)
    # The same practitioner is free again at 11:00; the doctor is free at 10:00 already.
    assert (at(2, 11), clinic.nurse.pk) in {(slot.starts_at, slot.practitioner_id) for slot in alternatives}
    assert (at(2, 10), clinic.doctor.pk) in {(slot.starts_at, slot.practitioner_id) for slot in alternatives}


def test_a_cancelled_booking_frees_its_time(clinic):
    first = book(clinic)
    services.cancel_appointment(ctx=clinic.ctx, appointment=first, reason="patient unwell")
    book(clinic)
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED).count() == 1


def test_it_refuses_a_time_in_the_past(clinic):
    with pytest.raises(services.BookingRefused, match="in the past"):
        book(clinic, starts_at=at(1, 10))


def test_it_refuses_outside_opening_hours(clinic):
    with pytest.raises(services.BookingRefused, match="open 08:00–20:00 on Mondays") as refused:
        book(clinic, starts_at=at(2, 19, 30))
    assert refused.value.code == "closed"


def test_it_refuses_a_day_the_location_is_closed(clinic):
    Closure.objects.create(location=clinic.location, starts_at=at(2, 0), ends_at=at(3, 0), reason="Staff training")
    with pytest.raises(services.BookingRefused, match="Staff training"):
        book(clinic)


def test_it_refuses_outside_the_practitioners_working_hours(clinic):
    WorkingHours.objects.filter(user=clinic.nurse, weekday=0).update(starts_at=time(12, 0))
    with pytest.raises(services.BookingRefused, match="works 12:00–20:00") as refused:
        book(clinic)
    assert refused.value.code == "not_working"


def test_it_refuses_during_the_practitioners_time_off(clinic):
    TimeOff.objects.create(user=clinic.nurse, starts_at=at(2, 10, 45), ends_at=at(2, 12), reason="dentist")
    with pytest.raises(services.BookingRefused, match="time off"):
        book(clinic)


def test_it_refuses_an_out_of_service_device(clinic):
    clinic.dermapen.in_service = False
    clinic.dermapen.save()
    with pytest.raises(services.BookingRefused, match="out of service"):
        book(clinic, device=clinic.dermapen)


def test_it_refuses_a_room_or_device_of_another_location(clinic):
    elsewhere = LocationFactory()
    with pytest.raises(services.BookingRefused, match="another location"):
        book(clinic, room=RoomFactory(location=elsewhere))
    with pytest.raises(services.BookingRefused, match="another location"):
        book(clinic, device=DeviceFactory(location=elsewhere))


def test_it_refuses_a_practitioner_who_does_not_work_at_the_location(clinic):
    outsider = UserFactory(role=Role.NURSE, locations=[LocationFactory()])
    with pytest.raises(services.BookingRefused, match="does not work at"):
        book(clinic, practitioner=outsider)


def test_it_refuses_a_receptionist_as_practitioner(clinic):
    with pytest.raises(services.BookingRefused, match="cannot be booked as a practitioner"):
        book(clinic, practitioner=clinic.ctx.actor)


@pytest.mark.parametrize(("numbing", "procedure"), [(-1, 30), (121, 30), (0, 0), (0, 241)])
def test_it_refuses_impossible_durations(clinic, numbing, procedure):
    with pytest.raises(services.BookingRefused, match="minutes"):
        book(clinic, numbing_minutes=numbing, procedure_minutes=procedure)
    assert not Appointment.objects.exists()


def test_a_booking_may_end_exactly_at_closing_time(clinic):
    appointment = book(clinic, starts_at=at(2, 19))
    assert appointment.ends_at == at(2, 20)


def test_the_rules_run_before_anything_is_written(clinic):
    with pytest.raises(services.BookingRefused):
        book(clinic, starts_at=at(2, 19, 30))
    assert not AuditEvent.objects.filter(object_type="appointment").exists()
    assert not Appointment.objects.exists()


def test_a_booking_longer_than_a_day_is_refused(clinic):
    with pytest.raises(services.BookingRefused):
        book(clinic, starts_at=at(2, 10) + timedelta(hours=9), numbing_minutes=120, procedure_minutes=240)

from __future__ import annotations

from datetime import date, timedelta
from datetime import time as clock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mesoclinic.core.tests.factories import DeviceFactory, RoomFactory
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling import selectors
from mesoclinic.scheduling.models import Appointment, Closure, SchedulingPolicy, TimeOff
from mesoclinic.scheduling.slots import Busy, Durations

from .conftest import at
from .factories import AppointmentFactory, practitioner_at

TREATMENT = Durations(30, 30)


def test_busy_intervals_are_half_open():
    busy = Busy([(10, 20), (30, 40), (15, 25)])
    assert (busy.starts, busy.ends) == ([10, 30], [25, 40])
    assert not busy.overlaps(0, 10) and not busy.overlaps(25, 30) and not busy.overlaps(40, 50)
    assert busy.overlaps(24, 26) and busy.overlaps(0, 100) and busy.overlaps(31, 32)


def test_it_finds_the_first_free_slot_in_a_window(clinic):
    AppointmentFactory(location=clinic.location, practitioner=clinic.nurse, room=clinic.room, starts_at=at(3, 8), procedure_minutes=60)
    AppointmentFactory(location=clinic.location, practitioner=clinic.doctor, room=clinic.room2, starts_at=at(3, 8), procedure_minutes=90)
    slot = selectors.find_slot(
        location=clinic.location, earliest_on=date(2026, 3, 3), latest_on=date(2026, 3, 5), numbing_minutes=30, procedure_minutes=30
    )
    assert slot.starts_at == at(3, 9)
    assert (slot.practitioner_id, slot.room_id) == (clinic.nurse.pk, clinic.room.pk)


def test_the_preferred_practitioner_is_chosen_anywhere_in_the_window_before_anyone_else(clinic):
    AppointmentFactory(location=clinic.location, practitioner=clinic.doctor, room=clinic.room, starts_at=at(3, 8), procedure_minutes=240)
    TimeOff.objects.create(user=clinic.doctor, starts_at=at(3, 12), ends_at=at(4, 0))
    slot = selectors.find_slot(
        location=clinic.location,
        earliest_on=date(2026, 3, 3),
        latest_on=date(2026, 3, 5),
        numbing_minutes=30,
        procedure_minutes=30,
        preferred_practitioner_id=clinic.doctor.pk,
    )
    assert (slot.practitioner_id, slot.starts_at) == (clinic.doctor.pk, at(4, 8))


def test_only_qualified_practitioners_a_free_device_and_the_patients_own_time_count(clinic):
    AppointmentFactory(
        location=clinic.location,
        patient=clinic.patient,
        practitioner=clinic.doctor,
        room=clinic.room2,
        starts_at=at(3, 8),
        procedure_minutes=60,
    )
    AppointmentFactory(
        location=clinic.location,
        practitioner=clinic.doctor,
        room=clinic.room2,
        device=clinic.dermapen,
        starts_at=at(3, 9),
        procedure_minutes=60,
    )
    slot = selectors.find_slot(
        location=clinic.location,
        earliest_on=date(2026, 3, 3),
        latest_on=date(2026, 3, 3),
        numbing_minutes=30,
        procedure_minutes=30,
        practitioner_ids=[clinic.nurse.pk],
        needs_device=True,
        patient_id=clinic.patient.pk,
    )
    assert slot.practitioner_id == clinic.nurse.pk
    assert slot.device_id == clinic.dermapen.pk
    assert slot.starts_at == at(3, 10)  # the patient is busy until 09:00 and the only Dermapen until 10:00


def test_out_of_service_devices_rooms_elsewhere_closures_and_hours_are_respected(clinic):
    clinic.dermapen.in_service = False
    clinic.dermapen.save()
    assert (
        selectors.find_slot(
            location=clinic.location,
            earliest_on=date(2026, 3, 3),
            latest_on=date(2026, 3, 3),
            numbing_minutes=0,
            procedure_minutes=30,
            needs_device=True,
        )
        is None
    )
    Closure.objects.create(location=clinic.location, starts_at=at(3, 0), ends_at=at(4, 12), reason="works")
    slot = selectors.find_slot(
        location=clinic.location, earliest_on=date(2026, 3, 3), latest_on=date(2026, 3, 6), numbing_minutes=0, procedure_minutes=30
    )
    assert slot.starts_at == at(4, 12)


def test_numbing_in_the_waiting_area_frees_the_room_for_the_first_half_hour(clinic):
    SchedulingPolicy.objects.create(location=clinic.location, numbing_in_waiting_area=True)
    for room, practitioner in ((clinic.room, clinic.nurse), (clinic.room2, clinic.doctor)):
        AppointmentFactory(location=clinic.location, practitioner=practitioner, room=room, starts_at=at(3, 8), procedure_minutes=30)
    slot = selectors.find_slot(
        location=clinic.location, earliest_on=date(2026, 3, 3), latest_on=date(2026, 3, 3), numbing_minutes=30, procedure_minutes=30
    )
    assert slot.starts_at == at(3, 8)  # the patient numbs 08:00–08:30 while the rooms finish
    assert slot.resource_starts_at == at(3, 8, 30)


def test_free_slots_lists_every_free_start_on_the_slot_grid(clinic):
    SchedulingPolicy.objects.create(location=clinic.location, slot_minutes=30)
    slots = selectors.free_slots(
        location=clinic.location, on=date(2026, 3, 3), numbing_minutes=0, procedure_minutes=60, practitioner=clinic.nurse
    )
    assert [s.starts_at for s in slots][:3] == [at(3, 8), at(3, 8, 30), at(3, 9)]
    assert slots[-1].starts_at == at(3, 19)
    assert len(slots) == 23


def test_slots_in_the_past_are_never_offered(clinic, frozen):
    frozen.move_to(at(2, 10, 5))
    slots = selectors.free_slots(location=clinic.location, on=date(2026, 3, 2), numbing_minutes=0, procedure_minutes=30)
    assert slots[0].starts_at == at(2, 10, 15)


def test_a_plan_holds_each_proposed_slot_so_sessions_never_collide(clinic):
    finder = selectors.SlotFinder(location=clinic.location, patient_id=clinic.patient.pk, practitioner_ids=[clinic.nurse.pk])
    first = finder.find(earliest_on=date(2026, 3, 3), latest_on=date(2026, 3, 3), durations=TREATMENT)
    finder.hold(first)
    second = finder.find(earliest_on=date(2026, 3, 3), latest_on=date(2026, 3, 3), durations=TREATMENT)
    assert second.starts_at == first.ends_at


def test_the_finder_reads_a_constant_number_of_queries_whatever_the_bookings(clinic, django_assert_max_num_queries):
    for n in range(60):
        AppointmentFactory(
            location=clinic.location,
            practitioner=clinic.nurse if n % 2 else clinic.doctor,
            room=clinic.room if n % 2 else clinic.room2,
            starts_at=at(3 + n // 24, 8) + timedelta(minutes=30 * (n % 24 // 2)),
        )
    with django_assert_max_num_queries(13):  # 6 to set up, then 3 per chunk of days (first day, then the rest)
        finder = selectors.SlotFinder(location=clinic.location, patient_id=clinic.patient.pk)
        slot = finder.find(earliest_on=date(2026, 3, 3), latest_on=date(2026, 3, 9), durations=TREATMENT)
        finder.hold(slot)
        finder.find(earliest_on=date(2026, 3, 3), latest_on=date(2026, 3, 9), durations=TREATMENT)


@pytest.mark.parametrize("numbing", [0, 30])
def test_a_six_session_plan_at_a_busy_location_reads_a_few_queries_whatever_the_bookings(clinic, numbing):
    """20 practitioners, 10 rooms, 5 Dermapens, every day of the plan's windows heavily booked: the
    planner reads about one query per day it searches, never one per booking. Its speed in seconds
    is measured by `make bench` (docs/benchmarks.md), not here: a timed unit test flakes on a busy machine."""
    location = clinic.location
    practitioners = [clinic.nurse, clinic.doctor, *(practitioner_at(location) for _ in range(18))]
    rooms = [clinic.room, clinic.room2, *(RoomFactory(location=location) for _ in range(8))]
    devices = [clinic.dermapen, *(DeviceFactory(location=location) for _ in range(4))]
    patient = PatientFactory(location=location)
    others = [PatientFactory(location=location) for _ in range(200)]
    rows = []
    for week in range(6):
        for day in range(3):
            start_of_day = at(3, 8) + timedelta(days=28 * week + day)
            for n in range(10):  # ten rooms run back to back 08:00–18:00 with a practitioner each
                for slot in range(20):
                    rows.append(
                        Appointment(
                            location=location,
                            patient=patient if (n, slot) == (0, 0) else others[n * 20 + slot],
                            practitioner=practitioners[n],
                            room=rooms[n],
                            device=devices[n] if n < 5 else None,
                            starts_at=start_of_day + timedelta(minutes=30 * slot),
                            resource_starts_at=start_of_day + timedelta(minutes=30 * slot),
                            ends_at=start_of_day + timedelta(minutes=30 * slot + 30),
                            procedure_minutes=30,
                        )
                    )
    Appointment.objects.bulk_create(rows, batch_size=2000)

    queries = CaptureQueriesContext(connection)
    queries.__enter__()
    finder = selectors.SlotFinder(location=location, patient_id=patient.pk, needs_device=True)
    previous = date(2026, 3, 3)
    plan = []
    for _ in range(6):
        slot = finder.find(
            earliest_on=previous, latest_on=previous + timedelta(days=7), durations=Durations(numbing, 45), from_time=clock(9)
        )
        finder.hold(slot)
        plan.append(slot)
        previous = finder.location.local(slot.starts_at).date() + timedelta(days=28)
    queries.__exit__(None, None, None)
    assert len({s.starts_at for s in plan}) == 6
    assert all(s.device_id is not None for s in plan)
    assert len(queries.captured_queries) <= 14, [q["sql"][:80] for q in queries.captured_queries]


def test_the_compiled_busy_read_matches_the_orm_query_for_each_day(clinic):
    """The per-day read is compiled once and only its times are swapped: it must return exactly what
    the ORM query returns for every day it is used on, on this database."""
    kept = AppointmentFactory(location=clinic.location, practitioner=clinic.nurse, room=clinic.room, starts_at=at(3, 9))
    AppointmentFactory(location=clinic.location, practitioner=clinic.doctor, room=clinic.room2, starts_at=at(4, 23, 50))  # ends next day
    AppointmentFactory(location=clinic.location, practitioner=clinic.doctor, room=clinic.room2, starts_at=at(5, 10))
    excluded = AppointmentFactory(location=clinic.location, practitioner=clinic.doctor, room=clinic.room, starts_at=at(5, 12))
    finder = selectors.SlotFinder(location=clinic.location, patient_id=clinic.patient.pk, exclude_appointment_ids=[excluded.pk])
    seen = set()
    for day in (date(2026, 3, 3), date(2026, 3, 5), date(2026, 3, 4)):
        start, end = clinic.location.start_of_day(day), clinic.location.start_of_day(day + timedelta(days=1))
        compiled = sorted(finder._busy_rows(start, end))
        assert finder._busy_sql is not None  # the shortcut, not the fallback
        assert compiled == sorted(finder._busy_query(read_from=start - selectors.MAX_SPAN, end=end, start=start))
        seen |= {row[0] for row in compiled}
    assert kept.pk in seen and excluded.pk not in seen and len(seen) == 3

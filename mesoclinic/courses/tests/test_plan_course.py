from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mesoclinic.accounts.roles import Role
from mesoclinic.courses.models import Qualification
from mesoclinic.courses.planner import FIRST_WINDOW_DAYS, CoursePlanner, plan_course
from mesoclinic.scheduling.models import Appointment, SchedulingPolicy

from .conftest import LONDON, at
from .factories import AppointmentFactory, PatientFactory, RoomFactory, practitioner_at, prescribe_hair

pytestmark = pytest.mark.django_db


def _local(slot):
    return slot.starts_at.astimezone(LONDON)


def test_the_planner_proposes_every_session_inside_its_window_with_free_resources_and_a_dermapen(clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=6, interval=(21, 28))
    # The doctor and both rooms are busy on the first morning; the nurse is away that morning.
    for room, who in ((clinic.room, clinic.doctor), (clinic.room2, clinic.nurse)):
        AppointmentFactory(location=clinic.location, practitioner=who, room=room, starts_at=at(3, 8), procedure_minutes=180)

    rows = plan_course(course=course, start_on=date(2026, 3, 3))

    assert [row.number for row in rows] == [1, 2, 3, 4, 5, 6]
    previous = None
    for row in rows:
        assert row.bookable, row.problem
        day = _local(row.slot).date()
        assert row.window_opens_on <= day <= row.window_closes_on
        if previous is None:
            assert (row.window_opens_on, row.window_closes_on) == (
                date(2026, 3, 3),
                date(2026, 3, 3) + timedelta(days=FIRST_WINDOW_DAYS - 1),
            )
        else:
            assert (row.window_opens_on, row.window_closes_on) == (previous + timedelta(days=21), previous + timedelta(days=28))
        assert row.slot.practitioner_id in {clinic.doctor.pk, clinic.nurse.pk}
        assert row.slot.room_id in {clinic.room.pk, clinic.room2.pk}
        assert row.slot.device_id == clinic.dermapen.pk
        assert row.slot.ends_at - row.slot.starts_at == timedelta(minutes=60)  # 30 numbing + 30 procedure
        previous = day
    assert _local(rows[0].slot) == at(3, 11)  # the first free time after the busy morning
    assert Appointment.objects.count() == 2  # planning books nothing


def test_no_dermapen_is_booked_for_a_direct_injection_course(clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, dermapen=False)

    rows = plan_course(course=course, start_on=date(2026, 3, 3))

    assert all(row.slot.device_id is None for row in rows)


def test_without_a_free_in_service_dermapen_nothing_is_proposed(clinic):
    clinic.dermapen.in_service = False
    clinic.dermapen.save()
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)

    rows = plan_course(course=course, start_on=date(2026, 3, 3))

    assert all(row.slot is None for row in rows)
    assert "Dermapen" in rows[0].problem


def test_it_proposes_only_qualified_practitioners(clinic):
    Qualification.objects.filter(practitioner=clinic.doctor).delete()
    course = prescribe_hair(clinic.doctor, clinic.patient)

    rows = plan_course(course=course, start_on=date(2026, 3, 3))

    assert {row.slot.practitioner_id for row in rows} == {clinic.nurse.pk}


def test_it_says_so_when_nobody_is_qualified(clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient)
    Qualification.objects.all().delete()

    rows = plan_course(course=course, start_on=date(2026, 3, 3))

    assert all(not row.bookable for row in rows)
    assert "Nobody at" in rows[0].problem and "qualified" in rows[0].problem


def test_it_prefers_the_preferred_practitioner(clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, preferred=clinic.nurse)

    rows = plan_course(course=course, start_on=date(2026, 3, 3))

    assert {row.slot.practitioner_id for row in rows} == {clinic.nurse.pk}


def test_a_course_crossing_a_daylight_saving_change_keeps_its_local_time_and_day_windows(clinic):
    # British Summer Time starts on Sunday 29 March 2026: 10:30 GMT is 10:30 UTC, 10:30 BST is 09:30 UTC.
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4, interval=(28, 28))

    rows = plan_course(course=course, start_on=date(2026, 3, 3), at_time=time(10, 30))

    days = [_local(row.slot).date() for row in rows]
    assert days == [date(2026, 3, 3), date(2026, 3, 31), date(2026, 4, 28), date(2026, 5, 26)]
    assert {_local(row.slot).time() for row in rows} == {time(10, 30)}
    assert [row.slot.starts_at.utcoffset() for row in rows] == [timedelta(0)] * 4
    assert rows[0].slot.starts_at.astimezone(LONDON).utcoffset() == timedelta(0)
    assert rows[1].slot.starts_at.astimezone(LONDON).utcoffset() == timedelta(hours=1)
    assert [(row.window_opens_on, row.window_closes_on) for row in rows[1:]] == [(day, day) for day in days[1:]]


def test_it_keeps_the_time_and_the_practitioner_of_the_first_session_when_free(clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4, interval=(21, 28))
    # Day 21 after the first session is busy at 10:30 for everybody: the same weekday a week later is free then.
    AppointmentFactory(location=clinic.location, practitioner=clinic.doctor, room=clinic.room, starts_at=at(24, 10, 30))
    AppointmentFactory(location=clinic.location, practitioner=clinic.nurse, room=clinic.room2, starts_at=at(24, 10, 30))

    rows = plan_course(course=course, start_on=date(2026, 3, 3), at_time=time(10, 30))

    assert [_local(row.slot).time() for row in rows] == [time(10, 30)] * 4
    assert _local(rows[1].slot).date() == date(2026, 3, 31)
    assert len({row.slot.practitioner_id for row in rows}) == 1


def test_the_numbing_wait_in_the_waiting_area_frees_the_room_for_the_first_half_hour(clinic):
    SchedulingPolicy.objects.create(location=clinic.location, numbing_in_waiting_area=True)
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)

    rows = plan_course(course=course, start_on=date(2026, 3, 3))

    for row in rows:
        assert row.slot.resource_starts_at - row.slot.starts_at == timedelta(minutes=30)
        assert row.slot.ends_at - row.slot.starts_at == timedelta(minutes=60)


def test_the_sessions_of_one_plan_never_collide_and_avoid_the_patients_other_bookings(clinic):
    # A one-day interval puts the sessions on consecutive days; the patient is busy on day 4 all day.
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    course.interval_min_days = course.interval_max_days = 1  # bypass the protocol's range: planner only
    AppointmentFactory(
        location=clinic.location,
        patient=clinic.patient,
        practitioner=clinic.nurse,
        room=clinic.room2,
        starts_at=at(4, 8),
        procedure_minutes=720,
    )

    rows = CoursePlanner(course).plan(start_on=date(2026, 3, 3))

    assert _local(rows[0].slot).date() == date(2026, 3, 3)
    assert rows[1].slot is None  # day 4: the patient is not free
    assert "No time in this window" in rows[1].problem


def _bookings(location, count, practitioner, room, first=0):
    patients = [PatientFactory(location=location) for _ in range(5)]
    start = at(3, 8)
    rows = []
    for n in range(first, first + count):
        starts = start + timedelta(days=n % 300, hours=(n // 300) * 2)
        rows.append(
            Appointment(
                location=location,
                patient=patients[n % 5],
                practitioner=practitioner,
                room=room,
                starts_at=starts,
                resource_starts_at=starts,
                ends_at=starts + timedelta(minutes=30),
                procedure_minutes=30,
            )
        )
    Appointment.objects.bulk_create(rows)


def _queries_for_plan(course):
    with CaptureQueriesContext(connection) as captured:
        rows = plan_course(course=course, start_on=date(2026, 3, 3))
    assert all(row.bookable for row in rows)
    return len(captured)


def test_the_planner_runs_the_same_number_of_queries_with_10_or_1000_existing_bookings(clinic):
    other = practitioner_at(clinic.location, role=Role.NURSE)
    busy_room = RoomFactory(location=clinic.location, name="Room C")
    course = prescribe_hair(clinic.doctor, clinic.patient)
    _bookings(clinic.location, 10, other, busy_room)
    few = _queries_for_plan(course)

    _bookings(clinic.location, 990, other, busy_room, first=10)
    assert Appointment.objects.count() == 1000

    assert _queries_for_plan(course) == few
    assert few <= 30


def test_the_query_count_stays_bounded_when_whole_days_are_full(clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, interval=(21, 28))
    # The first week of session 1's window and the first three days of session 2's are fully booked.
    full = [date(2026, 3, d) for d in range(3, 10)] + [date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 2)]
    for day in full:
        for who, room in ((clinic.doctor, clinic.room), (clinic.nurse, clinic.room2)):
            AppointmentFactory(
                location=clinic.location, practitioner=who, room=room, starts_at=at(day.day, 8, month=day.month), procedure_minutes=720
            )

    with CaptureQueriesContext(connection) as captured:
        rows = plan_course(course=course, start_on=date(2026, 3, 3))

    # Session 2: 31 March (its window's first day, same weekday) is full, so the same weekday and time a week later.
    assert [_local(row.slot).date() for row in rows[:2]] == [date(2026, 3, 10), date(2026, 4, 7)]
    # Course data, the finder's set-up, then per session at most two one-day reads (same weekday) and the rest of its window.
    assert len(captured) <= 3 + 6 + 6 * 9

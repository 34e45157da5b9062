"""Whole-course bookings racing on PostgreSQL: real concurrent connections, all or nothing."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection

from mesoclinic.courses.models import Course, CourseSession
from mesoclinic.courses.planner import plan_course
from mesoclinic.courses.services import SessionTaken, book_course
from mesoclinic.scheduling.models import Appointment

from .factories import PatientFactory, prescribe_hair, screen

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 6


def test_overlapping_courses_for_one_practitioner_and_room_book_one_whole_course_and_nothing_else(clinic):
    # One qualified practitioner, one room, one Dermapen: every plan proposes the same six slots.
    from mesoclinic.courses.models import Qualification

    Qualification.objects.filter(practitioner=clinic.nurse).delete()
    clinic.room2.is_active = False
    clinic.room2.save()
    courses = []
    for n in range(CLIENTS):
        patient = clinic.patient if n == 0 else PatientFactory(location=clinic.location)
        if n:
            screen(clinic.doctor, patient)
        courses.append(prescribe_hair(clinic.doctor, patient, sessions=6, interval=(28, 28)))
    plans = [plan_course(course=course, start_on=date(2026, 3, 3)) for course in courses]
    assert len({tuple(row.slot.starts_at for row in rows) for rows in plans}) == 1

    barrier = threading.Barrier(CLIENTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def book(course, rows):
        try:
            barrier.wait(timeout=10)
            try:
                book_course(ctx=clinic.ctx, course=course, proposals=rows)
                result = "booked"
            except SessionTaken as taken:
                result = f"taken:{taken.number}"
            with lock:
                outcomes.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(course, rows)) for course, rows in zip(courses, plans, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == CLIENTS
    assert outcomes.count("booked") == 1
    assert all(outcome.startswith("taken:") for outcome in outcomes if outcome != "booked")
    winner = Course.objects.get(status=Course.Status.ACTIVE)
    assert Appointment.objects.count() == 6
    assert set(Appointment.objects.values_list("patient_id", flat=True)) == {winner.patient_id}
    assert CourseSession.objects.filter(appointment__isnull=False).count() == 6
    assert not CourseSession.objects.filter(appointment__isnull=False).exclude(course=winner).exists()
    assert Course.objects.filter(status=Course.Status.PLANNED).count() == CLIENTS - 1


def test_two_courses_that_share_only_one_session_slot_still_book_all_or_nothing(clinic):
    # Course A's session 4 falls on course B's session 1 slot: whichever commits first, the other books nothing.
    from mesoclinic.courses.models import Qualification

    Qualification.objects.filter(practitioner=clinic.nurse).delete()
    clinic.room2.is_active = False
    clinic.room2.save()
    other = PatientFactory(location=clinic.location)
    screen(clinic.doctor, other)
    first = prescribe_hair(clinic.doctor, clinic.patient, sessions=6, interval=(28, 28))
    second = prescribe_hair(clinic.doctor, other, sessions=6, interval=(28, 28))
    rows_a = plan_course(course=first, start_on=date(2026, 3, 3))
    shared = rows_a[3].slot.starts_at.astimezone(clinic.location.zone)
    from datetime import time

    rows_b = plan_course(course=second, start_on=shared.date(), at_time=time(shared.hour, shared.minute))
    assert rows_b[0].slot.starts_at == rows_a[3].slot.starts_at

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def book(course, rows):
        try:
            barrier.wait(timeout=10)
            try:
                book_course(ctx=clinic.ctx, course=course, proposals=rows)
                outcomes.append(f"{course.pk}:booked")
            except SessionTaken as taken:
                outcomes.append(f"{course.pk}:taken:{taken.number}")
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=pair) for pair in ((first, rows_a), (second, rows_b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(o.split(":")[1] for o in outcomes) == ["booked", "taken"]
    winner = Course.objects.get(status=Course.Status.ACTIVE)
    assert Appointment.objects.count() == 6
    assert set(Appointment.objects.values_list("patient_id", flat=True)) == {winner.patient_id}

"""At check-in, a course session's screening is judged at the course's own areas (the courses hook)."""

from __future__ import annotations

from datetime import date, time

import pytest

from mesoclinic.courses.hooks import course_session_areas
from mesoclinic.courses.planner import plan_course
from mesoclinic.courses.services import book_course
from mesoclinic.scheduling import arrival

from .factories import AppointmentFactory, prescribe_hair, screen

pytestmark = pytest.mark.django_db


def test_a_course_session_is_checked_against_the_courses_areas(clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    book_course(ctx=clinic.ctx, course=course, proposals=plan_course(course=course, start_on=date(2026, 3, 3), at_time=time(10, 30)))
    session = course.sessions.select_related("appointment").get(number=1)
    screen(clinic.doctor, clinic.patient, infection_scalp=True)  # a new screening: the scalp may not be treated now

    assert course_session_areas(session.appointment) == ["scalp"]
    check = arrival.arrival_check(session.appointment)
    assert check.stops
    assert check.message.startswith(
        "Not eligible for “Hair meso — vitamin and amino-acid cocktail”: Active inflammation or infection of the scalp."
    )


def test_an_appointment_outside_a_course_has_no_course_areas(clinic):
    appointment = AppointmentFactory(
        location=clinic.location, patient=clinic.patient, starts_at=clinic.location.start_of_day(date(2026, 3, 4))
    )
    assert course_session_areas(appointment) is None

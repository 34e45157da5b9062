from __future__ import annotations

from datetime import date, timedelta

import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.courses.models import Course, CourseSession
from mesoclinic.courses.planner import CoursePlanner, plan_course
from mesoclinic.courses.services import CourseRefused, NotAllowed, NotEligible, SessionTaken, book_course, series_key_for
from mesoclinic.scheduling.models import Appointment

from .conftest import LONDON
from .factories import AppointmentFactory, prescribe_hair

pytestmark = pytest.mark.django_db


def _planned(clinic, **kwargs):
    course = prescribe_hair(clinic.doctor, clinic.patient, **kwargs)
    return course, plan_course(course=course, start_on=date(2026, 3, 3))


def test_it_books_every_session_in_one_step(clinic):
    course, rows = _planned(clinic, sessions=6, interval=(28, 28))

    appointments = book_course(ctx=clinic.ctx, course=course, proposals=rows)

    assert len(appointments) == 6
    course.refresh_from_db()
    assert course.status == Course.Status.ACTIVE
    sessions = list(course.sessions.select_related("appointment").order_by("number"))
    assert [s.appointment_id for s in sessions] == [a.pk for a in appointments]
    assert all(s.state == CourseSession.State.BOOKED for s in sessions)
    for session, row in zip(sessions, rows, strict=True):
        assert (session.window_opens_on, session.window_closes_on) == (row.window_opens_on, row.window_closes_on)
        appointment = session.appointment
        assert appointment.starts_at == row.slot.starts_at
        assert appointment.device_id == clinic.dermapen.pk
        assert appointment.protocol_key == "hair_cocktail"
        assert (appointment.numbing_minutes, appointment.procedure_minutes) == (30, 30)
        assert appointment.series_key == series_key_for(course)
        assert appointment.booked_by == clinic.receptionist
    event = AuditEvent.objects.get(object_type="course", action=AuditEvent.Action.UPDATE)
    assert event.detail["booked_sessions"] == [1, 2, 3, 4, 5, 6]
    assert AuditEvent.objects.filter(object_type="appointment", action=AuditEvent.Action.CREATE).count() == 6


def test_a_slot_taken_meanwhile_books_nothing_and_names_the_session(clinic):
    course, rows = _planned(clinic, sessions=6, interval=(28, 28))
    taken = rows[3].slot  # someone books session 4's practitioner at that time first
    AppointmentFactory(location=clinic.location, practitioner_id=taken.practitioner_id, room=clinic.room2, starts_at=taken.starts_at)

    with pytest.raises(SessionTaken) as conflict:
        book_course(ctx=clinic.ctx, course=course, proposals=rows)

    assert conflict.value.number == 4
    assert "Session 4's slot was just taken" in conflict.value.message
    assert Appointment.objects.filter(patient=clinic.patient).count() == 0
    assert not CourseSession.objects.filter(course=course, appointment__isnull=False).exists()
    course.refresh_from_db()
    assert course.status == Course.Status.PLANNED


def test_a_new_plan_after_a_conflict_avoids_the_taken_slot_and_books(clinic):
    course, rows = _planned(clinic, sessions=4, interval=(21, 28))
    taken = rows[1].slot
    for who, room in ((clinic.doctor, clinic.room), (clinic.nurse, clinic.room2)):
        AppointmentFactory(location=clinic.location, practitioner=who, room=room, starts_at=taken.starts_at)

    with pytest.raises(SessionTaken):
        book_course(ctx=clinic.ctx, course=course, proposals=rows)
    fresh = plan_course(course=course, start_on=date(2026, 3, 3))

    assert fresh[1].slot.starts_at != taken.starts_at
    assert len(book_course(ctx=clinic.ctx, course=course, proposals=fresh)) == 4


def test_it_refuses_a_proposal_with_a_problem(clinic):
    course, rows = _planned(clinic, sessions=4)
    rows[2].problem = "Outside this session's window."

    with pytest.raises(CourseRefused, match="Session 3"):
        book_course(ctx=clinic.ctx, course=course, proposals=rows)
    assert not Appointment.objects.exists()


def test_it_refuses_a_session_outside_its_window(clinic):
    course, _rows = _planned(clinic, sessions=4, interval=(28, 28))
    planner = CoursePlanner(course)
    wrong = planner.plan(start_on=date(2026, 3, 3))
    moved = wrong[1].slot.starts_at + timedelta(days=2)
    from dataclasses import replace

    wrong[1].slot = replace(wrong[1].slot, starts_at=moved, resource_starts_at=moved, ends_at=moved + timedelta(hours=1))

    with pytest.raises(CourseRefused, match="outside its window"):
        book_course(ctx=clinic.ctx, course=course, proposals=wrong)
    assert not Appointment.objects.exists()


def test_it_refuses_to_book_a_course_twice(clinic):
    course, rows = _planned(clinic, sessions=4)
    book_course(ctx=clinic.ctx, course=course, proposals=rows)

    with pytest.raises(CourseRefused, match="already booked"):
        book_course(ctx=clinic.ctx, course=course, proposals=rows)
    assert Appointment.objects.count() == 4


def test_it_refuses_when_the_screening_has_expired_since_the_prescription(clinic, frozen):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    frozen.shift(183 * 86400)
    rows = plan_course(course=course, start_on=date(2026, 9, 2))

    with pytest.raises(NotEligible):
        book_course(ctx=clinic.ctx, course=course, proposals=rows)
    assert not Appointment.objects.exists()


def test_a_role_without_booking_rights_cannot_book(clinic, manager):
    from mesoclinic.accounts.roles import Role
    from mesoclinic.accounts.tests.factories import UserFactory
    from mesoclinic.core import audit

    course, rows = _planned(clinic, sessions=4)
    director = UserFactory(role=Role.MEDICAL_DIRECTOR, locations=[clinic.location])

    with pytest.raises(NotAllowed):
        book_course(ctx=audit.AuditContext(actor=director), course=course, proposals=rows)


def test_the_booked_times_are_the_planned_local_times(clinic):
    course, rows = _planned(clinic, sessions=4, interval=(28, 28))

    appointments = book_course(ctx=clinic.ctx, course=course, proposals=rows)

    assert [a.starts_at.astimezone(LONDON).time() for a in appointments] == [r.slot.starts_at.astimezone(LONDON).time() for r in rows]

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from mesoclinic.courses.models import Course, CourseSession
from mesoclinic.courses.planner import Choice, CoursePlanner, plan_course
from mesoclinic.courses.selectors import get_course, progress_of, sessions_outside_windows
from mesoclinic.courses.services import book_course, move_sessions, recompute_windows
from mesoclinic.scheduling import selectors as scheduling_selectors
from mesoclinic.scheduling import services as scheduling

from .conftest import LONDON, at
from .factories import prescribe_hair

pytestmark = pytest.mark.django_db


def _booked(clinic, sessions=6, interval=(28, 28)):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=sessions, interval=interval)
    rows = plan_course(course=course, start_on=date(2026, 3, 3), at_time=time(10, 30))
    book_course(ctx=clinic.ctx, course=course, proposals=rows)
    return course


def _days(course):
    return [s.appointment.starts_at.astimezone(LONDON).date() for s in course.sessions.select_related("appointment").order_by("number")]


def _move(clinic, course, number, on, *, only=False):
    later = [s.number for s in course.sessions.all() if s.number > number]
    planner = CoursePlanner(course, moving=[number] if only else [number, *later])
    current = {s.number: s.appointment for s in planner.sessions}
    prefer = {
        n: Choice(
            on=current[n].starts_at.astimezone(LONDON).date(),
            at=current[n].starts_at.astimezone(LONDON).time(),
            practitioner_id=current[n].practitioner_id,
        )
        for n in later
    }
    rows = planner.plan(choices={number: Choice(on=on, at=time(10, 30), practitioner_id=current[number].practitioner_id)}, prefer=prefer)
    return rows, move_sessions(ctx=clinic.ctx, course=course, proposals=rows)


def test_moving_a_session_shifts_the_later_ones_back_into_their_windows(clinic):
    course = _booked(clinic, interval=(21, 28))
    assert _days(course) == [date(2026, 3, 3) + timedelta(days=21 * n) for n in range(6)]

    _rows, moved = _move(clinic, course, 2, date(2026, 3, 31))

    assert len(moved) == 5
    assert _days(course) == [date(2026, 3, 3)] + [date(2026, 3, 31) + timedelta(days=21 * n) for n in range(5)]
    assert sessions_outside_windows(course) == []
    windows = [(s.window_opens_on, s.window_closes_on) for s in course.sessions.order_by("number")][1:]
    assert windows[1:] == [(day, day + timedelta(days=7)) for day in _days(course)[2:]]


def test_a_session_cannot_move_outside_its_own_window(clinic):
    from mesoclinic.courses.services import CourseRefused

    course = _booked(clinic)  # every 28 days exactly

    with pytest.raises(CourseRefused, match="Outside this session's window"):
        _move(clinic, course, 2, date(2026, 4, 2))
    assert _days(course)[1] == date(2026, 3, 31)


def test_moving_only_one_session_leaves_the_next_one_outside_its_window(clinic):
    course = _booked(clinic, interval=(21, 28))

    _move(clinic, course, 2, date(2026, 3, 31), only=True)

    assert _days(course)[2] == date(2026, 4, 14)
    assert sessions_outside_windows(course) == [3]
    session3 = course.sessions.get(number=3)
    assert (session3.window_opens_on, session3.window_closes_on) == (date(2026, 4, 21), date(2026, 4, 28))


def test_a_later_session_that_is_still_inside_its_window_stays_where_it_is(clinic):
    course = _booked(clinic, sessions=4, interval=(21, 28))
    _move(clinic, course, 3, date(2026, 4, 21))  # session 3 at the end of its window (session 4 follows)
    before = _days(course)

    _rows, moved = _move(clinic, course, 2, date(2026, 3, 26))

    assert len(moved) == 1  # session 3 (21 April) is still inside its new window, 16–23 April
    assert _days(course)[2:] == before[2:]


def test_after_a_session_the_next_window_is_recomputed_from_its_actual_date(clinic, frozen):
    course = _booked(clinic, sessions=4)
    first = course.sessions.get(number=1).appointment
    # Moved on the scheduling calendar (not through the course) to two days later, then done.
    scheduling.reschedule_appointment(ctx=clinic.ctx, appointment=first, starts_at=at(5, 10, 30))
    frozen.move_to(at(5, 10, 0))
    first.refresh_from_db()
    scheduling.check_in(ctx=clinic.ctx, appointment=first)
    scheduling.start_appointment(ctx=clinic.ctx, appointment=first)
    scheduling.complete_appointment(ctx=clinic.ctx, appointment=first)

    outside = recompute_windows(course=course, ctx=clinic.ctx)

    session2 = course.sessions.get(number=2)
    assert (session2.window_opens_on, session2.window_closes_on) == (date(2026, 4, 2), date(2026, 4, 2))
    assert [s.number for s in outside] == [2]  # still booked on 31 March: offered a shift


def test_the_course_completes_when_every_session_is_done_and_progress_is_derived(clinic, frozen):
    course = _booked(clinic, sessions=4)
    for number in range(1, 5):
        appointment = course.sessions.get(number=number).appointment
        frozen.move_to(appointment.starts_at - timedelta(minutes=5))
        scheduling.check_in(ctx=clinic.ctx, appointment=appointment)
        scheduling.start_appointment(ctx=clinic.ctx, appointment=appointment)
        scheduling.complete_appointment(ctx=clinic.ctx, appointment=appointment)
        recompute_windows(course=course, ctx=clinic.ctx)
        progress = progress_of(get_course(scope=frozenset({clinic.location.pk}), pk=course.pk))
        assert progress.label == f"{number} of 4"

    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED
    assert all(s.state == CourseSession.State.DONE for s in course.sessions.select_related("appointment"))


def test_the_chart_hook_recomputes_the_course_of_a_completed_appointment(clinic, frozen):
    from mesoclinic.courses.services import after_session_completed

    course = _booked(clinic, sessions=4)
    first = course.sessions.get(number=1).appointment
    frozen.move_to(first.starts_at - timedelta(minutes=5))
    scheduling.check_in(ctx=clinic.ctx, appointment=first)
    scheduling.start_appointment(ctx=clinic.ctx, appointment=first)
    done = scheduling.complete_appointment(ctx=clinic.ctx, appointment=first)

    assert after_session_completed(ctx=clinic.ctx, appointment=done) == []
    assert progress_of(get_course(scope=frozenset({clinic.location.pk}), pk=course.pk)).label == "1 of 4"
    other = scheduling.book_appointment(
        ctx=clinic.ctx,
        location=clinic.location,
        patient=clinic.patient,
        practitioner=clinic.nurse,
        room=clinic.room2,
        device=None,
        starts_at=at(20, 9),
        kind="consultation",
        numbing_minutes=0,
        procedure_minutes=30,
    )
    assert after_session_completed(ctx=clinic.ctx, appointment=other) == []


def test_scheduling_is_told_the_course_windows_when_it_offers_a_shift(clinic):
    course = _booked(clinic, sessions=4)
    second = course.sessions.get(number=2).appointment
    previous = second.starts_at
    # Two days after its 28-day window: a doctor's override (decision 24).
    moved = scheduling.reschedule_appointment(
        ctx=clinic.doctor_ctx, appointment=second, starts_at=previous + timedelta(days=2), override_reason="Patient away that week."
    )

    proposals = scheduling_selectors.propose_series_shift(moved=moved, previous_starts_at=previous)

    assert [p.slot.starts_at.astimezone(LONDON).date() for p in proposals] == [date(2026, 4, 30), date(2026, 5, 28)]
    assert all(isinstance(p.slot.starts_at, datetime) for p in proposals)

"""A course session leaves its window only with a doctor's override and a reason — on the calendar,
in the series shift and on the course page alike; the override is audited and shown on the course page."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.courses.models import WindowOverride
from mesoclinic.courses.planner import Choice, CoursePlanner, plan_course
from mesoclinic.courses.services import CourseRefused, book_course, move_sessions
from mesoclinic.scheduling import services as scheduling

from .conftest import LONDON, at

pytestmark = pytest.mark.django_db

REASON = "Travelling abroad for a month; discussed the shorter interval with the patient."


def _booked(clinic):
    """Every 21–28 days from Tuesday 3 March, 10:30: session 2 on 24 March (window 24–31 March)."""
    from .factories import prescribe_hair

    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4, interval=(21, 28))
    book_course(ctx=clinic.ctx, course=course, proposals=plan_course(course=course, start_on=date(2026, 3, 3), at_time=time(10, 30)))
    return course


def _appointment(course, number):
    return course.sessions.select_related("appointment").get(number=number).appointment


def _local_day(appointment):
    appointment.refresh_from_db()
    return appointment.starts_at.astimezone(LONDON).date()


def test_a_receptionist_cannot_move_a_session_out_of_its_window_on_the_calendar(clinic):
    course = _booked(clinic)
    second = _appointment(course, 2)

    with pytest.raises(scheduling.MoveNeedsOverride) as refused:
        scheduling.reschedule_appointment(ctx=clinic.ctx, appointment=second, starts_at=at(10, 10, 30))  # day 7

    assert refused.value.message.startswith("Session 2 on 10 Mar 2026 would be outside its window (24 Mar to 31 Mar 2026).")
    assert "Only a doctor can move a session outside its window" in refused.value.message
    assert not refused.value.overridable
    assert _local_day(second) == date(2026, 3, 24)
    assert not WindowOverride.objects.exists()


def test_a_doctor_is_asked_for_a_reason_and_a_reason_moves_it_with_an_audited_override(clinic):
    course = _booked(clinic)
    second = _appointment(course, 2)

    with pytest.raises(scheduling.MoveNeedsOverride) as asked:
        scheduling.reschedule_appointment(ctx=clinic.doctor_ctx, appointment=second, starts_at=at(10, 10, 30))
    assert asked.value.overridable and "give the reason for overriding the window" in asked.value.message
    with pytest.raises(scheduling.MoveNeedsOverride):
        scheduling.reschedule_appointment(ctx=clinic.doctor_ctx, appointment=second, starts_at=at(10, 10, 30), override_reason="   ")

    scheduling.reschedule_appointment(ctx=clinic.doctor_ctx, appointment=second, starts_at=at(10, 10, 30), override_reason=REASON)

    assert _local_day(second) == date(2026, 3, 10)
    override = WindowOverride.objects.get()
    assert (override.session_number, override.moved_to_on, override.window_opens_on, override.window_closes_on) == (
        2,
        date(2026, 3, 10),
        date(2026, 3, 24),
        date(2026, 3, 31),
    )
    assert (override.reason, override.overridden_by, override.appointment_id) == (REASON, clinic.doctor, second.pk)
    event = AuditEvent.objects.get(action=AuditEvent.Action.OVERRIDE, object_type="course-window")
    assert (event.object_id, event.patient_id, event.actor_id) == (str(override.pk), clinic.patient.pk, clinic.doctor.pk)


def test_a_move_inside_the_window_needs_no_override(clinic):
    course = _booked(clinic)
    second = _appointment(course, 2)

    scheduling.reschedule_appointment(ctx=clinic.ctx, appointment=second, starts_at=at(30, 10, 30))

    assert _local_day(second) == date(2026, 3, 30)
    assert not WindowOverride.objects.exists()


def test_the_series_shift_cannot_push_a_session_out_of_its_window_without_a_doctor(clinic):
    course = _booked(clinic)
    third = _appointment(course, 3)  # 14 April; window 14–21 April after session 2 on 24 March
    move = scheduling.SeriesMove(appointment=third, starts_at=at(25, 10, 30, month=4))

    with pytest.raises(
        scheduling.MoveNeedsOverride, match=r"Session 3 on 25 Apr 2026 would be outside its window \(14 Apr to 21 Apr 2026\)"
    ):
        scheduling.reschedule_series(ctx=clinic.ctx, moves=[move])
    moved = scheduling.reschedule_series(ctx=clinic.doctor_ctx, moves=[move], override_reason=REASON)

    assert [a.pk for a in moved] == [third.pk]
    assert WindowOverride.objects.get().session_number == 3


def _course_move(ctx, course, number, on, **kwargs):
    planner = CoursePlanner(course, moving=[number])
    current = _appointment(course, number)
    rows = planner.plan(choices={number: Choice(on=on, at=time(10, 30), practitioner_id=current.practitioner_id)})
    return move_sessions(ctx=ctx, course=course, proposals=rows, **kwargs)


def test_the_course_pages_move_takes_a_doctors_override_but_refuses_anyone_elses(clinic):
    course = _booked(clinic)

    with pytest.raises(CourseRefused, match="Outside this session's window"):
        _course_move(clinic.ctx, course, 2, date(2026, 3, 10))
    with pytest.raises(CourseRefused, match="Only a doctor can move a session outside its window"):
        _course_move(clinic.ctx, course, 2, date(2026, 3, 10), override_reason=REASON)
    _course_move(clinic.doctor_ctx, course, 2, date(2026, 3, 10), override_reason=REASON)

    assert _local_day(_appointment(course, 2)) == date(2026, 3, 10)
    assert WindowOverride.objects.get().reason == REASON


def _slot(appointment, starts_at):
    return f"{starts_at.isoformat()}|{appointment.practitioner_id}|{appointment.room_id}|{appointment.device_id or ''}"


def test_the_calendar_move_screen_refuses_a_receptionist_and_takes_a_doctors_reason(client, clinic):
    course = _booked(clinic)
    second = _appointment(course, 2)
    url = reverse("scheduling:appointment-reschedule", args=[second.pk])
    posted = {"on": "2026-03-10", "slot": _slot(second, at(10, 10, 30))}

    client.force_login(clinic.receptionist)
    refused = client.post(url, posted)
    assert refused.status_code == 409
    assert "Only a doctor can move a session outside its window" in refused.content.decode()
    assert 'name="override_reason"' not in refused.content.decode()

    client.force_login(clinic.doctor)
    asked = client.post(url, posted)
    assert asked.status_code == 409 and 'name="override_reason"' in asked.content.decode()
    moved = client.post(url, {**posted, "override_reason": REASON})
    assert moved.status_code == 302

    page = client.get(reverse("courses:detail", args=[course.pk]))
    assert "Moved outside the window" in page.content.decode()
    assert REASON in page.content.decode()


def test_the_course_move_screen_asks_a_doctor_for_the_reason(client, clinic):
    course = _booked(clinic)
    second = _appointment(course, 2)
    url = reverse("courses:session-move", args=[course.pk, 2])
    posted = {"on": "2026-03-10", "at": "10:30", "practitioner": second.practitioner_id, "only": "1"}

    client.force_login(clinic.receptionist)
    refused = client.post(url, posted)
    assert refused.status_code == 400 and "Only a doctor can move a session outside its window" in refused.content.decode()

    client.force_login(clinic.doctor)
    asked = client.post(url, posted)
    assert asked.status_code == 400 and 'name="override_reason"' in asked.content.decode()
    moved = client.post(url, {**posted, "override_reason": REASON})
    assert moved.status_code == 302
    assert _local_day(second) == date(2026, 3, 10)
    assert WindowOverride.objects.count() == 1


def test_an_override_reason_is_bounded(clinic):
    course = _booked(clinic)
    second = _appointment(course, 2)
    with pytest.raises(scheduling.MoveNeedsOverride, match="under 300 characters"):
        scheduling.reschedule_appointment(ctx=clinic.doctor_ctx, appointment=second, starts_at=at(10, 10, 30), override_reason="x" * 301)
    assert _local_day(second) == date(2026, 3, 24)

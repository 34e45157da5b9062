"""A course session may not leave its window without a doctor's override (registered in CoursesConfig.ready()).

Scheduling runs `check_course_moves` inside every move's transaction — the calendar's reschedule,
the series shift and the course page's move alike — with the appointments carrying their new
times. For each moving course session it re-derives the window (counted from the session before
it, as it will stand; session 1 keeps its planned window) and, when the new date is outside:

* a user who may not override (anyone but a doctor) is refused, the window named;
* a doctor who gave no reason is asked for one (`MoveRefused(overridable=True)`);
* a doctor's reason is recorded as a `WindowOverride` with an audit row, shown on the course page.

See docs/decisions/0024.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.scheduling.hooks import MoveRefused

from .hooks import PREFIX
from .models import Course, CourseSession, WindowOverride
from .planner import next_window, session_date

MAX_REASON = 300
PERMISSION = "course.window_override"


@dataclass(frozen=True)
class Breach:
    session: CourseSession
    appointment: Any
    day: date
    opens_on: date
    closes_on: date

    @property
    def text(self) -> str:
        return (
            f"Session {self.session.number} on {self.day:%-d %b %Y} would be outside its window "
            f"({self.opens_on:%-d %b} to {self.closes_on:%-d %b %Y})"
        )


def _course_id(appointment: Any) -> int | None:
    key = getattr(appointment, "series_key", "") or ""
    rest = key[len(PREFIX) :]
    return int(rest) if key.startswith(PREFIX) and rest.isdigit() else None


def breaches(course: Course, moving: list[Any], *, today: date) -> list[Breach]:
    """The moving sessions of `course` whose new local date falls outside their window."""
    new_dates = {appointment.pk: course.location.local(appointment.starts_at).date() for appointment in moving}
    sessions = list(course.sessions.select_related("appointment").order_by("number"))
    dated: dict[int, date] = {}
    for session in sessions:
        if session.appointment_id in new_dates:
            dated[session.number] = new_dates[session.appointment_id]
        elif (on := session_date(course, session)) is not None:
            dated[session.number] = on
    found = []
    for session in sessions:
        if session.appointment_id not in new_dates:
            continue
        day = dated[session.number]
        previous = dated.get(session.number - 1)
        if previous is not None:
            opens, closes = next_window(previous, course)
            if closes < today <= day:  # the window had passed already: as soon as possible (as the planner proposes)
                opens, closes = today, today + timedelta(days=course.interval_max_days - course.interval_min_days)
        elif session.window_opens_on is not None and session.window_closes_on is not None:
            opens, closes = session.window_opens_on, session.window_closes_on
        else:
            continue
        if not opens <= day <= closes:
            appointment = next(a for a in moving if a.pk == session.appointment_id)
            found.append(Breach(session=session, appointment=appointment, day=day, opens_on=opens, closes_on=closes))
    return found


def check_course_moves(ctx: audit.AuditContext, moving: list[Any], override_reason: str) -> None:
    """The move check (see the module docstring). Raises MoveRefused; records accepted overrides."""
    by_course: dict[int, list[Any]] = {}
    for appointment in moving:
        course_id = _course_id(appointment)
        if course_id is not None:
            by_course.setdefault(course_id, []).append(appointment)
    now = timezone.now()
    for course_id, appointments in sorted(by_course.items()):
        course = Course.objects.select_related("location", "patient").filter(pk=course_id).first()
        if course is None:
            continue
        found = breaches(course, appointments, today=course.location.local(now).date())
        if not found:
            continue
        what = "; ".join(breach.text for breach in found)
        actor = ctx.actor
        if actor is None or not actor.can(PERMISSION):
            raise MoveRefused(f"{what}. Only a doctor can move a session outside its window, giving a reason.")
        reason = override_reason.strip()
        if not reason:
            raise MoveRefused(f"{what}. To move it there anyway, give the reason for overriding the window.", overridable=True)
        if len(reason) > MAX_REASON:
            raise MoveRefused(f"Keep the reason for overriding the window under {MAX_REASON} characters.", overridable=True)
        for breach in found:
            override = WindowOverride.objects.create(
                course=course,
                session_number=breach.session.number,
                appointment=breach.appointment,
                moved_to_on=breach.day,
                window_opens_on=breach.opens_on,
                window_closes_on=breach.closes_on,
                reason=reason,
                overridden_by=actor,
                overridden_at=now,
            )
            audit.record(
                ctx,
                action=AuditEvent.Action.OVERRIDE,
                object_type="course-window",
                object_id=override.pk,
                patient_id=course.patient_id,
                location_id=course.location_id,
                detail={
                    "course": course.pk,
                    "session": breach.session.number,
                    "appointment": breach.appointment.pk,
                    "moved_to_on": breach.day.isoformat(),
                    "window": [breach.opens_on.isoformat(), breach.closes_on.isoformat()],
                },
            )

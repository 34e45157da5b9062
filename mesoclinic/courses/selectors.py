"""Reads of courses. Every read takes the caller's location scope explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling.models import Appointment

from .models import Course, CourseSession, Qualification, WindowOverride
from .planner import derived_windows, session_date

MAX_ID = 2**63 - 1


def is_qualified(*, practitioner_id: int, protocol_id: int) -> bool:
    """Whether the practitioner may deliver the protocol (Configuration → Qualifications). One query."""
    return Qualification.objects.filter(practitioner_id=practitioner_id, protocol_id=protocol_id).exists()


def courses_in_scope(scope: frozenset[int]) -> QuerySet[Course]:
    return Course.objects.filter(location_id__in=scope).select_related(
        "patient__location", "location", "protocol", "concern", "preferred_practitioner", "prescribed_by"
    )


def _sessions() -> Prefetch[str]:
    return Prefetch(
        "sessions",
        queryset=CourseSession.objects.select_related(
            "appointment__location", "appointment__practitioner", "appointment__room", "appointment__device"
        ).order_by("number"),
    )


def get_course(*, scope: frozenset[int], pk: int) -> Course:
    """The course if its location is in scope; otherwise Course.DoesNotExist (a 404)."""
    if not 0 < pk <= MAX_ID:
        raise Course.DoesNotExist(f"no course {pk}")
    return courses_in_scope(scope).prefetch_related("areas", "techniques", _sessions()).get(pk=pk)


def view_course(*, ctx: audit.AuditContext, scope: frozenset[int], pk: int, screen: str = "course") -> Course:
    """Fetch a course for display and record that it was viewed (one audit row)."""
    course = get_course(scope=scope, pk=pk)
    record_view(ctx=ctx, course=course, screen=screen)
    return course


def record_view(*, ctx: audit.AuditContext, course: Course, screen: str) -> None:
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type="course",
        object_id=course.pk,
        patient_id=course.patient_id,
        location_id=course.location_id,
        detail={"screen": screen},
    )


@dataclass(frozen=True)
class SessionRow:
    """A session with its window as it stands now (derived from the session before it)."""

    session: CourseSession
    window: tuple[date, date] | None
    on: date | None  # the local date of its booked or done appointment

    @property
    def outside_window(self) -> bool:
        return (
            self.session.state == CourseSession.State.BOOKED
            and self.on is not None
            and self.window is not None
            and not (self.window[0] <= self.on <= self.window[1])
        )


@dataclass(frozen=True)
class CourseProgress:
    """What the patient page shows for one course: progress, the next session, the open windows."""

    course: Course
    sessions: list[CourseSession]
    rows: list[SessionRow]
    done: int
    next_session: CourseSession | None
    next_to_book: CourseSession | None

    @property
    def label(self) -> str:
        return f"{self.done} of {self.course.sessions_planned}"


def progress_of(course: Course, *, now: datetime | None = None) -> CourseProgress:
    """Derived from the (prefetched) sessions' appointments: no counter is stored."""
    now = now or timezone.now()
    sessions = list(course.sessions.all())
    windows = derived_windows(course, sessions)
    rows = [SessionRow(session=s, window=windows[s.number], on=session_date(course, s)) for s in sessions]
    done = sum(1 for s in sessions if s.state == CourseSession.State.DONE)
    upcoming = [s for s in sessions if s.state == CourseSession.State.BOOKED and s.appointment is not None and s.appointment.ends_at > now]
    to_book = [s for s in sessions if s.state in (CourseSession.State.TO_BOOK, CourseSession.State.MISSED)]
    return CourseProgress(
        course=course,
        sessions=sessions,
        rows=rows,
        done=done,
        next_session=min(upcoming, key=lambda s: s.appointment.starts_at) if upcoming else None,  # type: ignore[union-attr]
        next_to_book=to_book[0] if to_book else None,
    )


def patient_courses(*, patient: Patient, scope: frozenset[int], limit: int = 10) -> list[CourseProgress]:
    """The patient's courses at the caller's locations, newest first (two queries whatever the history)."""
    courses = list(courses_in_scope(scope).filter(patient=patient).prefetch_related(_sessions()).order_by("-prescribed_at", "-id")[:limit])
    now = timezone.now()
    return [progress_of(course, now=now) for course in courses]


@dataclass(frozen=True)
class CoursePage:
    items: list[CourseProgress]
    page: int
    has_next: bool
    status: str


def courses_to_work_on(*, ctx: audit.AuditContext, scope: frozenset[int], status: str, page: int = 1, page_size: int = 25) -> CoursePage:
    """Courses at the caller's locations with `status`, newest first; one page (no COUNT), one audit row."""
    offset = (max(1, page) - 1) * page_size
    rows = list(
        courses_in_scope(scope)
        .filter(status=status)
        .prefetch_related(_sessions())
        .order_by("-prescribed_at", "-id")[offset : offset + page_size + 1]
    )
    audit.record(
        ctx,
        action=AuditEvent.Action.SEARCH,
        object_type="course",
        detail={"status": status, "page": page, "results": min(len(rows), page_size)},
    )
    now = timezone.now()
    return CoursePage(
        items=[progress_of(course, now=now) for course in rows[:page_size]], page=page, has_next=len(rows) > page_size, status=status
    )


def course_for_appointment(appointment: Appointment | int) -> CourseSession | None:
    """The course session an appointment belongs to, if any (for the chart)."""
    appointment_id = appointment if isinstance(appointment, int) else appointment.pk
    return CourseSession.objects.select_related("course__location").filter(appointment_id=appointment_id).first()


def sessions_outside_windows(course: Course) -> list[int]:
    """Numbers of the booked sessions whose date is outside their window as it stands now."""
    sessions = list(CourseSession.objects.filter(course=course).select_related("appointment").order_by("number"))
    windows = derived_windows(course, sessions)
    rows = [SessionRow(session=s, window=windows[s.number], on=session_date(course, s)) for s in sessions]
    return [row.session.number for row in rows if row.outside_window]


def windows_label(session: CourseSession) -> str:
    if session.window_opens_on is None or session.window_closes_on is None:
        return "—"
    return window_text(session.window_opens_on, session.window_closes_on)


def window_text(opens: date, closes: date) -> str:
    if opens == closes:
        return f"{opens:%a %-d %b %Y}"
    return f"{opens:%-d %b} – {closes:%-d %b %Y}"


def window_overrides(course: Course) -> list[WindowOverride]:
    """The doctors' overrides of this course's session windows, newest first (one query)."""
    return list(WindowOverride.objects.filter(course=course).select_related("overridden_by").order_by("-overridden_at", "-id"))

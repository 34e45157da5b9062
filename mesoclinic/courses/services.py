"""Every write of a course: prescribing, booking all its sessions at once, moving sessions,
recomputing windows after a session, stopping. Each runs in one transaction with its audit row.

    prescribe_course(ctx=…, patient=…, protocol=…, concern=…, area_keys=[…], sessions=6,
                     interval_min_days=28, interval_max_days=28, preferred_practitioner=None)
    plan_course(course=…, start_on=…)            # the planner (a read; see planner.py)
    book_course(ctx=…, course=…, proposals=[…])  # all sessions or none
    move_sessions(ctx=…, course=…, proposals=[…])  # reschedule one session and shift later ones
    recompute_windows(course=…)                  # after a session is completed (the chart calls it)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.catalog.models import Concern, Product, Protocol, Technique
from mesoclinic.catalog.selectors import current_version
from mesoclinic.core import audit
from mesoclinic.core.concurrency import bump, check_version
from mesoclinic.core.models import AuditEvent, Device, Location, Room
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling import services as scheduling
from mesoclinic.scheduling.models import Appointment
from mesoclinic.scheduling.slots import Slot
from mesoclinic.screening.services import NotEligible, ensure_eligible

from .models import Course, CourseSession, Qualification
from .planner import (
    Choice,
    CoursePlanner,
    ProposedSession,
    derived_windows,
    next_window,
    plan_course,
    qualified_practitioners,
    session_date,
)

__all__ = [
    "Choice",
    "CourseRefused",
    "NotAllowed",
    "NotEligible",
    "SessionTaken",
    "after_session_completed",
    "book_course",
    "grant_qualification",
    "move_sessions",
    "plan_course",
    "prescribe_course",
    "recompute_windows",
    "series_key_for",
    "stop_course",
]

MAX_STOP_REASON = 300


class NotAllowed(PermissionDenied):
    """The acting user's role may not do this (views answer 403)."""


MIN_ALLERGY_REASON = 10


def allergy_conflicts(*, patient: Patient, protocol: Protocol) -> list[str]:
    """A sentence per product of the protocol holding an ingredient the patient is allergic to. One query."""
    through = Product.ingredients.through
    rows = (
        through.objects.filter(product__in=protocol.products.all(), ingredient__in=patient.allergy_ingredients.all())
        .select_related("product", "ingredient")
        .order_by("product__name", "ingredient__name")
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.product.name, []).append(row.ingredient.name)
    return [f"{patient.full_name} is allergic to {', '.join(names)}, an ingredient of {product}." for product, names in found.items()]


class CourseRefused(Exception):
    """A rule forbids this: `errors` maps form field names (or "__all__") to messages."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        self.errors = errors if isinstance(errors, dict) else {"__all__": errors}
        super().__init__("; ".join(self.errors.values()))

    @property
    def message(self) -> str:
        return " ".join(self.errors.values())

    def as_validation_error(self) -> ValidationError:
        return ValidationError({field: [message] for field, message in self.errors.items()})


class SessionTaken(Exception):
    """A session's slot was taken between the proposal and the booking (HTTP 409); nothing was booked.

    `number` is the session whose slot is gone; `alternatives` are scheduling's next free slots.
    """

    def __init__(self, number: int, message: str, *, alternatives: Sequence[Slot] = ()) -> None:
        super().__init__(f"Session {number}'s slot was just taken: {message}")
        self.number = number
        self.message = str(self.args[0])
        self.alternatives = list(alternatives)


def series_key_for(course: Course) -> str:
    """The scheduling series key shared by every appointment of a course."""
    return f"course-{course.pk}"


def _require(ctx: audit.AuditContext, permission: str, doing: str) -> User:
    actor = ctx.actor
    if actor is None or not actor.can(permission):
        raise NotAllowed(f"Your role may not {doing}.")
    return actor


# --- prescribing ---------------------------------------------------------------------------------


def prescribe_course(
    *,
    ctx: audit.AuditContext,
    patient: Patient,
    protocol: Protocol,
    concern: Concern,
    area_keys: Iterable[str],
    sessions: int,
    interval_min_days: int,
    interval_max_days: int,
    preferred_practitioner: User | None = None,
    techniques: Iterable[Technique] | None = None,
    location: Location | None = None,
    allergy_reason: str = "",
) -> Course:
    """A doctor prescribes a course. Refused (CourseRefused) when the numbers are outside the
    protocol's range or the choices do not belong to the protocol; refused (NotEligible) unless the
    patient's screening allows the protocol at those areas (eligible, caution, or a doctor's
    override of "not eligible"); unscreened, expired and incomplete screenings block with the reason.
    A product of the protocol holding an ingredient the patient is allergic to is refused unless the
    doctor writes why it is acceptable (`allergy_reason`, kept on the course).
    """
    doctor = _require(ctx, "course.prescribe", "prescribe a course")
    location = location or patient.location
    if location.pk not in doctor.location_ids:
        raise NotAllowed("You do not work at that location.")
    errors: dict[str, str] = {}
    if not protocol.is_active:
        errors["protocol"] = "This protocol is no longer offered."
    if not protocol.concerns.filter(pk=concern.pk).exists():
        errors["concern"] = f"{protocol.name} does not treat {concern.name}: choose one of its concerns."
    protocol_areas = dict(protocol.protocol_areas.values_list("area__key", "area_id"))
    keys = list(dict.fromkeys(area_keys))
    unknown = [key for key in keys if key not in protocol_areas]
    if not keys:
        errors["areas"] = "Choose at least one area."
    elif unknown:
        errors["areas"] = f"Not an area of this protocol: {', '.join(str(key)[:40] for key in unknown[:5])}."
    offered = {t.pk: t for t in protocol.techniques.filter(is_active=True)}
    chosen = list(offered.values()) if techniques is None else list(techniques)
    if not chosen:
        errors["techniques"] = "Choose at least one technique."
    elif any(t.pk not in offered for t in chosen):
        errors["techniques"] = "Choose techniques of this protocol."
    if not protocol.sessions_min <= sessions <= protocol.sessions_max:
        errors["sessions"] = f"{protocol.name} is a course of {protocol.sessions_min} to {protocol.sessions_max} sessions."
    if not protocol.interval_min_days <= interval_min_days <= protocol.interval_max_days:
        errors["interval_min_days"] = f"The protocol sets sessions {protocol.interval_min_days} to {protocol.interval_max_days} days apart."
    if not protocol.interval_min_days <= interval_max_days <= protocol.interval_max_days:
        errors["interval_max_days"] = f"The protocol sets sessions {protocol.interval_min_days} to {protocol.interval_max_days} days apart."
    elif interval_min_days > interval_max_days:
        errors["interval_max_days"] = "The longest interval cannot be shorter than the shortest."
    if (
        preferred_practitioner is not None
        and not qualified_practitioners(protocol=protocol, location=location).filter(pk=preferred_practitioner.pk).exists()
    ):
        errors["preferred_practitioner"] = f"{preferred_practitioner} is not qualified for this protocol at {location.name}."
    allergy_reason = (allergy_reason or "").strip()
    conflicts = allergy_conflicts(patient=patient, protocol=protocol)
    if conflicts and len(allergy_reason) < MIN_ALLERGY_REASON:
        errors["allergy_reason"] = (
            " ".join(conflicts) + f" To prescribe it anyway, write why it is acceptable (at least {MIN_ALLERGY_REASON} characters)."
        )
    if len(allergy_reason) > 1000:
        errors["allergy_reason"] = "Keep the reason under 1000 characters."
    if errors:
        raise CourseRefused(errors)
    eligibility = ensure_eligible(patient=patient, protocol=protocol, area_keys=keys)  # raises NotEligible
    now = timezone.now()
    with transaction.atomic():
        course = Course.objects.create(
            patient=patient,
            location=location,
            concern=concern,
            protocol=protocol,
            catalog_version=current_version(),
            sessions_planned=sessions,
            interval_min_days=interval_min_days,
            interval_max_days=interval_max_days,
            preferred_practitioner=preferred_practitioner,
            prescribed_by=doctor,
            prescribed_at=now,
            allergy_acknowledgement=allergy_reason if conflicts else "",
        )
        course.areas.set(protocol_areas[key] for key in keys)
        course.techniques.set(chosen)
        CourseSession.objects.bulk_create([CourseSession(course=course, number=n) for n in range(1, sessions + 1)])
        audit.record(
            ctx,
            action=AuditEvent.Action.CREATE,
            object_type="course",
            object_id=course.pk,
            patient_id=patient.pk,
            location_id=location.pk,
            detail={
                "protocol": protocol.key,
                "areas": keys,
                "sessions": sessions,
                "eligibility": eligibility.status,
                "override_id": eligibility.override.pk if eligibility.override is not None else None,
                "allergy_acknowledged": bool(conflicts),
            },
        )
    return course


# --- booking and moving --------------------------------------------------------------------------


def _dates(course: Course, sessions: dict[int, CourseSession], rows: Sequence[ProposedSession]) -> dict[int, date]:
    zone = course.location.zone
    dated = {n: s.appointment.starts_at.astimezone(zone).date() for n, s in sessions.items() if s.holds_time and s.appointment is not None}
    for row in rows:
        if row.slot is not None:
            dated[row.number] = row.slot.starts_at.astimezone(zone).date()
    return dated


def _check_windows(
    course: Course, sessions: dict[int, CourseSession], rows: Sequence[ProposedSession], today: date, *, overriding: bool = False
) -> None:
    """Every proposed session inside its window, counted from the session before it (re-derived here).

    `overriding`: a move with a reason for leaving the window; scheduling's move check (courses/windows.py)
    then decides whether the actor may, and records the override."""
    dated = _dates(course, sessions, rows)
    for row in rows:
        day = dated[row.number]
        previous = dated.get(row.number - 1)
        if row.number > 1 and previous is None:
            raise CourseRefused(f"Session {row.number}: book session {row.number - 1} first, so its window is known.")
        if previous is not None:
            opens, closes = next_window(previous, course)
            if closes < today and day >= today and row.late:
                opens, closes = today, today + timedelta(days=course.interval_max_days - course.interval_min_days)
            if not opens <= day <= closes and not overriding:
                raise CourseRefused(
                    f"Session {row.number} on {day:%-d %b %Y} is outside its window ({opens:%-d %b} to {closes:%-d %b %Y})."
                )
        following = dated.get(row.number + 1)
        if following is not None and following <= day:
            raise CourseRefused(f"Session {row.number} must come before session {row.number + 1}.")


def _resources(rows: Sequence[ProposedSession]) -> tuple[dict[int, User], dict[int, Room], dict[int, Device]]:
    slots = [row.slot for row in rows if row.slot is not None]
    return (
        User.objects.in_bulk({slot.practitioner_id for slot in slots}),
        Room.objects.in_bulk({slot.room_id for slot in slots}),
        Device.objects.in_bulk({slot.device_id for slot in slots if slot.device_id is not None}),
    )


def _open_course(ctx: audit.AuditContext, course: Course) -> tuple[Course, dict[int, CourseSession]]:
    locked = Course.objects.select_for_update().select_related("patient", "location", "protocol").get(pk=course.pk)
    if not locked.is_open:
        raise CourseRefused(f"This course is {locked.get_status_display().lower()}: nothing more can be booked.")
    sessions = {s.number: s for s in locked.sessions.select_related("appointment")}
    return locked, sessions


def _move_version_on(course: Course) -> None:
    """Booking, moving and re-deriving sessions change the course: a stop decided on the old page is refused."""
    Course.objects.filter(pk=course.pk).update(version=F("version") + 1)


def _taken(error: scheduling.SlotUnavailable, rows: Sequence[ProposedSession]) -> SessionTaken:
    index = error.index if error.index is not None and 0 <= error.index < len(rows) else 0
    reason = error.message.split(": ", 1)[-1].rstrip(".")
    return SessionTaken(rows[index].number, reason, alternatives=error.alternatives)


def book_course(*, ctx: audit.AuditContext, course: Course, proposals: Sequence[ProposedSession]) -> list[Appointment]:
    """Book every proposed (not yet booked) session of `course` in one transaction: all or none.

    Raises CourseRefused (a problem in the proposal, a window, the course's state or a clinic rule),
    NotEligible (the screening no longer allows it) or SessionTaken (a slot was just taken: HTTP 409).
    """
    _require(ctx, "course.book", "book courses")
    rows = sorted((row for row in proposals if not row.fixed), key=lambda row: row.number)
    if not rows:
        raise CourseRefused("Every session of this course is already booked.")
    for row in rows:
        if row.slot is None or row.problem:
            raise CourseRefused(f"Session {row.number}: {row.problem or 'choose a date, time and practitioner'}")
    practitioners, rooms, devices = _resources(rows)
    today = course.location.local(timezone.now()).date()
    with transaction.atomic():
        locked, sessions = _open_course(ctx, course)
        for row in rows:
            session = sessions.get(row.number)
            if session is None:
                raise CourseRefused(f"This course has no session {row.number}.")
            if session.holds_time:
                raise CourseRefused(f"Session {row.number} is already booked: reload the course to see the current plan.")
        _check_windows(locked, sessions, rows, today)
        ensure_eligible(patient=locked.patient, protocol=locked.protocol, area_keys=list(locked.areas.values_list("key", flat=True)))
        protocol = locked.protocol
        bookings = [
            scheduling.ProposedBooking.from_slot(
                row.slot,  # type: ignore[arg-type]
                location=locked.location,
                patient=locked.patient,
                practitioners=practitioners,
                rooms=rooms,
                devices=devices,
                kind=Appointment.Kind.TREATMENT,
                numbing_minutes=protocol.numbing_minutes,
                procedure_minutes=protocol.procedure_minutes,
                protocol_key=protocol.key,
                notes=f"{protocol.name}: session {row.number} of {locked.sessions_planned}",
            )
            for row in rows
        ]
        try:
            appointments = scheduling.book_series(ctx=ctx, bookings=bookings, series_key=series_key_for(locked))
        except scheduling.SlotUnavailable as error:
            raise _taken(error, rows) from None
        except scheduling.SchedulingError as error:
            raise CourseRefused(error.message) from None
        changed = []
        for row, appointment in zip(rows, appointments, strict=True):
            session = sessions[row.number]
            session.appointment = appointment
            session.window_opens_on, session.window_closes_on = row.window_opens_on, row.window_closes_on
            changed.append(session)
        CourseSession.objects.bulk_update(changed, ["appointment", "window_opens_on", "window_closes_on"])
        _move_version_on(locked)
        if locked.status == Course.Status.PLANNED:
            locked.status = Course.Status.ACTIVE
            locked.save(update_fields=["status", "updated_at"])
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="course",
            object_id=locked.pk,
            patient_id=locked.patient_id,
            location_id=locked.location_id,
            detail={"booked_sessions": [row.number for row in rows], "appointment_ids": [a.pk for a in appointments]},
        )
    return appointments


def move_sessions(
    *, ctx: audit.AuditContext, course: Course, proposals: Sequence[ProposedSession], override_reason: str = ""
) -> list[Appointment]:
    """Move booked sessions (a reschedule, and the later sessions it shifts) in one transaction.

    `proposals` come from a planner built with `moving=`: rows with an appointment and a new slot
    are moved; rows whose slot is unchanged are left alone. Windows are re-derived afterwards.
    A session outside its window moves only with a doctor's `override_reason` (decision 24).
    """
    _require(ctx, "course.book", "reschedule courses")
    rows = sorted((row for row in proposals if not row.fixed and row.appointment is not None), key=lambda row: row.number)
    overriding = bool(override_reason.strip())
    for row in rows:
        if row.slot is None or (row.problem and not (overriding and row.outside_window)):
            raise CourseRefused(f"Session {row.number}: {row.problem or 'choose a date, time and practitioner'}")
    changes = [row for row in rows if row.slot is not None and _differs(row.appointment, row.slot)]  # type: ignore[arg-type]
    if not changes:
        raise CourseRefused("Nothing to move: the sessions are already at those times.")
    practitioners, rooms, devices = _resources(changes)
    today = course.location.local(timezone.now()).date()
    with transaction.atomic():
        locked, sessions = _open_course(ctx, course)
        for row in changes:
            session = sessions.get(row.number)
            if session is None or session.appointment_id != row.appointment.pk:  # type: ignore[union-attr]
                raise CourseRefused(f"Session {row.number} changed meanwhile: reload the course.")
        _check_windows(locked, sessions, changes, today, overriding=overriding)
        moves = [
            scheduling.SeriesMove(
                appointment=row.appointment,  # type: ignore[arg-type]
                starts_at=row.slot.starts_at,  # type: ignore[union-attr]
                practitioner=practitioners[row.slot.practitioner_id],  # type: ignore[union-attr]
                room=rooms[row.slot.room_id],  # type: ignore[union-attr]
                device=devices.get(row.slot.device_id) if row.slot.device_id is not None else None,  # type: ignore[union-attr]
                keep_device=False,
            )
            for row in changes
        ]
        try:
            moved = scheduling.reschedule_series(ctx=ctx, moves=moves, override_reason=override_reason)
        except scheduling.SlotUnavailable as error:
            ordered = sorted(changes, key=lambda row: row.appointment.pk)  # type: ignore[union-attr]
            raise _taken(error, ordered) from None
        except scheduling.SchedulingError as error:
            raise CourseRefused(error.message) from None
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="course",
            object_id=locked.pk,
            patient_id=locked.patient_id,
            location_id=locked.location_id,
            detail={"moved_sessions": [row.number for row in changes], "appointment_ids": [a.pk for a in moved]},
        )
        _move_version_on(locked)
        recompute_windows(course=locked, ctx=ctx)
    return moved


def _differs(appointment: Appointment, slot: Slot) -> bool:
    return (appointment.starts_at, appointment.practitioner_id, appointment.room_id, appointment.device_id) != (
        slot.starts_at,
        slot.practitioner_id,
        slot.room_id,
        slot.device_id,
    )


# --- after a session ------------------------------------------------------------------------------


def recompute_windows(*, course: Course, ctx: audit.AuditContext | None = None) -> list[CourseSession]:
    """Re-derive every session's window from the actual date of the session before it, and close
    the course when every session is done. Returns the booked sessions now outside their window
    (the receptionist is offered to shift them).

    The chart calls this in the same transaction in which it completes a session's appointment.
    """
    ctx = ctx or audit.SYSTEM
    with transaction.atomic():
        locked = Course.objects.select_for_update().select_related("location").get(pk=course.pk)
        sessions = list(locked.sessions.select_related("appointment").order_by("number"))
        windows = derived_windows(locked, sessions)
        changed: list[CourseSession] = []
        outside: list[CourseSession] = []
        for session in sessions:
            window = windows[session.number]
            if window is not None and (session.window_opens_on, session.window_closes_on) != window:
                session.window_opens_on, session.window_closes_on = window
                changed.append(session)
            on = session_date(locked, session)
            if session.state == CourseSession.State.BOOKED and on is not None and not session.in_window(on):
                outside.append(session)
        fields = []
        if changed:
            CourseSession.objects.bulk_update(changed, ["window_opens_on", "window_closes_on"])
            fields.append("windows")
        if locked.status == Course.Status.ACTIVE and sessions and all(s.state == CourseSession.State.DONE for s in sessions):
            locked.status = Course.Status.COMPLETED
            locked.save(update_fields=["status", "updated_at"])
            fields.append("status")
        if fields:
            _move_version_on(locked)
            audit.record(
                ctx,
                action=AuditEvent.Action.UPDATE,
                object_type="course",
                object_id=locked.pk,
                patient_id=locked.patient_id,
                location_id=locked.location_id,
                detail={"fields": fields, "sessions": [s.number for s in changed], "status": locked.status},
            )
    course.status = locked.status
    return outside


def after_session_completed(*, ctx: audit.AuditContext, appointment: Appointment) -> list[CourseSession]:
    """For the chart: call right after `scheduling.services.complete_appointment`, in the same
    transaction. Re-derives the windows of the appointment's course (if it belongs to one) from the
    actual dates and closes the course when every session is done. Returns the booked sessions that
    now fall outside their window (offer to move them); [] when the appointment is not a course session.
    """
    session = CourseSession.objects.filter(appointment_id=appointment.pk).select_related("course").first()
    if session is None:
        return []
    return recompute_windows(course=session.course, ctx=ctx)


def stop_course(*, ctx: audit.AuditContext, course: Course, reason: str, expected_version: int | None = None) -> Course:
    """A doctor stops a course: its booked future sessions are cancelled with the reason.

    With `expected_version` (the version the doctor's page was loaded at), a stop decided on a course
    whose sessions were booked or moved since is refused with StaleEdit."""
    _require(ctx, "course.stop", "stop a course")
    reason = reason.strip()
    if not reason:
        raise CourseRefused({"reason": "Say why the course is stopped."})
    if len(reason) > MAX_STOP_REASON:
        raise CourseRefused({"reason": f"Keep the reason under {MAX_STOP_REASON} characters."})
    now = timezone.now()
    with transaction.atomic():
        locked, sessions = _open_course(ctx, course)
        check_version(locked, expected_version)
        cancelled = []
        for session in sessions.values():
            appointment = session.appointment
            if appointment is not None and appointment.status == Appointment.Status.BOOKED and appointment.starts_at > now:
                scheduling.cancel_appointment(ctx=ctx, appointment=appointment, reason=f"Course stopped: {reason}"[:300])
                cancelled.append(session.number)
        locked.status, locked.stopped_at, locked.stop_reason = Course.Status.STOPPED, now, reason
        bump(locked)
        locked.save(update_fields=["status", "stopped_at", "stop_reason", "updated_at", "version"])
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="course",
            object_id=locked.pk,
            patient_id=locked.patient_id,
            location_id=locked.location_id,
            detail={"fields": ["status", "stop_reason"], "status": Course.Status.STOPPED, "cancelled_sessions": cancelled},
        )
    return locked


# --- qualifications -------------------------------------------------------------------------------


def grant_qualification(*, ctx: audit.AuditContext, practitioner: User, protocol: Protocol) -> Qualification:
    """Record that `practitioner` may deliver `protocol` (idempotent)."""
    with transaction.atomic():
        qualification, created = Qualification.objects.get_or_create(practitioner=practitioner, protocol=protocol)
        if created:
            audit.record(
                ctx,
                action=AuditEvent.Action.CREATE,
                object_type="qualification",
                object_id=qualification.pk,
                detail={"user_id": practitioner.pk},
            )
    return qualification


def planner_for(course: Course, *, moving: Iterable[int] = (), now: datetime | None = None) -> CoursePlanner:
    return CoursePlanner(course, moving=moving, now=now)

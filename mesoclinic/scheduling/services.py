"""Every write in scheduling. Keyword-only, one transaction each, audited, with domain errors.

The booking services check the rules (opening hours, closures, working hours, time off, devices,
membership, not in the past) and then whether the practitioner, room, device and patient are free.
That check gives a friendly reason; the database has the last word: on PostgreSQL the exclusion
constraints refuse an overlap that a concurrent transaction committed in between, and on SQLite
the check runs inside the write-locked (IMMEDIATE) transaction, so no other writer can interleave.
Either way a conflict becomes `SlotUnavailable` with the next free slots — never a server error.

    book_appointment(ctx=..., location=..., patient=..., practitioner=..., room=..., device=None,
                     starts_at=..., kind="treatment", numbing_minutes=30, procedure_minutes=30)
    book_series(ctx=..., bookings=[ProposedBooking(...), ...])   # all or nothing
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from mesoclinic.accounts.models import Membership, User
from mesoclinic.core import audit
from mesoclinic.core.concurrency import bump, check_version
from mesoclinic.core.models import AuditEvent, Device, Location, OpeningHours, Room, Weekday
from mesoclinic.messaging import services as outbox
from mesoclinic.patients.models import Patient

from . import hooks, notifications, selectors
from .models import (
    MAX_APPOINTMENT_MINUTES,
    Appointment,
    CalendarFeed,
    Closure,
    SchedulingPolicy,
    TimeOff,
    WaitlistEntry,
    WaitlistOffer,
    WorkingHours,
)
from .slots import Durations, Slot, covered, epoch, local_periods

Status = Appointment.Status
ACTIVE = list(Appointment.ACTIVE)
MAX_SPAN = timedelta(minutes=MAX_APPOINTMENT_MINUTES)
MAX_NUMBING_MINUTES = 120
MAX_PROCEDURE_MINUTES = 240
WAITLIST_OFFERS_PER_SLOT = 3

# Which resource each exclusion constraint guards (migration 0002).
CONSTRAINT_RESOURCE = {
    "scheduling_appointment_no_practitioner_overlap": "practitioner",
    "scheduling_appointment_no_room_overlap": "room",
    "scheduling_appointment_no_device_overlap": "device",
    "scheduling_appointment_no_patient_overlap": "patient",
}


# --- domain errors -------------------------------------------------------------------------------


class SchedulingError(Exception):
    """Base of the errors a view turns into a clear message."""

    def __init__(self, message: str, *, code: str = "refused", index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.index = index  # which booking of a series, when it is one


class BookingRefused(SchedulingError):
    """A rule forbids this booking: in the past, outside hours, time off, device out of service, …"""


class WrongStatus(SchedulingError):
    """The appointment is not in a state that allows this (e.g. cancelling a completed one)."""


class SlotUnavailable(SchedulingError):
    """The practitioner, room, device or patient is busy then ("this slot was just taken").

    `alternatives` holds the next free slots for the same request, earliest first.
    """

    def __init__(self, message: str, *, resource: str, alternatives: list[Slot], index: int | None = None) -> None:
        super().__init__(message, code=f"{resource}_busy", index=index)
        self.resource = resource
        self.alternatives = alternatives


class MoveNeedsOverride(SchedulingError):
    """Another app's rule refuses the move (a course session outside its window): see hooks.check_moves.

    `overridable`: the acting user (a doctor) may make the move by giving a reason."""

    def __init__(self, message: str, *, overridable: bool) -> None:
        super().__init__(message, code="needs_override")
        self.overridable = overridable


class _Taken(Exception):
    """Internal: a resource is busy. Turned into SlotUnavailable after the transaction rolled back."""

    def __init__(self, resource: str, *, raced: bool) -> None:
        super().__init__(resource)
        self.resource = resource
        self.raced = raced


# --- the request -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposedBooking:
    """One booking of a series, as the course planner proposes it (see `book_series`)."""

    location: Location
    patient: Patient
    practitioner: User
    room: Room
    device: Device | None
    starts_at: datetime
    kind: str = Appointment.Kind.TREATMENT
    numbing_minutes: int = 0
    procedure_minutes: int = 30
    protocol_key: str = ""
    notes: str = ""

    @classmethod
    def from_slot(
        cls,
        slot: Slot,
        *,
        location: Location,
        patient: Patient,
        practitioners: dict[int, User],
        rooms: dict[int, Room],
        devices: dict[int, Device],
        kind: str,
        numbing_minutes: int,
        procedure_minutes: int,
        protocol_key: str = "",
        notes: str = "",
    ) -> ProposedBooking:
        return cls(
            location=location,
            patient=patient,
            practitioner=practitioners[slot.practitioner_id],
            room=rooms[slot.room_id],
            device=devices[slot.device_id] if slot.device_id is not None else None,
            starts_at=slot.starts_at,
            kind=kind,
            numbing_minutes=numbing_minutes,
            procedure_minutes=procedure_minutes,
            protocol_key=protocol_key,
            notes=notes,
        )


@dataclass(frozen=True)
class SeriesMove:
    """Move one appointment of a series (see `reschedule_series`). None keeps the current value."""

    appointment: Appointment
    starts_at: datetime
    practitioner: User | None = None
    room: Room | None = None
    device: Device | None = None
    keep_device: bool = True


@dataclass
class _Times:
    starts_at: datetime
    resource_starts_at: datetime
    ends_at: datetime


def _times(location: Location, starts_at: datetime, numbing_minutes: int, procedure_minutes: int) -> _Times:
    if timezone.is_naive(starts_at):
        raise BookingRefused("The start time must include a time zone.", code="naive_time")
    if not 0 <= numbing_minutes <= MAX_NUMBING_MINUTES:
        raise BookingRefused(f"The numbing time must be between 0 and {MAX_NUMBING_MINUTES} minutes.", code="bad_duration")
    if not 1 <= procedure_minutes <= MAX_PROCEDURE_MINUTES:
        raise BookingRefused(f"The procedure time must be between 1 and {MAX_PROCEDURE_MINUTES} minutes.", code="bad_duration")
    policy = selectors.policy_for(location)
    durations = Durations(numbing_minutes, procedure_minutes)
    offset = timedelta(seconds=durations.resource_offset_seconds(policy.numbing_in_waiting_area))
    ends_at = starts_at + timedelta(seconds=durations.total_seconds)
    return _Times(starts_at=starts_at, resource_starts_at=starts_at + offset, ends_at=ends_at)


def _hhmm(periods: Sequence[tuple[time, time]]) -> str:
    return ", ".join(f"{opens:%H:%M}–{closes:%H:%M}" for opens, closes in sorted(periods)) or "closed"


def _check_rules(
    *,
    location: Location,
    practitioner: User,
    room: Room,
    device: Device | None,
    kind: str,
    times: _Times,
    now: datetime,
) -> None:
    """Refuse, with the reason, whatever the clinic's rules forbid (not overlaps: see `_check_free`)."""
    if kind not in Appointment.Kind.values:
        raise BookingRefused("Choose consultation or treatment.", code="bad_kind")
    if times.starts_at < now:
        raise BookingRefused("That time is in the past.", code="in_past")
    if not location.is_active:
        raise BookingRefused(f"{location.name} is not taking bookings.", code="location_inactive")
    if room.location_id != location.pk:
        raise BookingRefused(f"{room.name} is at another location.", code="room_wrong_location")
    if not room.is_active:
        raise BookingRefused(f"{room.name} is not in use.", code="room_inactive")
    if device is not None:
        if device.location_id != location.pk:
            raise BookingRefused(f"{device} is at another location.", code="device_wrong_location")
        if not device.in_service:
            raise BookingRefused(f"{device} is out of service.", code="device_out_of_service")
    if not practitioner.is_active or practitioner.role not in selectors.PRACTITIONER_ROLES:
        raise BookingRefused(f"{practitioner} cannot be booked as a practitioner.", code="not_practitioner")
    if not Membership.objects.filter(user=practitioner, location=location).exists():
        raise BookingRefused(f"{practitioner} does not work at {location.name}.", code="not_member")

    zone = location.zone
    local_start = location.local(times.starts_at)
    day = local_start.date()
    weekday = Weekday(day.weekday()).label
    start, resource_start, end = epoch(times.starts_at), epoch(times.resource_starts_at), epoch(times.ends_at)
    if location.local(times.ends_at).date() != day and location.local(times.ends_at).time() != time(0, 0):
        raise BookingRefused("An appointment must end on the day it starts.", code="crosses_midnight")

    opening = list(OpeningHours.objects.filter(location=location, weekday=day.weekday()).values_list("opens_at", "closes_at"))
    if not covered(local_periods(zone, day, opening), start, end):
        raise BookingRefused(f"{location.name} is open {_hhmm(opening)} on {weekday}s; the booking must fit inside.", code="closed")
    closure = Closure.objects.filter(location=location, starts_at__lt=times.ends_at, ends_at__gt=times.starts_at).first()
    if closure is not None:
        raise BookingRefused(f"{location.name} is closed then: {closure.reason}.", code="closure")

    working = list(
        WorkingHours.objects.filter(user=practitioner, location=location, weekday=day.weekday()).values_list("starts_at", "ends_at")
    )
    if not covered(local_periods(zone, day, working), resource_start, end):
        raise BookingRefused(
            f"{practitioner} works {_hhmm(working)} at {location.name} on {weekday}s; the booking is outside those hours.",
            code="not_working",
        )
    if TimeOff.objects.filter(user=practitioner, starts_at__lt=times.ends_at, ends_at__gt=times.resource_starts_at).exists():
        raise BookingRefused(f"{practitioner} has time off then.", code="time_off")


def _check_free(
    *,
    practitioner: User,
    room: Room,
    device: Device | None,
    patient: Patient,
    times: _Times,
    exclude_ids: Sequence[int] = (),
) -> None:
    """Raise _Taken naming the first busy resource. Authoritative on SQLite (write-locked transaction)."""
    resource_overlap = Q(resource_starts_at__lt=times.ends_at, ends_at__gt=times.resource_starts_at)
    who = Q(practitioner=practitioner) | Q(room=room)
    if device is not None:
        who |= Q(device=device)
    clashes = (
        Appointment.objects.filter(status__in=ACTIVE, starts_at__gte=times.starts_at - MAX_SPAN, starts_at__lt=times.ends_at)
        .filter((who & resource_overlap) | Q(patient=patient, ends_at__gt=times.starts_at))
        .exclude(id__in=list(exclude_ids))
        .values_list("practitioner_id", "room_id", "device_id", "patient_id", "resource_starts_at", "ends_at")
    )
    busy: set[str] = set()
    for practitioner_id, room_id, device_id, patient_id, resource_starts_at, ends_at in clashes:
        resource_clash = resource_starts_at < times.ends_at and ends_at > times.resource_starts_at
        if resource_clash and practitioner_id == practitioner.pk:
            busy.add("practitioner")
        if resource_clash and room_id == room.pk:
            busy.add("room")
        if resource_clash and device is not None and device_id == device.pk:
            busy.add("device")
        if patient_id == patient.pk:
            busy.add("patient")
    for resource in ("practitioner", "room", "device", "patient"):
        if resource in busy:
            raise _Taken(resource, raced=False)


def _constraint_of(error: DatabaseError) -> str | None:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def _is_deadlock(error: DatabaseError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == "40P01"


@contextmanager
def _guarded_write() -> Iterator[None]:
    """Run a write in a savepoint; an exclusion-constraint violation (or a deadlock between two
    series bookings waiting on each other) becomes _Taken, leaving the outer transaction usable."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        resource = CONSTRAINT_RESOURCE.get(_constraint_of(error) or "")
        if resource is None:
            raise
        raise _Taken(resource, raced=True) from None
    except DatabaseError as error:
        if not _is_deadlock(error):
            raise
        raise _Taken("practitioner", raced=True) from None


def _busy_message(resource: str, *, practitioner: User, room: Room, device: Device | None) -> str:
    return {
        "practitioner": f"{practitioner} is already booked then",
        "room": f"{room.name} is already booked then",
        "device": f"{device} is already booked then" if device is not None else "The device is already booked then",
        "patient": "The patient already has an appointment then",
    }[resource]


def _slot_unavailable(
    taken: _Taken,
    *,
    location: Location,
    patient: Patient,
    practitioner: User,
    room: Room,
    device: Device | None,
    starts_at: datetime,
    numbing_minutes: int,
    procedure_minutes: int,
    exclude_ids: Sequence[int] = (),
    index: int | None = None,
) -> SlotUnavailable:
    reason = _busy_message(taken.resource, practitioner=practitioner, room=room, device=device)
    message = f"This slot was just taken: {reason}." if taken.raced else f"This slot is not free: {reason}."
    finder = selectors.SlotFinder(
        location=location, needs_device=device is not None, patient_id=patient.pk, exclude_appointment_ids=exclude_ids
    )
    durations = Durations(numbing_minutes, procedure_minutes)
    same = finder.next_free(after=starts_at, durations=durations, limit=3, practitioner_id=practitioner.pk)
    anyone = finder.next_free(after=starts_at, durations=durations, limit=5)
    seen: set[tuple[datetime, int]] = set()
    alternatives = []
    for slot in sorted([*same, *anyone], key=lambda s: (s.starts_at, s.practitioner_id != practitioner.pk)):
        if (slot.starts_at, slot.practitioner_id) not in seen:
            seen.add((slot.starts_at, slot.practitioner_id))
            alternatives.append(slot)
    return SlotUnavailable(message, resource=taken.resource, alternatives=alternatives[:5], index=index)


# --- booking ----------------------------------------------------------------------------------------


def _audit(ctx: audit.AuditContext, appointment: Appointment, *, action: str, detail: dict[str, object]) -> None:
    audit.record(
        ctx,
        action=action,
        object_type="appointment",
        object_id=appointment.pk,
        patient_id=appointment.patient_id,
        location_id=appointment.location_id,
        detail=detail,
    )


def _book_one(ctx: audit.AuditContext, proposal: ProposedBooking, *, series_key: str, now: datetime) -> Appointment:
    times = _times(proposal.location, proposal.starts_at, proposal.numbing_minutes, proposal.procedure_minutes)
    _check_rules(
        location=proposal.location,
        practitioner=proposal.practitioner,
        room=proposal.room,
        device=proposal.device,
        kind=proposal.kind,
        times=times,
        now=now,
    )
    if len(proposal.notes) > 1000 or len(proposal.protocol_key) > 80:
        raise BookingRefused("Notes are limited to 1,000 characters and protocol keys to 80.", code="too_long")
    _check_free(practitioner=proposal.practitioner, room=proposal.room, device=proposal.device, patient=proposal.patient, times=times)
    appointment = Appointment(
        location=proposal.location,
        patient=proposal.patient,
        practitioner=proposal.practitioner,
        room=proposal.room,
        device=proposal.device,
        kind=proposal.kind,
        starts_at=times.starts_at,
        resource_starts_at=times.resource_starts_at,
        ends_at=times.ends_at,
        numbing_minutes=proposal.numbing_minutes,
        procedure_minutes=proposal.procedure_minutes,
        protocol_key=proposal.protocol_key,
        series_key=series_key,
        notes=proposal.notes,
        booked_by=ctx.actor,
    )
    with _guarded_write():
        appointment.save()
    _audit(
        ctx,
        appointment,
        action=AuditEvent.Action.CREATE,
        detail={"kind": appointment.kind, "series_key": series_key, "practitioner_id": proposal.practitioner.pk},
    )
    notifications.queue_reminders(appointment, now=now)
    return appointment


def book_appointment(
    *,
    ctx: audit.AuditContext,
    location: Location,
    patient: Patient,
    practitioner: User,
    room: Room,
    device: Device | None,
    starts_at: datetime,
    kind: str,
    numbing_minutes: int,
    procedure_minutes: int,
    protocol_key: str = "",
    notes: str = "",
    series_key: str = "",
    notify: bool = True,
) -> Appointment:
    """Book one appointment. Raises BookingRefused (a rule) or SlotUnavailable (busy, with alternatives)."""
    proposal = ProposedBooking(
        location=location,
        patient=patient,
        practitioner=practitioner,
        room=room,
        device=device,
        starts_at=starts_at,
        kind=kind,
        numbing_minutes=numbing_minutes,
        procedure_minutes=procedure_minutes,
        protocol_key=protocol_key,
        notes=notes,
    )
    now = timezone.now()
    try:
        with transaction.atomic(), outbox.batch():  # its messages: one insert, one task
            appointment = _book_one(ctx, proposal, series_key=series_key, now=now)
            if notify:
                notifications.queue_confirmation([appointment], now=now)
    except _Taken as taken:
        raise _slot_unavailable(
            taken,
            location=location,
            patient=patient,
            practitioner=practitioner,
            room=room,
            device=device,
            starts_at=starts_at,
            numbing_minutes=numbing_minutes,
            procedure_minutes=procedure_minutes,
        ) from None
    return appointment


def new_series_key() -> str:
    return uuid.uuid4().hex


def book_series(
    *, ctx: audit.AuditContext, bookings: Sequence[ProposedBooking], series_key: str = "", notify: bool = True
) -> list[Appointment]:
    """Book every proposal or none (one transaction). The appointments share a series key.

    Raises BookingRefused or SlotUnavailable with `.index` naming the proposal that failed; nothing
    is left booked. The patient gets one confirmation listing every session, with one .ics.
    """
    if not bookings:
        raise BookingRefused("Nothing to book.", code="empty_series")
    series_key = series_key or new_series_key()
    if len(series_key) > 64:
        raise BookingRefused("The series key is limited to 64 characters.", code="too_long")
    now = timezone.now()
    index = 0
    try:
        with transaction.atomic(), outbox.batch():  # every session's messages: one insert, one task
            booked = []
            for index, proposal in enumerate(bookings):  # noqa: B007 (index is reported on failure)
                booked.append(_book_one(ctx, proposal, series_key=series_key, now=now))
            if notify:
                notifications.queue_confirmation(booked, now=now)
    except _Taken as taken:
        failed = bookings[index]
        raise _slot_unavailable(
            taken,
            location=failed.location,
            patient=failed.patient,
            practitioner=failed.practitioner,
            room=failed.room,
            device=failed.device,
            starts_at=failed.starts_at,
            numbing_minutes=failed.numbing_minutes,
            procedure_minutes=failed.procedure_minutes,
            index=index,
        ) from None
    except SchedulingError as error:
        error.index = index
        error.message = f"Session {index + 1}: {error.message}"
        error.args = (error.message,)
        raise
    return booked


# --- changing a booking -------------------------------------------------------------------------------


def _locked(appointment: Appointment) -> Appointment:
    # Lock only the appointment row (of=self): the device join is an outer join, which cannot be locked.
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("location", "patient", "practitioner", "room", "device")
        .get(pk=appointment.pk)
    )


def _require_status(appointment: Appointment, allowed: Sequence[str], doing: str) -> None:
    if appointment.status not in allowed:
        raise WrongStatus(f"Cannot {doing} an appointment that is {appointment.get_status_display().lower()}.", code="wrong_status")


@dataclass
class _Move:
    appointment: Appointment
    previous_starts_at: datetime
    changed: list[str] = field(default_factory=list)


def _apply_move(ctx: audit.AuditContext, move: SeriesMove, *, now: datetime, exclude_ids: Sequence[int], check_free: bool) -> _Move:
    current = _locked(move.appointment)
    _require_status(current, [Status.BOOKED], "move")
    practitioner = move.practitioner or current.practitioner
    room = move.room or current.room
    device = current.device if move.keep_device and move.device is None else move.device
    times = _times(current.location, move.starts_at, current.numbing_minutes, current.procedure_minutes)
    _check_rules(location=current.location, practitioner=practitioner, room=room, device=device, kind=current.kind, times=times, now=now)
    if check_free:
        _check_free(practitioner=practitioner, room=room, device=device, patient=current.patient, times=times, exclude_ids=exclude_ids)
    result = _Move(appointment=current, previous_starts_at=current.starts_at)
    for name, value in (
        ("starts_at", times.starts_at),
        ("resource_starts_at", times.resource_starts_at),
        ("ends_at", times.ends_at),
        ("practitioner", practitioner),
        ("room", room),
        ("device", device),
    ):
        if getattr(current, name) != value:
            setattr(current, name, value)
            result.changed.append(name)
    return result


def _check_moves(ctx: audit.AuditContext, moves: Sequence[_Move], override_reason: str) -> None:
    try:
        hooks.check_moves(ctx, [move.appointment for move in moves], override_reason)
    except hooks.MoveRefused as refused:
        raise MoveNeedsOverride(refused.message, overridable=refused.overridable) from None


def _after_move(ctx: audit.AuditContext, move: _Move, *, now: datetime, notify: bool) -> None:
    appointment = move.appointment
    _audit(ctx, appointment, action=AuditEvent.Action.UPDATE, detail={"fields": move.changed, "rescheduled": True})
    if "starts_at" in move.changed:
        notifications.cancel_reminders(appointment)
        notifications.queue_reminders(appointment, now=now)
        if notify:
            notifications.queue_rescheduled(appointment, previous_starts_at=move.previous_starts_at, now=now)


def reschedule_appointment(
    *,
    ctx: audit.AuditContext,
    appointment: Appointment,
    starts_at: datetime,
    practitioner: User | None = None,
    room: Room | None = None,
    device: Device | None = None,
    keep_device: bool = True,
    notify: bool = True,
    override_reason: str = "",
) -> Appointment:
    """Move a booked appointment (and optionally its practitioner, room or device). Its pending
    reminders move with it. Raises BookingRefused, WrongStatus, SlotUnavailable or MoveNeedsOverride
    (`override_reason`: a doctor's reason for moving a course session outside its window)."""
    now = timezone.now()
    move = SeriesMove(
        appointment=appointment, starts_at=starts_at, practitioner=practitioner, room=room, device=device, keep_device=keep_device
    )
    try:
        with transaction.atomic():
            result = _apply_move(ctx, move, now=now, exclude_ids=[appointment.pk], check_free=True)
            _check_moves(ctx, [result], override_reason)
            with _guarded_write():
                result.appointment.save()
            _after_move(ctx, result, now=now, notify=notify)
    except _Taken as taken:
        raise _slot_unavailable(
            taken,
            location=appointment.location,
            patient=appointment.patient,
            practitioner=practitioner or appointment.practitioner,
            room=room or appointment.room,
            device=appointment.device if keep_device and device is None else device,
            starts_at=starts_at,
            numbing_minutes=appointment.numbing_minutes,
            procedure_minutes=appointment.procedure_minutes,
            exclude_ids=[appointment.pk],
        ) from None
    return result.appointment


def _intervals_clash(moves: Sequence[_Move]) -> str | None:
    """Overlaps among the moved appointments themselves (their old places are being vacated)."""
    for i, first in enumerate(moves):
        a = first.appointment
        for second in moves[i + 1 :]:
            b = second.appointment
            resource_overlap = a.resource_starts_at < b.ends_at and b.resource_starts_at < a.ends_at
            if resource_overlap and a.practitioner_id == b.practitioner_id:
                return "practitioner"
            if resource_overlap and a.room_id == b.room_id:
                return "room"
            if resource_overlap and a.device_id is not None and a.device_id == b.device_id:
                return "device"
            if a.patient_id == b.patient_id and a.starts_at < b.ends_at and b.starts_at < a.ends_at:
                return "patient"
    return None


def reschedule_series(
    *, ctx: audit.AuditContext, moves: Sequence[SeriesMove], notify: bool = True, override_reason: str = ""
) -> list[Appointment]:
    """Move several appointments at once, all or nothing (moving one session shifts the later ones).

    The moved appointments' old places do not block their new ones: on PostgreSQL the exclusion
    constraints are checked on the end state (deferred to the end of this service), on SQLite the
    check excludes them and compares them with each other. Errors carry `.index` into `moves`.
    """
    if not moves:
        return []
    now = timezone.now()
    ids = [move.appointment.pk for move in moves]
    ordered = sorted(range(len(moves)), key=lambda n: moves[n].appointment.pk)  # lock rows in primary-key order
    index: int | None = None
    try:
        with transaction.atomic():
            applied = []
            for index in ordered:
                applied.append(_apply_move(ctx, moves[index], now=now, exclude_ids=ids, check_free=True))
            index = None
            clash = _intervals_clash(applied)
            if clash is not None:
                raise _Taken(clash, raced=False)
            _check_moves(ctx, applied, override_reason)
            with _guarded_write():
                _defer_overlap_checks(True)
                for result in applied:
                    result.appointment.save()
                _defer_overlap_checks(False)  # checks the end state now, inside the savepoint
            for result in applied:
                _after_move(ctx, result, now=now, notify=notify)
    except _Taken as taken:
        failed = moves[index if index is not None else 0]
        appointment = failed.appointment
        raise _slot_unavailable(
            taken,
            location=appointment.location,
            patient=appointment.patient,
            practitioner=failed.practitioner or appointment.practitioner,
            room=failed.room or appointment.room,
            device=appointment.device if failed.keep_device and failed.device is None else failed.device,
            starts_at=failed.starts_at,
            numbing_minutes=appointment.numbing_minutes,
            procedure_minutes=appointment.procedure_minutes,
            exclude_ids=ids,
            index=index,
        ) from None
    except SchedulingError as error:
        error.index = index
        raise
    return sorted((result.appointment for result in applied), key=lambda a: a.starts_at)


def _defer_overlap_checks(defer: bool) -> None:
    """PostgreSQL: check the no-overlap constraints at the end (True) or now and from here on (False)."""
    if connection.vendor != "postgresql":
        return
    names = ", ".join(CONSTRAINT_RESOURCE)
    with connection.cursor() as cursor:
        cursor.execute(f"SET CONSTRAINTS {names} {'DEFERRED' if defer else 'IMMEDIATE'}")


def cancel_appointment(*, ctx: audit.AuditContext, appointment: Appointment, reason: str, notify: bool = True) -> Appointment:
    """Cancel a booking: its pending reminders are cancelled, the patient is told, and waitlisted
    patients who want that day are offered the freed slot."""
    reason = reason.strip()
    if not reason:
        raise BookingRefused("Say why the appointment is cancelled.", code="reason_required")
    if len(reason) > 300:
        raise BookingRefused("The reason is limited to 300 characters.", code="too_long")
    now = timezone.now()
    with transaction.atomic():
        current = _locked(appointment)
        _require_status(current, [Status.BOOKED, Status.CHECKED_IN], "cancel")
        current.status, current.cancelled_at, current.cancelled_reason = Status.CANCELLED, now, reason
        current.save(update_fields=["status", "cancelled_at", "cancelled_reason", "updated_at"])
        _audit(ctx, current, action=AuditEvent.Action.UPDATE, detail={"fields": ["status"], "status": Status.CANCELLED})
        notifications.cancel_reminders(current)
        if notify and current.starts_at > now:
            notifications.queue_cancellation(current, now=now)
        if current.starts_at > now:
            offer_freed_slot(current, now=now)
    return current


def mark_no_show(*, ctx: audit.AuditContext, appointment: Appointment) -> Appointment:
    """The patient did not come. Only once the appointment has started."""
    now = timezone.now()
    with transaction.atomic():
        current = _locked(appointment)
        _require_status(current, [Status.BOOKED], "mark as not attended")
        if current.starts_at > now:
            raise WrongStatus("An appointment can be marked as not attended only once it has started.", code="too_early")
        current.status = Status.NO_SHOW
        current.save(update_fields=["status", "updated_at"])
        _audit(ctx, current, action=AuditEvent.Action.UPDATE, detail={"fields": ["status"], "status": Status.NO_SHOW})
        notifications.cancel_reminders(current)
    return current


def check_in(*, ctx: audit.AuditContext, appointment: Appointment) -> Appointment:
    """The patient has arrived: on the appointment's own (local) day, before it ends."""
    now = timezone.now()
    with transaction.atomic():
        current = _locked(appointment)
        _require_status(current, [Status.BOOKED], "check in")
        if current.location.local(now).date() != current.local_starts_at().date() or now >= current.ends_at:
            raise WrongStatus("Patients can be checked in on the day of their appointment, before it ends.", code="wrong_day")
        current.status, current.checked_in_at = Status.CHECKED_IN, now
        current.save(update_fields=["status", "checked_in_at", "updated_at"])
        _audit(ctx, current, action=AuditEvent.Action.UPDATE, detail={"fields": ["status"], "status": Status.CHECKED_IN})
        notifications.cancel_reminders(current)
    return current


def start_appointment(*, ctx: audit.AuditContext, appointment: Appointment) -> Appointment:
    """The session begins (for the procedure record). Checked-in appointments only."""
    with transaction.atomic():
        current = _locked(appointment)
        _require_status(current, [Status.CHECKED_IN], "start")
        current.status = Status.IN_PROGRESS
        current.save(update_fields=["status", "updated_at"])
        _audit(ctx, current, action=AuditEvent.Action.UPDATE, detail={"fields": ["status"], "status": Status.IN_PROGRESS})
    return current


def complete_appointment(*, ctx: audit.AuditContext, appointment: Appointment) -> Appointment:
    with transaction.atomic():
        current = _locked(appointment)
        _require_status(current, [Status.CHECKED_IN, Status.IN_PROGRESS], "complete")
        current.status = Status.COMPLETED
        current.save(update_fields=["status", "updated_at"])
        _audit(ctx, current, action=AuditEvent.Action.UPDATE, detail={"fields": ["status"], "status": Status.COMPLETED})
    return current


# --- waitlist -----------------------------------------------------------------------------------------


def add_to_waitlist(
    *,
    ctx: audit.AuditContext,
    location: Location,
    patient: Patient,
    earliest_on: date,
    latest_on: date,
    practitioner: User | None = None,
    kind: str = Appointment.Kind.TREATMENT,
    numbing_minutes: int = 0,
    procedure_minutes: int = 30,
    needs_device: bool = False,
    notes: str = "",
) -> WaitlistEntry:
    if earliest_on > latest_on:
        raise BookingRefused("The first wanted date must not be after the last.", code="dates_in_order")
    if latest_on < location.local(timezone.now()).date():
        raise BookingRefused("The wanted dates are in the past.", code="in_past")
    _times(location, timezone.now(), numbing_minutes, procedure_minutes)  # validates the durations
    with transaction.atomic():
        entry = WaitlistEntry.objects.create(
            location=location,
            patient=patient,
            practitioner=practitioner,
            kind=kind,
            numbing_minutes=numbing_minutes,
            procedure_minutes=procedure_minutes,
            needs_device=needs_device,
            earliest_on=earliest_on,
            latest_on=latest_on,
            notes=notes[:300],
            created_by=ctx.actor,
        )
        audit.record(
            ctx,
            action=AuditEvent.Action.CREATE,
            object_type="waitlist-entry",
            object_id=entry.pk,
            patient_id=patient.pk,
            location_id=location.pk,
        )
    return entry


def remove_from_waitlist(*, ctx: audit.AuditContext, entry: WaitlistEntry, expected_version: int | None = None) -> WaitlistEntry:
    """With `expected_version` (what the waitlist page showed), removing an entry booked meanwhile is refused: StaleEdit."""
    with transaction.atomic():
        locked = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        check_version(locked, expected_version)
        locked.status = WaitlistEntry.Status.REMOVED
        bump(locked)
        locked.save(update_fields=["status", "updated_at", "version"])
        locked.offers.filter(status=WaitlistOffer.Status.OPEN).update(status=WaitlistOffer.Status.DECLINED)
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="waitlist-entry",
            object_id=locked.pk,
            patient_id=locked.patient_id,
            location_id=locked.location_id,
            detail={"fields": ["status"], "status": "removed"},
        )
    return locked


def offer_freed_slot(freed: Appointment, *, now: datetime | None = None) -> list[WaitlistOffer]:
    """Offer a cancelled appointment's time to the longest-waiting patients it suits (up to three).

    Suits: same location, the day inside their wanted dates, their practitioner (if they named one),
    a device if they need one, and their session fits in the freed time.
    """
    now = now or timezone.now()
    day = freed.local_starts_at().date()
    freed_minutes = freed.numbing_minutes + freed.procedure_minutes
    candidates = (
        WaitlistEntry.objects.filter(
            location_id=freed.location_id, status=WaitlistEntry.Status.WAITING, earliest_on__lte=day, latest_on__gte=day
        )
        .filter(Q(practitioner__isnull=True) | Q(practitioner_id=freed.practitioner_id))
        .exclude(patient_id=freed.patient_id)
        .select_related("patient", "location")
        .order_by("created_at", "id")
    )
    offers = []
    for entry in candidates:
        if entry.numbing_minutes + entry.procedure_minutes > freed_minutes or (entry.needs_device and freed.device_id is None):
            continue
        offer, created = WaitlistOffer.objects.get_or_create(entry=entry, freed_appointment=freed, defaults={"starts_at": freed.starts_at})
        if created:
            notifications.queue_waitlist_offer(entry, freed, now=now)
            offers.append(offer)
        if len(offers) >= WAITLIST_OFFERS_PER_SLOT:
            break
    return offers


def book_waitlist_offer(*, ctx: audit.AuditContext, offer: WaitlistOffer) -> Appointment:
    """The patient took the offered slot: book it with the freed appointment's practitioner, room and device."""
    entry, freed = offer.entry, offer.freed_appointment
    if offer.status != WaitlistOffer.Status.OPEN or entry.status != WaitlistEntry.Status.WAITING:
        raise WrongStatus("This offer is no longer open.", code="offer_closed")
    with transaction.atomic():
        if WaitlistEntry.objects.select_for_update().filter(pk=entry.pk, status=WaitlistEntry.Status.WAITING).first() is None:
            raise WrongStatus("This offer is no longer open.", code="offer_closed")  # removed or booked meanwhile
        appointment = book_appointment(
            ctx=ctx,
            location=entry.location,
            patient=entry.patient,
            practitioner=freed.practitioner,
            room=freed.room,
            device=freed.device if entry.needs_device else None,
            starts_at=freed.starts_at,
            kind=entry.kind,
            numbing_minutes=entry.numbing_minutes,
            procedure_minutes=entry.procedure_minutes,
            notes=entry.notes,
        )
        WaitlistOffer.objects.filter(pk=offer.pk).update(status=WaitlistOffer.Status.BOOKED)
        WaitlistOffer.objects.filter(freed_appointment=freed, status=WaitlistOffer.Status.OPEN).update(status=WaitlistOffer.Status.DECLINED)
        WaitlistOffer.objects.filter(entry=entry, status=WaitlistOffer.Status.OPEN).update(status=WaitlistOffer.Status.DECLINED)
        WaitlistEntry.objects.filter(pk=entry.pk).update(
            status=WaitlistEntry.Status.BOOKED, updated_at=timezone.now(), version=F("version") + 1
        )
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="waitlist-entry",
            object_id=entry.pk,
            patient_id=entry.patient_id,
            location_id=entry.location_id,
            detail={"fields": ["status"], "status": "booked", "appointment_id": appointment.pk},
        )
    return appointment


# --- working time ----------------------------------------------------------------------------------------


def _record_setting(
    ctx: audit.AuditContext, *, action: str, object_type: str, object_id: object, location_id: int | None, detail: dict[str, object]
) -> None:
    audit.record(ctx, action=action, object_type=object_type, object_id=object_id, location_id=location_id, detail=detail)


def set_policy(
    *, ctx: audit.AuditContext, location: Location, numbing_in_waiting_area: bool, slot_minutes: int, expected_version: int | None = None
) -> SchedulingPolicy:
    """With `expected_version` (what the manager's page loaded), a change made from a stale page is refused: StaleEdit."""
    if not 5 <= slot_minutes <= 60:
        raise BookingRefused("Slots must be 5 to 60 minutes apart.", code="bad_slot")
    with transaction.atomic():
        policy, _ = SchedulingPolicy.objects.select_for_update().get_or_create(location=location)
        check_version(policy, expected_version)
        policy.numbing_in_waiting_area, policy.slot_minutes = numbing_in_waiting_area, slot_minutes
        bump(policy)
        policy.save()
        _record_setting(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="scheduling-policy",
            object_id=policy.pk,
            location_id=location.pk,
            detail={"fields": ["numbing_in_waiting_area", "slot_minutes"]},
        )
    return policy


def add_working_hours(
    *, ctx: audit.AuditContext, user: User, location: Location, weekday: int, starts_at: time, ends_at: time
) -> WorkingHours:
    if not 0 <= weekday <= 6:
        raise BookingRefused("Choose a weekday.", code="bad_weekday")
    if starts_at >= ends_at:
        raise BookingRefused("Working hours must end after they start.", code="bad_hours")
    if user.role not in selectors.PRACTITIONER_ROLES or not Membership.objects.filter(user=user, location=location).exists():
        raise BookingRefused(f"{user} is not a practitioner at {location.name}.", code="not_member")
    with transaction.atomic():
        clash = WorkingHours.objects.filter(user=user, location=location, weekday=weekday, starts_at__lt=ends_at, ends_at__gt=starts_at)
        if clash.exists():
            raise BookingRefused("These hours overlap hours already set for that day.", code="hours_overlap")
        hours = WorkingHours.objects.create(user=user, location=location, weekday=weekday, starts_at=starts_at, ends_at=ends_at)
        _record_setting(
            ctx,
            action=AuditEvent.Action.CREATE,
            object_type="working-hours",
            object_id=hours.pk,
            location_id=location.pk,
            detail={"user_id": user.pk},
        )
    return hours


def remove_working_hours(*, ctx: audit.AuditContext, hours: WorkingHours) -> None:
    with transaction.atomic():
        _record_setting(
            ctx,
            action=AuditEvent.Action.DELETE,
            object_type="working-hours",
            object_id=hours.pk,
            location_id=hours.location_id,
            detail={"user_id": hours.user_id, "weekday": hours.weekday},
        )
        hours.delete()


def add_time_off(
    *, ctx: audit.AuditContext, user: User, location: Location, starts_at: datetime, ends_at: datetime, reason: str = ""
) -> tuple[TimeOff, int]:
    """Record time off; returns it and how many booked appointments it now overlaps (to move them)."""
    if starts_at >= ends_at:
        raise BookingRefused("Time off must end after it starts.", code="bad_hours")
    with transaction.atomic():
        off = TimeOff.objects.create(user=user, starts_at=starts_at, ends_at=ends_at, reason=reason[:200])
        _record_setting(
            ctx,
            action=AuditEvent.Action.CREATE,
            object_type="time-off",
            object_id=off.pk,
            location_id=location.pk,
            detail={"user_id": user.pk},
        )
        affected = selectors.active_appointments_between(practitioner=user, start=starts_at, end=ends_at)
    return off, affected


def remove_time_off(*, ctx: audit.AuditContext, time_off: TimeOff, location: Location) -> None:
    with transaction.atomic():
        _record_setting(
            ctx,
            action=AuditEvent.Action.DELETE,
            object_type="time-off",
            object_id=time_off.pk,
            location_id=location.pk,
            detail={"user_id": time_off.user_id},
        )
        time_off.delete()


def add_closure(*, ctx: audit.AuditContext, location: Location, starts_at: datetime, ends_at: datetime, reason: str) -> tuple[Closure, int]:
    """Close a location for a stretch of time; returns it and how many booked appointments it overlaps."""
    if starts_at >= ends_at:
        raise BookingRefused("A closure must end after it starts.", code="bad_hours")
    if not reason.strip():
        raise BookingRefused("Say why the location is closed.", code="reason_required")
    with transaction.atomic():
        closure = Closure.objects.create(location=location, starts_at=starts_at, ends_at=ends_at, reason=reason.strip()[:200])
        _record_setting(
            ctx, action=AuditEvent.Action.CREATE, object_type="closure", object_id=closure.pk, location_id=location.pk, detail={}
        )
        affected = selectors.active_appointments_between(location=location, start=starts_at, end=ends_at)
    return closure, affected


def remove_closure(*, ctx: audit.AuditContext, closure: Closure) -> None:
    with transaction.atomic():
        _record_setting(
            ctx, action=AuditEvent.Action.DELETE, object_type="closure", object_id=closure.pk, location_id=closure.location_id, detail={}
        )
        closure.delete()


# --- calendar feeds ---------------------------------------------------------------------------------------


def regenerate_calendar_feed(*, ctx: audit.AuditContext, user: User) -> str:
    """A new secret feed token for `user` (the old URL stops working). Returns the token — shown once."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        CalendarFeed.objects.update_or_create(user=user, defaults={"token_hash": CalendarFeed.hash_token(token)})
        audit.record(ctx, action=AuditEvent.Action.UPDATE, object_type="calendar-feed", object_id=user.pk, detail={"regenerated": True})
    return token


def revoke_calendar_feed(*, ctx: audit.AuditContext, user: User) -> bool:
    with transaction.atomic():
        deleted, _ = CalendarFeed.objects.filter(user=user).delete()
        audit.record(
            ctx, action=AuditEvent.Action.DELETE, object_type="calendar-feed", object_id=user.pk, detail={"revoked": bool(deleted)}
        )
    return bool(deleted)

"""The course planner: a start time, a qualified practitioner, a free room and (when a chosen
technique needs one) a free in-service Dermapen for every session of a course, inside its window.

Windows are local dates. Session 1's window opens on the start date and lasts FIRST_WINDOW_DAYS;
session n's window is [d + interval_min, d + interval_max] where d is the local date of session
n-1 (its booked or done appointment, or what this plan proposes for it). Later sessions keep the
previous session's wall-clock time and practitioner when they are free, so a course crossing a
daylight-saving change stays at 10:30 local time.

The planner is a read: it builds one scheduling `SlotFinder` per plan (location hours and
resources in six queries; busy intervals read per chunk of days as the search reaches them, each
day at most once) and holds every slot it proposes, so later sessions of the same plan never
collide with earlier ones. The number of queries depends on the number of sessions, never on how
many appointments exist. See docs/decisions/0014.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property

from django.db.models import QuerySet

from mesoclinic.accounts.models import User
from mesoclinic.catalog.models import Protocol
from mesoclinic.core.models import Device, Location, Room
from mesoclinic.scheduling import selectors as scheduling
from mesoclinic.scheduling.models import Appointment
from mesoclinic.scheduling.slots import Durations, Slot, covered, days_between, epoch

from .models import Course, CourseSession, Qualification

FIRST_WINDOW_DAYS = 14
SUGGESTIONS = 4
SAME_WEEKDAY_TRIES = 2


def qualified_practitioners(*, protocol: Protocol, location: Location) -> QuerySet[User]:
    """Practitioners who may be booked at `location` and are qualified for `protocol`."""
    qualified = Qualification.objects.filter(protocol=protocol).values("practitioner_id")
    return scheduling.practitioners_at(location).filter(id__in=qualified)


@dataclass(frozen=True)
class Choice:
    """A session's local date, wall-clock time and practitioner, as the receptionist set them."""

    on: date
    at: time
    practitioner_id: int


@dataclass
class ProposedSession:
    """One row of a plan: an existing booking (`fixed`) or a proposed slot, with its window."""

    number: int
    window_opens_on: date
    window_closes_on: date
    slot: Slot | None = None
    appointment: Appointment | None = None  # a booked or done session (fixed), or the one being moved
    fixed: bool = False
    late: bool = False  # the session's window had already passed: proposed as soon as possible
    outside_window: bool = False  # the only problem: outside the window (a doctor may override it, decision 24)
    problem: str = ""
    suggestions: list[Slot] = field(default_factory=list)
    local_starts_at: datetime | None = None
    local_ends_at: datetime | None = None
    practitioner: User | None = None
    room: Room | None = None
    device: Device | None = None

    @property
    def bookable(self) -> bool:
        """A proposal that `book_course` can book as it stands."""
        return not self.fixed and self.slot is not None and not self.problem

    @property
    def starts_on(self) -> date | None:
        return self.local_starts_at.date() if self.local_starts_at else None

    @property
    def state_label(self) -> str:
        if self.fixed and self.appointment is not None:
            return "Done" if self.appointment.status == Appointment.Status.COMPLETED else "Booked"
        if self.problem:
            return "Needs attention"
        return "Proposed"


def first_window(start_on: date) -> tuple[date, date]:
    return start_on, start_on + timedelta(days=FIRST_WINDOW_DAYS - 1)


def next_window(previous_on: date, course: Course) -> tuple[date, date]:
    return previous_on + timedelta(days=course.interval_min_days), previous_on + timedelta(days=course.interval_max_days)


def session_date(course: Course, session: CourseSession) -> date | None:
    """The local date of a booked or done session (None otherwise)."""
    if session.holds_time and session.appointment is not None:
        return session.appointment.starts_at.astimezone(course.location.zone).date()
    return None


def derived_windows(course: Course, sessions: Iterable[CourseSession]) -> dict[int, tuple[date, date] | None]:
    """Each session's window as it stands: counted from the actual date of the session before it
    when that one is booked or done, else the stored window (session 1, or after an unbooked one)."""
    windows: dict[int, tuple[date, date] | None] = {}
    previous_on: date | None = None
    for session in sorted(sessions, key=lambda s: s.number):
        if previous_on is not None:
            windows[session.number] = next_window(previous_on, course)
        elif session.window_opens_on is not None and session.window_closes_on is not None:
            windows[session.number] = (session.window_opens_on, session.window_closes_on)
        else:
            windows[session.number] = None
        previous_on = session_date(course, session)
    return windows


class CoursePlanner:
    """Plans (or re-checks) the sessions of one course. Build one per request.

    `moving`: numbers of booked sessions being reconsidered (a reschedule): their appointments do
    not block the plan and they are planned again like unbooked sessions.
    """

    def __init__(self, course: Course, *, moving: Iterable[int] = (), now: datetime | None = None) -> None:
        self.course = course
        self.location: Location = course.location
        protocol = course.protocol
        self.durations = Durations(protocol.numbing_minutes, protocol.procedure_minutes)
        self.moving = set(moving)
        if "sessions" in getattr(course, "_prefetched_objects_cache", {}):  # the course page prefetched them
            self.sessions: list[CourseSession] = sorted(course.sessions.all(), key=lambda session: session.number)
        else:
            self.sessions = list(
                course.sessions.select_related("appointment__practitioner", "appointment__room", "appointment__device").order_by("number")
            )
        self.needs_device = any(technique.needs_device for technique in course.techniques.all())
        self.qualified: list[int] = list(qualified_practitioners(protocol=protocol, location=self.location).values_list("id", flat=True))
        exclude = [s.appointment_id for s in self.sessions if s.number in self.moving and s.appointment_id is not None]
        self.finder = scheduling.SlotFinder(
            location=self.location,
            practitioner_ids=self.qualified,
            needs_device=self.needs_device,
            patient_id=course.patient_id,
            exclude_appointment_ids=exclude,
            now=now,
            members_only=True,  # qualified_practitioners() reads members of the location only
        )
        self.now = self.finder.now
        self.today = self.location.local(self.now).date()

    # Resources, for display and booking (three queries, loaded on first use) ----------------------

    @cached_property
    def practitioners(self) -> dict[int, User]:
        people = {user.pk: user for user in scheduling.practitioners_at(self.location).filter(id__in=self.qualified)}
        for session in self.sessions:
            if session.appointment is not None:
                people.setdefault(session.appointment.practitioner_id, session.appointment.practitioner)
        return people

    @cached_property
    def rooms(self) -> dict[int, Room]:
        return {room.pk: room for room in Room.objects.filter(location=self.location)}

    @cached_property
    def devices(self) -> dict[int, Device]:
        return {device.pk: device for device in Device.objects.filter(location=self.location)}

    def qualified_choices(self) -> list[User]:
        return [self.practitioners[pk] for pk in self.qualified if pk in self.practitioners]

    # Planning ------------------------------------------------------------------------------------

    def plan(
        self,
        *,
        start_on: date | None = None,
        at_time: time | None = None,
        choices: Mapping[int, Choice] | None = None,
        prefer: Mapping[int, Choice] | None = None,
    ) -> list[ProposedSession]:
        """A row per session: booked ones as they are, the others proposed.

        `choices`: sessions whose date, time and practitioner the receptionist set (checked, not changed).
        `prefer`: sessions to keep where they are if that is still inside their window and free
        (the later sessions of a reschedule); otherwise they are proposed afresh.
        """
        choices = choices or {}
        prefer = prefer or {}
        course = self.course
        rows: list[ProposedSession] = []
        previous_on: date | None = None
        previous_at = at_time
        preferred = course.preferred_practitioner_id
        for index, session in enumerate(self.sessions):
            if session.holds_time and session.number not in self.moving:
                fixed = self._fixed(session)
                rows.append(fixed)
                previous_on, previous_at = fixed.starts_on, fixed.local_starts_at.time() if fixed.local_starts_at else previous_at
                preferred = course.preferred_practitioner_id or (fixed.appointment.practitioner_id if fixed.appointment else None)
                continue
            late = False
            if previous_on is None:
                opens, closes = first_window(max(start_on or self.today, self.today))
            else:
                opens, closes = next_window(previous_on, course)
                if closes < self.today:
                    late = True
                    opens, closes = self.today, self.today + timedelta(days=course.interval_max_days - course.interval_min_days)
            limit = self._next_fixed_on(index)
            if limit is not None:
                closes = min(closes, limit - timedelta(days=1))
            choice = choices.get(session.number)
            if choice is not None and previous_on is None:  # nothing before it: the first session goes where it is put
                opens, closes = min(opens, choice.on), max(closes, choice.on)
            row = self._row_for(session, opens, closes, choice, prefer.get(session.number), preferred, previous_at, previous_on)
            row.late = late
            rows.append(row)
            if row.slot is not None:
                self.finder.hold(row.slot)
                local = self.location.local(row.slot.starts_at)
                previous_on, previous_at = local.date(), local.time()
                preferred = course.preferred_practitioner_id or row.slot.practitioner_id
            else:
                previous_on = choice.on if choice is not None else opens
        return rows

    def _row_for(
        self,
        session: CourseSession,
        opens: date,
        closes: date,
        choice: Choice | None,
        kept: Choice | None,
        preferred: int | None,
        previous_at: time | None,
        previous_on: date | None,
    ) -> ProposedSession:
        if choice is not None:
            return self._check(session, opens, closes, choice)
        if kept is not None and opens <= kept.on <= closes:
            row = self._check(session, opens, closes, kept)
            if not row.problem:
                return row
        return self._propose(session, opens, closes, preferred, previous_at, previous_on)

    def _next_fixed_on(self, index: int) -> date | None:
        for later in self.sessions[index + 1 :]:
            if later.holds_time and later.number not in self.moving and later.appointment is not None:
                return self.location.local(later.appointment.starts_at).date()
        return None

    def _fixed(self, session: CourseSession) -> ProposedSession:
        appointment = session.appointment
        assert appointment is not None
        local = self.location.local(appointment.starts_at)
        return ProposedSession(
            number=session.number,
            window_opens_on=session.window_opens_on or local.date(),
            window_closes_on=session.window_closes_on or local.date(),
            appointment=appointment,
            fixed=True,
            local_starts_at=local,
            local_ends_at=self.location.local(appointment.ends_at),
            practitioner=appointment.practitioner,
            room=appointment.room,
            device=appointment.device,
        )

    def _row(self, session: CourseSession, opens: date, closes: date, slot: Slot | None, problem: str = "") -> ProposedSession:
        row = ProposedSession(
            number=session.number,
            window_opens_on=opens,
            window_closes_on=closes,
            slot=slot,
            appointment=session.appointment if session.number in self.moving else None,
            problem=problem,
        )
        if slot is not None:
            row.local_starts_at = self.location.local(slot.starts_at)
            row.local_ends_at = self.location.local(slot.ends_at)
        return row

    def _propose(
        self, session: CourseSession, opens: date, closes: date, preferred: int | None, at_time: time | None, previous_on: date | None
    ) -> ProposedSession:
        if opens > closes:
            return self._row(
                session, opens, opens, None, "No day is left between the sessions around this one: move the later sessions first."
            )
        if not self.qualified:
            return self._row(session, opens, closes, None, f"Nobody at {self.location.name} is qualified for {self.course.protocol.name}.")
        earliest = max(opens, self.today)
        if earliest > closes:
            return self._row(session, opens, closes, None, "This session's window has passed.")
        slot = self._pick(earliest, closes, preferred, at_time, previous_on)
        if slot is None:
            return self._row(session, opens, closes, None, self._nothing_free())
        return self._row(session, opens, closes, slot)

    def _pick(self, earliest: date, latest: date, preferred: int | None, at_time: time | None, previous_on: date | None) -> Slot | None:
        """Same weekday, wall-clock time and practitioner as the session before if free; then the
        practitioner at any time; then anyone at the same time; then the earliest free slot.

        The same time is looked for only on the window's days that fall on the previous session's
        weekday (a 21–28 day window has two), each a one-day search: a busy clinic then reads one
        or two days per session instead of the whole window. The first session (no session before
        it) looks for the requested time anywhere in its window.
        """
        finder, durations = self.finder, self.durations
        same_time = None
        if at_time is not None:
            if previous_on is None:
                spans = [(earliest, latest)]
            else:
                spans = [(day, day) for day in days_between(earliest, latest) if day.weekday() == previous_on.weekday()][
                    :SAME_WEEKDAY_TRIES
                ]
            for first, last in spans:
                found = finder.find(
                    earliest_on=first,
                    latest_on=last,
                    durations=durations,
                    preferred_practitioner_id=preferred,
                    from_time=at_time,
                    to_time=at_time,
                )
                if found is not None and (preferred is None or found.practitioner_id == preferred):
                    return found
                same_time = same_time or found
        any_time = finder.find(earliest_on=earliest, latest_on=latest, durations=durations, preferred_practitioner_id=preferred)
        if any_time is not None and preferred is not None and any_time.practitioner_id == preferred:
            return any_time
        return same_time or any_time

    def _nothing_free(self) -> str:
        needs = "a qualified practitioner, a room and a Dermapen" if self.needs_device else "a qualified practitioner and a room"
        return f"No time in this window has {needs} free: choose a date and time by hand, or ask the doctor about the interval."

    def _check(self, session: CourseSession, opens: date, closes: date, choice: Choice) -> ProposedSession:
        """Is the receptionist's choice bookable? The room (and Dermapen) are chosen here."""
        zone = self.location.zone
        starts_at = datetime.combine(choice.on, choice.at, tzinfo=zone)
        name = str(self.practitioners.get(choice.practitioner_id, "That practitioner"))
        if choice.practitioner_id not in self.qualified:
            return self._row(
                session, opens, closes, None, f"{name} is not qualified for {self.course.protocol.name} at {self.location.name}."
            )
        if starts_at < self.now:
            return self._row(session, opens, closes, None, "That time has passed.")
        slot = self.finder.find(
            earliest_on=choice.on,
            latest_on=choice.on,
            durations=self.durations,
            preferred_practitioner_id=choice.practitioner_id,
            from_time=choice.at,
            to_time=choice.at,
        )
        if slot is None or slot.practitioner_id != choice.practitioner_id:
            row = self._row(session, opens, closes, None, self._why_not(choice, name))
            row.suggestions = self.finder.free_on(
                on=choice.on, durations=self.durations, practitioner_id=choice.practitioner_id, limit=SUGGESTIONS
            )
            row.local_starts_at = self.location.local(starts_at)
            return row
        if opens <= choice.on <= closes:
            return self._row(session, opens, closes, slot)
        row = self._row(session, opens, closes, slot, f"Outside this session's window ({opens:%a %-d %b} to {closes:%a %-d %b %Y}).")
        row.outside_window = True
        return row

    def _why_not(self, choice: Choice, name: str) -> str:
        availability = self.finder.availability
        start = epoch(datetime.combine(choice.on, choice.at, tzinfo=self.location.zone))
        end = start + self.durations.total_seconds
        if start not in set(availability.starts_on(choice.on, self.durations)):
            minutes = self.durations.total_seconds // 60
            return (
                f"{choice.at:%H:%M} on {choice.on:%a %-d %b} is not a bookable start: the session ({minutes} min) "
                f"must fit in the opening hours, starting on the {availability.slot_minutes}-minute grid."
            )
        offset = self.durations.resource_offset_seconds(availability.numbing_in_waiting_area)
        if not covered(availability.working_periods(choice.practitioner_id, choice.on), start + offset, end):
            return f"{name} does not work at {self.location.name} then."
        if availability.closures.overlaps(start, end):
            return f"{self.location.name} is closed then."
        if availability.busy_patient.overlaps(start, end):
            return "The patient has another appointment then."
        needs = ", a room and a Dermapen" if self.needs_device else " and a room"
        return f"{name}{needs} are not all free at {choice.at:%H:%M} on {choice.on:%a %-d %b}."

    # Display -------------------------------------------------------------------------------------

    def describe(self, rows: list[ProposedSession]) -> list[ProposedSession]:
        """Fill in the practitioner, room and device objects of proposed rows (three queries at most)."""
        for row in rows:
            if row.fixed or row.slot is None:
                continue
            row.practitioner = self.practitioners.get(row.slot.practitioner_id)
            row.room = self.rooms.get(row.slot.room_id)
            row.device = self.devices.get(row.slot.device_id) if row.slot.device_id is not None else None
        return rows


def plan_course(*, course: Course, start_on: date, at_time: time | None = None, now: datetime | None = None) -> list[ProposedSession]:
    """THE PLANNER: a proposal for every session of `course` not yet booked, from `start_on`."""
    return CoursePlanner(course, now=now).plan(start_on=start_on, at_time=at_time)

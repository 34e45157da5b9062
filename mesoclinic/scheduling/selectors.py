"""Reads for scheduling: free slots, calendars, appointments. The location scope is always explicit.

Slot search (`SlotFinder`, `find_slot`, `free_slots`) loads a location's hours and resources once
(six queries), then the busy intervals of the days it looks at in one query per chunk of days
(with the time off and closures of that chunk: three queries), and computes in Python. It never
queries per candidate slot. See docs/decisions/0009.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, Func, Q, QuerySet
from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.accounts.roles import CLINICAL
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent, Device, Location, OpeningHours, Room

from .models import MAX_APPOINTMENT_MINUTES, Appointment, Closure, SchedulingPolicy, TimeOff, WaitlistEntry, WaitlistOffer, WorkingHours
from .slots import Availability, Busy, Durations, Period, Slot, days_between, epoch

ACTIVE = list(Appointment.ACTIVE)
PRACTITIONER_ROLES = sorted(CLINICAL)
MAX_SPAN = timedelta(minutes=MAX_APPOINTMENT_MINUTES)
BUSY_KINDS = ("practitioner", "practitioner_off", "room", "device", "patient", "closure")
OFF_SPAN_DAYS = 200  # time off and closures are read for this many days ahead at once


class EpochSeconds(Func):
    """A datetime column as whole seconds since the epoch, computed by the database (no datetime objects)."""

    output_field = BigIntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="CAST(EXTRACT(EPOCH FROM %(expressions)s) AS bigint)", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # julianday() counts days from 4714 BC; 2440587.5 is the Unix epoch. Rounded to whole seconds.
        return self.as_sql(
            compiler, connection, template="CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400) AS integer)", **extra
        )


# --- policy, practitioners ---------------------------------------------------------------------


def policy_for(location: Location) -> SchedulingPolicy:
    """The location's scheduling policy, or the defaults (unsaved) if it has none."""
    return SchedulingPolicy.objects.filter(location=location).first() or SchedulingPolicy(location=location)


def practitioners_at(location: Location) -> QuerySet[User]:
    """Active clinical staff who are members of `location` (who can be booked there)."""
    return (
        User.objects.filter(memberships__location=location, is_active=True, role__in=PRACTITIONER_ROLES)
        .order_by("last_name", "first_name", "id")
        .distinct()
    )


def rooms_at(location: Location) -> QuerySet[Room]:
    return Room.objects.filter(location=location, is_active=True).order_by("name", "id")


def devices_at(location: Location) -> QuerySet[Device]:
    return Device.objects.filter(location=location).order_by("kind", "model", "serial_number")


# --- slot search ---------------------------------------------------------------------------------


class SlotFinder:
    """Free slots at one location, for a fixed set of candidate practitioners and one patient.

    Create one per plan (the course planner) or per request (the slot picker): the location's
    hours and resources are loaded once; busy intervals are loaded per chunk of days as the search
    reaches them, so finding the first free slot of a week usually reads one day.
    """

    def __init__(
        self,
        *,
        location: Location,
        practitioner_ids: Iterable[int] | None = None,
        needs_device: bool = False,
        device_kind: str = Device.Kind.DERMAPEN,
        patient_id: int | None = None,
        exclude_appointment_ids: Iterable[int] = (),
        now: datetime | None = None,
        members_only: bool = False,
    ) -> None:
        """`members_only`: the caller has read `practitioner_ids` as members of `location` already
        (the course planner's qualified practitioners), so they are not checked again."""
        self.location = location
        self.needs_device = needs_device
        self.patient_id = patient_id
        self.exclude_ids = list(exclude_appointment_ids)
        self.now = now or timezone.now()
        self.queries_run = 0  # for tests and benchmarks
        policy = policy_for(location)
        if members_only and practitioner_ids is not None:
            candidates = sorted(set(practitioner_ids))
        else:
            members = practitioners_at(location).values_list("id", flat=True)
            if practitioner_ids is not None:
                members = members.filter(id__in=list(practitioner_ids))
            candidates = sorted(set(members))
        working: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
        for user_id, weekday, starts_at, ends_at in WorkingHours.objects.filter(location=location, user_id__in=candidates).values_list(
            "user_id", "weekday", "starts_at", "ends_at"
        ):
            working[user_id][weekday].append((starts_at, ends_at))
        opening: dict[int, list[tuple[time, time]]] = defaultdict(list)
        for weekday, opens_at, closes_at in OpeningHours.objects.filter(location=location).values_list("weekday", "opens_at", "closes_at"):
            opening[weekday].append((opens_at, closes_at))
        devices = (
            list(Device.objects.filter(location=location, kind=device_kind, in_service=True).order_by("id").values_list("id", flat=True))
            if needs_device
            else []
        )
        self.availability = Availability(
            zone=location.zone,
            numbing_in_waiting_area=policy.numbing_in_waiting_area,
            slot_minutes=policy.slot_minutes,
            opening=dict(opening),
            working={user_id: dict(days) for user_id, days in working.items()},
            practitioners=[p for p in candidates if p in working],
            rooms=list(rooms_at(location).values_list("id", flat=True)),
            devices=devices,
            closures=Busy(),
            busy_practitioner={},
            busy_room={},
            busy_device={},
            busy_patient=Busy(),
        )
        self.queries_run += 6
        self._loaded: set[date] = set()
        self._off_span: tuple[date, date] | None = None
        self._intervals: dict[str, dict[int, list[Period]]] = {kind: defaultdict(list) for kind in BUSY_KINDS}
        self._dirty: set[tuple[str, int]] = set()
        self._seen: set[int] = set()
        self._busy_sql: tuple[str, list[Any], dict[int, int]] | None = None

    # Loading -----------------------------------------------------------------------------------

    def _add(self, kind: str, key: int, start: int, end: int) -> None:
        self._intervals[kind][key].append((start, end))
        self._dirty.add((kind, key))

    def _load_time_off(self, first: date, last: date) -> None:
        """Time off and closures change rarely and are few: read them for a long span at once."""
        if self._off_span is not None and self._off_span[0] <= first and last <= self._off_span[1]:
            return
        first, last = first - timedelta(days=1), max(last, first + timedelta(days=OFF_SPAN_DAYS))
        if self._off_span is not None:  # keep what was read: widen the span to cover both
            first, last = min(first, self._off_span[0]), max(last, self._off_span[1])
            for kind in ("practitioner_off", "closure"):
                for key in self._intervals[kind]:
                    self._dirty.add((kind, key))
                self._intervals[kind].clear()
        start, end = self.location.start_of_day(first), self.location.start_of_day(last + timedelta(days=1))
        for user_id, off_start, off_end in (
            TimeOff.objects.filter(user_id__in=self.availability.practitioners, starts_at__lt=end, ends_at__gt=start)
            .order_by()
            .values_list("user_id", EpochSeconds("starts_at"), EpochSeconds("ends_at"))
        ):
            self._add("practitioner_off", user_id, off_start, off_end)
        for closed_start, closed_end in (
            Closure.objects.filter(location=self.location, starts_at__lt=end, ends_at__gt=start)
            .order_by()
            .values_list(EpochSeconds("starts_at"), EpochSeconds("ends_at"))
        ):
            self._add("closure", 0, closed_start, closed_end)
        self._off_span = (first, last)
        self.queries_run += 2

    def _load(self, days: Sequence[date]) -> None:
        """Read the busy intervals of `days` (those not read yet) in one query (times as epoch seconds)."""
        missing = [day for day in days if day not in self._loaded]
        if not missing:
            return
        first, last = min(missing), max(missing)
        self._load_time_off(first, last)
        start = self.location.start_of_day(first)
        end = self.location.start_of_day(last + timedelta(days=1))
        practitioners = self.availability.practitioners
        rows = self._busy_rows(start, end)
        practitioner_set = set(practitioners)
        location_id_here = self.location.pk
        for pk, location_id, practitioner_id, room_id, device_id, patient_id, starts, resource_starts, ends in rows:
            if pk in self._seen:
                continue  # read before, with a neighbouring chunk
            self._seen.add(pk)
            if practitioner_id in practitioner_set:
                self._add("practitioner", practitioner_id, resource_starts, ends)
            if location_id == location_id_here:
                self._add("room", room_id, resource_starts, ends)
                if device_id is not None:
                    self._add("device", device_id, resource_starts, ends)
            if patient_id == self.patient_id:
                self._add("patient", 0, starts, ends)
        self.queries_run += 1
        self._loaded.update(days_between(first, last))
        self._rebuild()

    def _busy_query(self, *, read_from: datetime, end: datetime, start: datetime) -> QuerySet[Appointment, tuple[Any, ...]]:
        whose = Q(location_id=self.location.pk) | Q(practitioner_id__in=self.availability.practitioners)
        if self.patient_id is not None:
            whose |= Q(patient_id=self.patient_id)
        return (
            Appointment.objects.filter(whose, status__in=ACTIVE, starts_at__gte=read_from, starts_at__lt=end, ends_at__gt=start)
            .exclude(id__in=self.exclude_ids)
            .order_by()
            .values_list(
                "id",
                "location_id",
                "practitioner_id",
                "room_id",
                "device_id",
                "patient_id",
                EpochSeconds("starts_at"),
                EpochSeconds("resource_starts_at"),
                EpochSeconds("ends_at"),
            )
        )

    def _busy_rows(self, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
        """The rows of `_busy_query` for one span. The SQL is compiled once per finder and only the
        three times change from one day to the next: building the query through the ORM each
        time cost as much as running it (a course plan reads six to twelve days)."""
        if self._busy_sql is None:
            marks = [datetime(1901 + n, 1, 1, tzinfo=UTC) for n in range(3)]  # stand-ins, found again in the parameters
            query = self._busy_query(read_from=marks[0], end=marks[1], start=marks[2])
            sql, params = query.query.get_compiler(using=query.db).as_sql()
            adapted = [connection.ops.adapt_datetimefield_value(mark) for mark in marks]
            positions = {i: adapted.index(value) for i, value in enumerate(params) if value in adapted}
            if sorted(positions.values()) != [0, 1, 2]:  # a backend that renders the times otherwise: no shortcut
                return list(self._busy_query(read_from=start - MAX_SPAN, end=end, start=start))
            self._busy_sql = (sql, list(params), positions)
        sql, params, positions = self._busy_sql
        values = [connection.ops.adapt_datetimefield_value(when) for when in (start - MAX_SPAN, end, start)]
        for index, which in positions.items():
            params[index] = values[which]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _rebuild(self) -> None:
        """Re-merge only the busy sets that changed since the last search."""
        a = self.availability
        for kind, key in self._dirty:
            intervals = self._intervals[kind][key]
            if kind in ("practitioner", "practitioner_off"):
                a.busy_practitioner[key] = Busy([*self._intervals["practitioner"][key], *self._intervals["practitioner_off"][key]])
            elif kind == "room":
                a.busy_room[key] = Busy(intervals)
            elif kind == "device":
                a.busy_device[key] = Busy(intervals)
            elif kind == "patient":
                a.busy_patient = Busy(intervals)
            else:
                a.closures = Busy(intervals)
        self._dirty.clear()

    # Searching ---------------------------------------------------------------------------------

    def _order(self, preferred_practitioner_id: int | None, only: int | None) -> list[int]:
        practitioners = self.availability.practitioners
        if only is not None:
            return [only] if only in practitioners else []
        if preferred_practitioner_id in practitioners:
            return [preferred_practitioner_id, *(p for p in practitioners if p != preferred_practitioner_id)]
        return list(practitioners)

    def _scan(
        self,
        days: list[date],
        durations: Durations,
        practitioners: list[int],
        *,
        not_before: datetime | None,
        from_time: time | None,
        to_time: time | None,
        every_start: bool = False,
        limit: int | None = None,
    ) -> list[Slot]:
        found: list[Slot] = []
        floor = epoch(max(not_before or self.now, self.now))
        for day in days:
            self._load([day])  # one query per day reached: the first free slot is usually on the first days
            for slot in self.availability.first_free(
                day=day,
                durations=durations,
                practitioners=practitioners,
                needs_device=self.needs_device,
                not_before=floor,
                from_time=from_time,
                to_time=to_time,
                every_start=every_start,
            ):
                found.append(slot)
                if limit is not None and len(found) >= limit:
                    return found
        return found

    def find(
        self,
        *,
        earliest_on: date,
        latest_on: date,
        durations: Durations,
        preferred_practitioner_id: int | None = None,
        not_before: datetime | None = None,
        from_time: time | None = None,
        to_time: time | None = None,
    ) -> Slot | None:
        """The first free slot between two local dates: with the preferred practitioner anywhere
        in the window if possible, otherwise the earliest with anyone qualified."""
        days = list(days_between(earliest_on, latest_on))
        if not days:
            return None
        options = {"not_before": not_before, "from_time": from_time, "to_time": to_time, "limit": 1}
        if preferred_practitioner_id is not None:
            found = self._scan(days, durations, self._order(None, preferred_practitioner_id), **options)  # type: ignore[arg-type]
            if found:
                return found[0]
        found = self._scan(days, durations, self._order(preferred_practitioner_id, None), **options)  # type: ignore[arg-type]
        return found[0] if found else None

    def free_on(self, *, on: date, durations: Durations, practitioner_id: int | None = None, limit: int | None = None) -> list[Slot]:
        """Every free start time on one local date (the first free combination for each)."""
        return self._scan(
            [on],
            durations,
            self._order(None, practitioner_id),
            not_before=None,
            from_time=None,
            to_time=None,
            every_start=True,
            limit=limit,
        )

    def next_free(
        self, *, after: datetime, durations: Durations, days: int = 14, limit: int = 5, practitioner_id: int | None = None
    ) -> list[Slot]:
        """The next free slots from `after` on, looking up to `days` ahead."""
        first = self.location.local(after).date()
        window = list(days_between(first, first + timedelta(days=days)))
        return self._scan(
            window,
            durations,
            self._order(None, practitioner_id),
            not_before=after,
            from_time=None,
            to_time=None,
            every_start=True,
            limit=limit,
        )

    def hold(self, slot: Slot) -> None:
        """Treat a proposed slot as taken for the rest of this finder's searches (planning a series)."""
        self._load([self.location.local(slot.starts_at).date()])
        start, resource_start, end = epoch(slot.starts_at), epoch(slot.resource_starts_at), epoch(slot.ends_at)
        self._add("practitioner", slot.practitioner_id, resource_start, end)
        self._add("room", slot.room_id, resource_start, end)
        if slot.device_id is not None:
            self._add("device", slot.device_id, resource_start, end)
        self._add("patient", 0, start, end)
        self._rebuild()


def find_slot(
    *,
    location: Location,
    earliest_on: date,
    latest_on: date,
    numbing_minutes: int,
    procedure_minutes: int,
    practitioner_ids: Iterable[int] | None = None,
    preferred_practitioner_id: int | None = None,
    needs_device: bool = False,
    patient_id: int | None = None,
    not_before: datetime | None = None,
) -> Slot | None:
    """The first free (practitioner, room, device, start) between two local dates, or None.

    For several sessions of one plan, create one `SlotFinder` and call `find` + `hold` per session.
    """
    finder = SlotFinder(location=location, practitioner_ids=practitioner_ids, needs_device=needs_device, patient_id=patient_id)
    return finder.find(
        earliest_on=earliest_on,
        latest_on=latest_on,
        durations=Durations(numbing_minutes, procedure_minutes),
        preferred_practitioner_id=preferred_practitioner_id,
        not_before=not_before,
    )


def free_slots(
    *,
    location: Location,
    on: date,
    numbing_minutes: int,
    procedure_minutes: int,
    practitioner: User | None = None,
    needs_device: bool = False,
    patient_id: int | None = None,
    exclude_appointment_ids: Iterable[int] = (),
    limit: int | None = None,
) -> list[Slot]:
    """Every free start time on a local date at `location` (for the slot picker)."""
    finder = SlotFinder(
        location=location,
        practitioner_ids=[practitioner.pk] if practitioner is not None else None,
        needs_device=needs_device,
        patient_id=patient_id,
        exclude_appointment_ids=exclude_appointment_ids,
    )
    return finder.free_on(on=on, durations=Durations(numbing_minutes, procedure_minutes), limit=limit)


# --- calendars -----------------------------------------------------------------------------------


def _calendar_rows(location: Location, start: datetime, end: datetime) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(location=location, starts_at__gte=start, starts_at__lt=end)
        .select_related("location", "patient", "practitioner", "room", "device")
        .order_by("starts_at", "id")
    )


def _filtered(
    rows: QuerySet[Appointment], practitioner: User | None, room: Room | None, device: Device | None, include_cancelled: bool
) -> QuerySet[Appointment]:
    if practitioner is not None:
        rows = rows.filter(practitioner=practitioner)
    if room is not None:
        rows = rows.filter(room=room)
    if device is not None:
        rows = rows.filter(device=device)
    if not include_cancelled:
        rows = rows.exclude(status=Appointment.Status.CANCELLED)
    return rows


def appointments_for_day(
    *,
    scope: frozenset[int],
    location: Location,
    on: date,
    practitioner: User | None = None,
    room: Room | None = None,
    device: Device | None = None,
    include_cancelled: bool = False,
) -> list[Appointment]:
    """A location's appointments starting on a local date (clinic-local midnight to midnight, DST-safe)."""
    if location.pk not in scope:
        raise Location.DoesNotExist("location not in scope")
    rows = _calendar_rows(location, location.start_of_day(on), location.start_of_day(on + timedelta(days=1)))
    return list(_filtered(rows, practitioner, room, device, include_cancelled))


@dataclass(slots=True)
class CalendarEntry:
    """What a calendar shows of one appointment: plain values from one query (no model instances).
    Not frozen: a frozen dataclass sets each field through object.__setattr__, and a busy day
    makes hundreds of these per page."""

    pk: int
    kind: str
    status: str
    starts_at: datetime  # in the location's time zone
    ends_at: datetime
    practitioner_id: int
    room_id: int
    device_id: int | None
    patient_given_name: str
    patient_family_name: str
    practitioner_name: str
    practitioner_last_name: str
    room_name: str
    device_model: str

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


KIND_LABELS = dict(Appointment.Kind.choices)
STATUS_LABELS = dict(Appointment.Status.choices)
CALENDAR_FIELDS = (
    "id",
    "kind",
    "status",
    "starts_at",
    "ends_at",
    "practitioner_id",
    "room_id",
    "device_id",
    "patient__given_name",
    "patient__family_name",
)


@dataclass(frozen=True)
class ResourceNames:
    """Names of a location's practitioners, rooms and devices that the caller has read already (the
    calendar's filters), so the appointments query joins only the patient."""

    people: dict[int, tuple[str, str]]  # id → (full name, last name)
    rooms: dict[int, str]
    devices: dict[int, str]  # id → model

    @classmethod
    def of(cls, *, people: Iterable[User] = (), rooms: Iterable[Room] = (), devices: Iterable[Device] = ()) -> ResourceNames:
        return cls(
            people={user.pk: _person(user.first_name, user.last_name, user.username) for user in people},
            rooms={room.pk: room.name for room in rooms},
            devices={device.pk: device.model for device in devices},
        )

    def completed(self, *, people: set[int], rooms: set[int], devices: set[int]) -> ResourceNames:
        """These names plus any of the given ids they lack (a former member's old bookings): at most
        three small queries, none when nothing is missing."""
        missing_people, missing_rooms = people - self.people.keys(), rooms - self.rooms.keys()
        missing_devices = devices - self.devices.keys()
        found_people = dict(self.people)
        if missing_people:
            for pk, first, last, username in User.objects.filter(pk__in=missing_people).values_list(
                "pk", "first_name", "last_name", "username"
            ):
                found_people[pk] = _person(first, last, username)
        found_rooms = dict(self.rooms)
        if missing_rooms:
            found_rooms.update(Room.objects.filter(pk__in=missing_rooms).values_list("pk", "name"))
        found_devices = dict(self.devices)
        if missing_devices:
            found_devices.update(Device.objects.filter(pk__in=missing_devices).values_list("pk", "model"))
        return ResourceNames(people=found_people, rooms=found_rooms, devices=found_devices)


def _person(first: str, last: str, username: str) -> tuple[str, str]:
    return f"{first} {last}".strip() or username, last or username


def calendar_entries(
    *,
    scope: frozenset[int],
    location: Location,
    first_on: date,
    last_on: date,
    practitioner: User | None = None,
    room: Room | None = None,
    device: Device | None = None,
    per_day: int | None = None,
    names: ResourceNames | None = None,
) -> list[CalendarEntry]:
    """The calendar screens' read: appointments starting on local dates first_on..last_on, as plain
    values, oldest first (one query joining the patient; with `per_day`, one query a day, each
    limited to that many — a busy location's week holds ~1,800 appointments). Practitioners',
    rooms' and devices' names come from `names` (what the caller has read already), completed with
    at most three small queries for ids it lacks."""
    if location.pk not in scope:
        raise Location.DoesNotExist("location not in scope")

    def read(first: date, last: date) -> Any:
        rows = Appointment.objects.filter(
            location=location, starts_at__gte=location.start_of_day(first), starts_at__lt=location.start_of_day(last + timedelta(days=1))
        )
        return (
            _filtered(rows, practitioner, room, device, include_cancelled=False).order_by("starts_at", "id").values_list(*CALENDAR_FIELDS)
        )

    if per_day is None:
        values = list(read(first_on, last_on))
    else:
        values = [row for day in days_between(first_on, last_on) for row in read(day, day)[:per_day]]
    known = (names or ResourceNames.of()).completed(
        people={row[5] for row in values}, rooms={row[6] for row in values}, devices={row[7] for row in values if row[7] is not None}
    )
    people, room_names, device_names = known.people, known.rooms, known.devices
    zone = location.zone
    entries = []
    for pk, kind, status, starts_at, ends_at, p_id, r_id, d_id, given, family in values:
        full_name, last_name = people[p_id]
        entries.append(
            CalendarEntry(
                pk=pk,
                kind=kind,
                status=status,
                starts_at=starts_at.astimezone(zone),
                ends_at=ends_at.astimezone(zone),
                practitioner_id=p_id,
                room_id=r_id,
                device_id=d_id,
                patient_given_name=given,
                patient_family_name=family,
                practitioner_name=full_name,
                practitioner_last_name=last_name,
                room_name=room_names[r_id],
                device_model=device_names.get(d_id, "") if d_id is not None else "",
            )
        )
    return entries


def record_calendar_view(ctx: audit.AuditContext, *, location: Location, screen: str, on: date, count: int) -> None:
    """Calendars show patient names: one audit row per calendar page."""
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type="schedule",
        object_id=location.pk,
        location_id=location.pk,
        detail={"screen": screen, "on": on.isoformat(), "appointments": count},
    )


def appointments_in_scope(scope: frozenset[int]) -> QuerySet[Appointment]:
    return Appointment.objects.filter(location_id__in=scope).select_related("location", "patient", "practitioner", "room", "device")


def get_appointment(*, scope: frozenset[int], pk: int) -> Appointment:
    """The appointment if its location is in scope; otherwise Appointment.DoesNotExist (a 404)."""
    return appointments_in_scope(scope).get(pk=pk)


def view_appointment(*, ctx: audit.AuditContext, scope: frozenset[int], pk: int) -> Appointment:
    appointment = get_appointment(scope=scope, pk=pk)
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type="appointment",
        object_id=appointment.pk,
        patient_id=appointment.patient_id,
        location_id=appointment.location_id,
    )
    return appointment


def series_of(appointment: Appointment) -> list[Appointment]:
    """Every appointment of the same series (booked together), in time order; just itself if none."""
    if not appointment.series_key:
        return [appointment]
    return list(
        Appointment.objects.filter(series_key=appointment.series_key)
        .select_related("location", "patient", "practitioner", "room", "device")
        .order_by("starts_at", "id")
    )


def later_in_series(appointment: Appointment) -> list[Appointment]:
    """The active appointments of the same series that start after this one."""
    return [
        other
        for other in series_of(appointment)
        if other.pk != appointment.pk and other.starts_at > appointment.starts_at and other.status == Appointment.Status.BOOKED
    ]


def appointments_for_patient(*, scope: frozenset[int], patient_id: int, limit: int = 20) -> list[Appointment]:
    """A patient's appointments at the caller's locations, latest first (one query)."""
    return list(
        Appointment.objects.filter(patient_id=patient_id, location_id__in=scope)
        .select_related("location", "practitioner", "room", "device")
        .order_by("-starts_at", "-id")[:limit]
    )


def practitioner_appointments(*, practitioner: User, start: datetime, end: datetime) -> list[Appointment]:
    """One practitioner's active appointments in [start, end), for their own page and iCal feed."""
    return list(
        Appointment.objects.filter(practitioner=practitioner, status__in=ACTIVE, starts_at__gte=start, starts_at__lt=end)
        .select_related("location", "room", "device", "patient")
        .order_by("starts_at", "id")
    )


# --- working time, waitlist ------------------------------------------------------------------------


def working_hours_at(location: Location) -> list[WorkingHours]:
    return list(
        WorkingHours.objects.filter(location=location).select_related("user").order_by("user__last_name", "user_id", "weekday", "starts_at")
    )


def time_off_at(location: Location, *, since: datetime) -> list[TimeOff]:
    """Time off (ending after `since`) of the practitioners of `location`."""
    members = practitioners_at(location).values("id")
    return list(TimeOff.objects.filter(user_id__in=members, ends_at__gt=since).select_related("user").order_by("starts_at"))


def closures_at(location: Location, *, since: datetime) -> list[Closure]:
    return list(Closure.objects.filter(location=location, ends_at__gt=since).order_by("starts_at"))


def active_appointments_between(
    *, location: Location | None = None, practitioner: User | None = None, start: datetime, end: datetime
) -> int:
    """How many active appointments fall in [start, end) (to warn about new time off or closures)."""
    rows = Appointment.objects.filter(
        status=Appointment.Status.BOOKED, starts_at__lt=end, ends_at__gt=start, starts_at__gte=start - MAX_SPAN
    )
    if location is not None:
        rows = rows.filter(location=location)
    if practitioner is not None:
        rows = rows.filter(practitioner=practitioner)
    return rows.count()


@dataclass(frozen=True)
class WaitlistView:
    entries: list[WaitlistEntry]
    offers: list[WaitlistOffer]


def waitlist_at(*, scope: frozenset[int], location: Location) -> WaitlistView:
    if location.pk not in scope:
        raise Location.DoesNotExist("location not in scope")
    today = location.local(timezone.now()).date()
    entries = list(
        WaitlistEntry.objects.filter(location=location, status=WaitlistEntry.Status.WAITING, latest_on__gte=today)
        .select_related("patient", "practitioner")
        .order_by("created_at", "id")
    )
    offers = list(
        WaitlistOffer.objects.filter(entry__location=location, status=WaitlistOffer.Status.OPEN, starts_at__gte=timezone.now())
        .select_related("entry__patient", "freed_appointment__practitioner", "freed_appointment__room", "freed_appointment__device")
        .order_by("starts_at", "id")
    )
    return WaitlistView(entries=entries, offers=offers)


# --- moving a series ----------------------------------------------------------------------------------

SHIFT_SEARCH_DAYS = 3


@dataclass(frozen=True)
class ProposedShift:
    """Where a later appointment of a series could move (slot None: nothing free in its window)."""

    appointment: Appointment
    target_at: datetime
    slot: Slot | None


def propose_series_shift(*, moved: Appointment, previous_starts_at: datetime) -> list[ProposedShift]:
    """After `moved` went from `previous_starts_at` to its new time, a proposal for each later
    booked appointment of its series: the same wall-clock shift, then the first free slot from
    there (same practitioner preferred) within the window a registered provider gives, or three days."""
    from .hooks import series_windows

    later = [
        other
        for other in series_of(moved)
        if other.pk != moved.pk and other.starts_at > previous_starts_at and other.status == Appointment.Status.BOOKED
    ]
    if not later:
        return []
    location = moved.location
    zone = location.zone
    old_local, new_local = previous_starts_at.astimezone(zone), moved.starts_at.astimezone(zone)
    wall_shift = new_local.replace(tzinfo=None) - old_local.replace(tzinfo=None)
    windows = series_windows(moved, later) or {}
    finder = SlotFinder(
        location=location,
        needs_device=any(other.device_id is not None for other in later),
        patient_id=moved.patient_id,
        exclude_appointment_ids=[other.pk for other in later],
    )
    proposals = []
    for other in later:
        naive_target = other.starts_at.astimezone(zone).replace(tzinfo=None) + wall_shift
        target = naive_target.replace(tzinfo=zone)
        earliest_on, latest_on = windows.get(other.pk, (target.date(), target.date() + timedelta(days=SHIFT_SEARCH_DAYS)))
        finder.needs_device = other.device_id is not None
        slot = finder.find(
            earliest_on=max(earliest_on, target.date()) if target.date() <= latest_on else earliest_on,
            latest_on=latest_on,
            durations=Durations(other.numbing_minutes, other.procedure_minutes),
            preferred_practitioner_id=other.practitioner_id,
            not_before=target if earliest_on <= target.date() <= latest_on else None,
        )
        if slot is not None:
            finder.hold(slot)
        proposals.append(ProposedShift(appointment=other, target_at=target, slot=slot))
    return proposals

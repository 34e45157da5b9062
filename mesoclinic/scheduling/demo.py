"""Demo schedules: working hours, a closure, time off, and appointments that respect every rule.

Schedules are *constructed* not to overlap, so they can be bulk-loaded (COPY on PostgreSQL) with no
per-row validation and still satisfy the exclusion constraints:

* each location's rooms run two shifts — mornings 09:00–14:00 Monday to Saturday, afternoons
  14:00–19:00 Monday to Friday — and each room-shift has exactly one practitioner, who holds no
  other room in that shift (so no practitioner is ever in two places);
* within a room-shift, appointments follow each other back to back (sometimes with a gap), so
  rooms, and the Dermapen that belongs to each of the first rooms, are never double-booked;
* patients take turns through the location's patient list, so one patient appears at most once
  per day; the numbing wait happens in the waiting area (chain locations) or in the room.

Scales: `small` — the last two weeks and the next three, half full; `clinic` — a year around
today; `chain` — a year around today (300 days back, 65 ahead) with 20 practitioners, 10 rooms and
4 in-service Dermapens per location: about 5 million appointments (the figure is printed, and
recorded in docs/decisions/0008). At chain scale each location loads in its own transaction,
and `manage.py seed_appointments` resumes an interrupted load (locations that have appointments
are skipped).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from random import Random

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from mesoclinic.accounts.models import Membership, User
from mesoclinic.accounts.roles import CLINICAL, Role
from mesoclinic.core import audit
from mesoclinic.core.bulk import bulk_insert
from mesoclinic.core.models import AuditEvent, Device, Location, Room
from mesoclinic.core.seeding import SeedRun
from mesoclinic.patients.models import Patient

from .models import Appointment, Closure, SchedulingPolicy, TimeOff, WorkingHours

MORNING = (time(9, 0), time(14, 0))
AFTERNOON = (time(14, 0), time(19, 0))
PRACTITIONERS_AT_CHAIN_LOCATIONS = 20


@dataclass(frozen=True)
class Span:
    past_days: int
    future_days: int
    past_fill: float
    future_fill: float


SPANS = {
    "small": Span(past_days=14, future_days=21, past_fill=0.55, future_fill=0.35),
    "clinic": Span(past_days=300, future_days=65, past_fill=0.9, future_fill=0.5),
    "chain": Span(past_days=300, future_days=65, past_fill=0.97, future_fill=0.6),
}

# (kind, numbing minutes, procedure minutes, weight)
MIX = [
    (Appointment.Kind.CONSULTATION, 0, 15, 4),
    (Appointment.Kind.TREATMENT, 30, 15, 3),
    (Appointment.Kind.TREATMENT, 30, 20, 3),
]
# Keys of the default catalog's protocols, so the chart can open any demo treatment session.
PROTOCOLS = ["hair_cocktail", "rejuvenation", "pigmentation", "acne_scar_revision"]

COLUMNS = (
    "location_id",
    "patient_id",
    "practitioner_id",
    "room_id",
    "device_id",
    "kind",
    "status",
    "starts_at",
    "resource_starts_at",
    "ends_at",
    "numbing_minutes",
    "procedure_minutes",
    "protocol_key",
    "series_key",
    "notes",
    "booked_by_id",
    "cancelled_reason",
    "cancelled_at",
    "checked_in_at",
    "created_at",
    "updated_at",
)


@dataclass
class Site:
    """What the generator needs to know about one location."""

    location: Location
    practitioners: list[int]
    rooms: list[int]
    devices: list[int]
    patients: list[int]
    closed: set[date]
    off: set[tuple[int, date]]
    waiting_area: bool
    reserved: dict[tuple[int, date, time], int] | None = None  # (room, day, shift start) → minutes kept free


def shifts(site: Site) -> list[tuple[int, int, tuple[time, time], bool]]:
    """(room, practitioner, hours, weekdays only) for every room-shift a location can staff."""
    rooms, people = site.rooms, site.practitioners
    usable = min(len(rooms), len(people))
    plan = []
    for index in range(usable):
        plan.append((rooms[index], people[index], MORNING, False))
        plan.append((rooms[index], people[(usable + index) % len(people)], AFTERNOON, True))
    return plan


def working_hours(site: Site) -> list[WorkingHours]:
    """Hours that cover every shift the generator gives a practitioner; the rest work 09:00–17:00 weekdays."""
    hours: dict[int, set[tuple[int, time, time]]] = {person: set() for person in site.practitioners}
    for _, person, (starts, ends), weekdays_only in shifts(site):
        for weekday in range(5 if weekdays_only else 6):
            hours[person].add((weekday, starts, ends))
    for periods in hours.values():
        if not periods:
            periods.update((weekday, time(9, 0), time(17, 0)) for weekday in range(5))
    return [
        WorkingHours(user_id=person, location=site.location, weekday=weekday, starts_at=starts, ends_at=ends)
        for person, periods in hours.items()
        for weekday, starts, ends in sorted(periods)
    ]


def appointment_rows(site: Site, *, days: Sequence[date], span: Span, now: datetime, rng: Random) -> Iterator[tuple[object, ...]]:
    """Non-overlapping appointment rows (in COLUMNS order) for `days` at one location."""
    zone = site.location.zone
    weights = [weight for *_, weight in MIX]
    device_of_room = dict(zip(site.rooms, site.devices, strict=False))
    patients, turn = site.patients, 0
    per_day_cap = max(1, len(patients) - 1)
    plan = shifts(site)
    for day in days:
        if day in site.closed or day.weekday() == 6:
            continue
        booked_today = 0
        for room, person, (opens, closes), weekdays_only in plan:
            if (weekdays_only and day.weekday() == 5) or (person, day) in site.off:
                continue
            cursor = datetime.combine(day, opens, tzinfo=zone) + timedelta(minutes=(site.reserved or {}).get((room, day, opens), 0))
            shift_end = datetime.combine(day, closes, tzinfo=zone)
            opening = datetime.combine(day, MORNING[0], tzinfo=zone)
            while True:
                kind, numbing, procedure, _ = rng.choices(MIX, weights)[0]
                if site.waiting_area and cursor - timedelta(minutes=numbing) < opening:
                    kind, numbing, procedure = MIX[0][:3]  # the first patients of the day cannot numb before opening
                resource_start = cursor
                start = cursor - timedelta(minutes=numbing) if site.waiting_area else cursor
                end = resource_start + timedelta(minutes=procedure if site.waiting_area else numbing + procedure)
                if end > shift_end:
                    break
                cursor = end
                future = start >= now
                if rng.random() > (span.future_fill if future else span.past_fill) or booked_today >= per_day_cap:
                    continue  # a gap in the schedule
                patient = patients[turn % len(patients)]
                turn += 1
                booked_today += 1
                status, cancelled_at, reason, checked_in = _status(rng, start=start, end=end, now=now)
                device = device_of_room.get(room) if kind == Appointment.Kind.TREATMENT and rng.random() < 0.5 else None
                yield (
                    site.location.pk,
                    patient,
                    person,
                    room,
                    device,
                    kind.value,
                    status,
                    start,
                    resource_start,
                    end,
                    numbing,
                    procedure,
                    rng.choice(PROTOCOLS) if kind == Appointment.Kind.TREATMENT else "",
                    "",
                    "",
                    None,
                    reason,
                    cancelled_at,
                    checked_in,
                    start - timedelta(days=14),
                    cancelled_at or start - timedelta(days=14),
                )


def _status(rng: Random, *, start: datetime, end: datetime, now: datetime) -> tuple[str, datetime | None, str, datetime | None]:
    roll = rng.random()
    if end <= now:
        if roll < 0.04:
            return Appointment.Status.CANCELLED.value, start - timedelta(days=2), "Patient called to cancel", None
        if roll < 0.07:
            return Appointment.Status.NO_SHOW.value, None, "", None
        return Appointment.Status.COMPLETED.value, None, "", start - timedelta(minutes=5)
    if roll < 0.02:
        return Appointment.Status.CANCELLED.value, now - timedelta(days=1), "Patient called to cancel", None
    return Appointment.Status.BOOKED.value, None, "", None


def _top_up_practitioners(run: SeedRun, location: Location, have: int) -> None:
    """Chain scale: visiting nurses so each location has the 20 practitioners the benchmarks assume."""
    missing = PRACTITIONERS_AT_CHAIN_LOCATIONS - have
    if missing <= 0:
        return
    password = run.shared.setdefault("_visiting_password", make_password(settings.MESOCLINIC_DEMO_PASSWORD))
    users = [
        User(
            username=f"nurse.{location.code}.visiting{n + 1}",
            first_name="Visiting",
            last_name=f"Nurse {n + 1}",
            role=Role.NURSE,
            email=f"nurse.{location.code}.visiting{n + 1}@clinic.example",
            password=password,
        )
        for n in range(missing)
    ]
    User.objects.bulk_create(users)
    created = User.objects.filter(username__in=[user.username for user in users]).values_list("id", flat=True)
    Membership.objects.bulk_create([Membership(user_id=user_id, location=location) for user_id in created])


def site_for(run: SeedRun, location: Location, *, exclude_patients: set[int], today: date, span: Span) -> Site:
    roles = sorted(CLINICAL)
    members = lambda: list(  # noqa: E731
        User.objects.filter(memberships__location=location, role__in=roles, is_active=True).order_by("id").values_list("id", flat=True)
    )
    practitioners = members()
    if run.scale.name == "chain" and len(practitioners) < PRACTITIONERS_AT_CHAIN_LOCATIONS:
        _top_up_practitioners(run, location, len(practitioners))
        practitioners = members()
    rooms = list(Room.objects.filter(location=location, is_active=True).order_by("id").values_list("id", flat=True))
    devices = list(
        Device.objects.filter(location=location, kind=Device.Kind.DERMAPEN, in_service=True).order_by("id").values_list("id", flat=True)
    )
    patients = [
        pk for pk in Patient.objects.filter(location=location).order_by("id").values_list("id", flat=True) if pk not in exclude_patients
    ]
    run.rng.shuffle(patients)
    holiday = _next_weekday(today + timedelta(days=17))
    off_person = practitioners[-1] if practitioners else None
    off_days = {today + timedelta(days=8 + n) for n in range(5)}
    return Site(
        location=location,
        practitioners=practitioners,
        rooms=rooms,
        devices=devices,
        patients=patients,
        closed={holiday},
        off={(off_person, day) for day in off_days} if off_person is not None else set(),
        waiting_area=run.scale.name != "small" or location.pk % 2 == 0,
    )


def _next_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _settings_rows(site: Site) -> None:
    SchedulingPolicy.objects.update_or_create(location=site.location, defaults={"numbing_in_waiting_area": site.waiting_area})
    WorkingHours.objects.bulk_create(working_hours(site))
    zone = site.location.zone
    for day in sorted(site.closed):
        Closure.objects.create(
            location=site.location,
            starts_at=datetime.combine(day, time.min, tzinfo=zone),
            ends_at=datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone),
            reason="Staff training day",
        )
    by_person: dict[int, list[date]] = {}
    for person, day in site.off:
        by_person.setdefault(person, []).append(day)
    for person, days in by_person.items():
        TimeOff.objects.create(
            user_id=person,
            starts_at=datetime.combine(min(days), time.min, tzinfo=zone),
            ends_at=datetime.combine(max(days) + timedelta(days=1), time.min, tzinfo=zone),
            reason="Annual leave",
        )


DEMO_CONSULTATION_MINUTES = 30


def seed_location(run: SeedRun, location: Location, *, demo: Patient | None, now: datetime) -> int:
    """Working time and a span of appointments for one location, in one transaction. Returns the count."""
    span = SPANS[run.scale.name]
    today = location.local(now).date()
    with transaction.atomic():
        site = site_for(run, location, exclude_patients={demo.pk} if demo is not None else set(), today=today, span=span)
        _settings_rows(site)
        history = _reserve_demo_history(site, demo, today=today) if demo is not None and demo.location_id == location.pk else None
        days = [today - timedelta(days=span.past_days) + timedelta(days=n) for n in range(span.past_days + span.future_days)]
        count = bulk_insert(Appointment, COLUMNS, appointment_rows(site, days=days, span=span, now=now, rng=run.rng))
        if history is not None:
            history.save()
            count += 1
        return count


def _reserve_demo_history(site: Site, demo: Patient, *, today: date) -> Appointment | None:
    """Amelia Hart's first consultation, about ten days ago, with the demo doctor; the golden path
    screens her and books her course. Its time is kept free in the generated schedule."""
    doctor = User.objects.filter(username="doctor", memberships__location=site.location).first()
    if doctor is None or not site.rooms:
        return None
    day = _next_weekday(today - timedelta(days=10))
    room, hours = next(((room, hours) for room, person, hours, _ in shifts(site) if person == doctor.pk), (site.rooms[0], MORNING))
    site.reserved = {(room, day, hours[0]): DEMO_CONSULTATION_MINUTES}
    site.off.discard((doctor.pk, day))
    start = datetime.combine(day, hours[0], tzinfo=site.location.zone)
    return Appointment(
        location=site.location,
        patient=demo,
        practitioner=doctor,
        room_id=room,
        kind=Appointment.Kind.CONSULTATION,
        status=Appointment.Status.COMPLETED,
        starts_at=start,
        resource_starts_at=start,
        ends_at=start + timedelta(minutes=DEMO_CONSULTATION_MINUTES),
        procedure_minutes=DEMO_CONSULTATION_MINUTES,
        notes="First consultation: hair loss for two years. Screening and a course of scalp mesotherapy to follow.",
        checked_in_at=start - timedelta(minutes=5),
    )


def seed(run: SeedRun) -> None:
    locations: list[Location] = run.shared["locations"]
    demo = run.shared.get("demo_patient")
    now = timezone.now()
    total = 0
    bar = run.progress("appointments", len(locations))
    for location in locations:
        if not Appointment.objects.filter(location=location).exists():  # else: already loaded (a resumed chain load)
            total += seed_location(run, location, demo=demo, now=now)
        bar.advance()
    bar.finish()
    audit.record(
        audit.SYSTEM, action=AuditEvent.Action.CREATE, object_type="appointment-batch", detail={"seed": run.scale.name, "count": total}
    )
    span = SPANS[run.scale.name]
    run.say(f"{total:,} appointments over {span.past_days + span.future_days} days; working hours, a closure and time off per location.")

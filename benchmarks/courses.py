"""The course planner with the chain data set: a 6-session plan at the busiest location.

Measures `plan_course` itself (service time, no HTTP) and the course page that shows the proposal
(through the full middleware stack). The courses it plans are written inside a transaction that
is rolled back at the end, so the benchmark leaves the database as it found it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.accounts.roles import Role
from mesoclinic.catalog.models import CatalogVersion, Concern, Protocol, Technique
from mesoclinic.core.models import Device, Location, Room
from mesoclinic.courses.models import Course, CourseSession
from mesoclinic.courses.planner import plan_course, qualified_practitioners
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling.models import Appointment
from mesoclinic.scheduling.selectors import practitioners_at

from .timing import Figures, get_ok, measure, signed_in_client

SESSIONS = 6


class _Rollback(Exception):
    pass


def _busiest_location() -> Location:
    location = (
        Location.objects.annotate(practitioners=Count("memberships", filter=Q(memberships__user__role__in=[Role.DOCTOR, Role.NURSE])))
        .order_by("-practitioners", "id")
        .first()
    )
    if location is None:
        raise SystemExit("no locations: seed the chain data set first")
    return location


def _courses(location: Location, count: int, rng: random.Random) -> list[Course]:
    protocol = Protocol.objects.get(key="hair_cocktail")
    concern = Concern.objects.get(key="hair_loss")
    version = CatalogVersion.objects.order_by("-number").first()
    doctor = User.objects.filter(role=Role.DOCTOR, memberships__location=location).order_by("id").first()
    if version is None or doctor is None:
        raise SystemExit("no catalog or no doctor at the location: seed the chain data set first")
    patients = list(Patient.objects.filter(location=location).order_by("id").values_list("id", flat=True)[: count * 20])
    rng.shuffle(patients)
    now = timezone.now()
    courses = Course.objects.bulk_create(
        [
            Course(
                patient_id=patient_id,
                location=location,
                concern=concern,
                protocol=protocol,
                catalog_version=version,
                sessions_planned=SESSIONS,
                interval_min_days=protocol.interval_min_days,
                interval_max_days=protocol.interval_max_days,
                prescribed_by=doctor,
                prescribed_at=now,
            )
            for patient_id in patients[:count]
        ]
    )
    rolling = Technique.objects.get(key="dermapen_rolling")
    Course.techniques.through.objects.bulk_create([Course.techniques.through(course_id=c.pk, technique_id=rolling.pk) for c in courses])
    CourseSession.objects.bulk_create([CourseSession(course=c, number=n) for c in courses for n in range(1, SESSIONS + 1)])
    return list(Course.objects.filter(pk__in=[c.pk for c in courses]).select_related("location", "protocol", "patient"))


def _planning(course: Course, start_on: date) -> Callable[[], object]:
    def call() -> object:
        return plan_course(course=course, start_on=start_on)

    return call


def run(requests: int) -> list[Figures]:
    rng = random.Random(11)
    location = _busiest_location()
    protocol = Protocol.objects.get(key="hair_cocktail")
    today = location.local(timezone.now()).date()
    horizon = (location.start_of_day(today), location.start_of_day(today + timedelta(days=7 * 26)))
    practitioners = practitioners_at(location).count()
    qualified = qualified_practitioners(protocol=protocol, location=location).count()
    rooms = Room.objects.filter(location=location, is_active=True).count()
    devices = Device.objects.filter(location=location, kind=Device.Kind.DERMAPEN, in_service=True).count()
    upcoming = Appointment.objects.filter(location=location, starts_at__gte=horizon[0], starts_at__lt=horizon[1]).count()
    print(
        f"{location.name}: {practitioners} practitioners ({qualified} qualified for {protocol.name}), {rooms} rooms, "
        f"{devices} in-service Dermapens; {upcoming:,} appointments in the next 26 weeks; "
        f"{Appointment.objects.count():,} appointments in all"
    )
    receptionist = User.objects.filter(role=Role.RECEPTIONIST, memberships__location=location).order_by("id").first()
    figures: list[Figures] = []
    try:
        with transaction.atomic():
            courses = _courses(location, requests + 20, rng)
            starts: list[date] = [today + timedelta(days=1 + rng.randrange(42)) for _ in courses]
            plans = [_planning(course, start) for course, start in zip(courses, starts, strict=True)]
            unplanned = sum(1 for row in plan_course(course=courses[0], start_on=starts[0]) if not row.bookable)
            print(f"a sample plan proposes {SESSIONS - unplanned} of {SESSIONS} sessions")
            figures.append(measure(f"course planner, {SESSIONS} sessions", plans))
            if receptionist is not None:
                client = signed_in_client(receptionist)
                pages = [
                    get_ok(client, f"{reverse('courses:detail', args=[course.pk])}?start_on={start.isoformat()}")
                    for course, start in zip(courses, starts, strict=True)
                ]
                figures.append(measure(f"course page with a {SESSIONS}-session proposal", pages))
            raise _Rollback
    except _Rollback:
        pass
    return figures

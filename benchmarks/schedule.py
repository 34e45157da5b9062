"""A location's calendars with the chain data set: the day view (by practitioner and by room) and
the week view at the location with the most appointments.

Each request goes through the full middleware stack in process (see timing.py), signed in as a
receptionist of that location, for a random day of the seeded year (300 days back, 65 ahead of
today). Issue 4's target: the day calendar at p95 ≤ 30 ms server time, with a number of queries
that does not depend on the day (the Figures line shows one number). Reads only, apart from the
audit row each calendar page writes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.accounts.roles import Role
from mesoclinic.core.models import Device, Location
from mesoclinic.scheduling.models import Appointment
from mesoclinic.scheduling.selectors import practitioners_at, rooms_at

from .timing import Figures, get_ok, measure, signed_in_client

PAST_DAYS, FUTURE_DAYS = 300, 65  # the span the demo schedule is seeded over (scheduling/demo.py)


def busiest_location() -> Location:
    """The location with the most appointments (one grouped count over the table)."""
    row = Appointment.objects.values("location_id").annotate(n=Count("id")).order_by("-n", "location_id").first()
    if row is None:
        raise SystemExit("no appointments: seed the chain data set first")
    return Location.objects.get(pk=row["location_id"])


def receptionist_at(location: Location) -> User:
    user = User.objects.filter(role=Role.RECEPTIONIST, is_active=True, memberships__location=location).order_by("id").first()
    if user is None:
        raise SystemExit(f"no receptionist at {location}: seed the chain data set first")
    return user


def _describe(location: Location, days: list[date]) -> None:
    """One line: the location's resources and how many appointments the sampled days show."""
    shown = Appointment.objects.filter(location=location).exclude(status=Appointment.Status.CANCELLED)
    first, last = min(days), max(days)
    per_day = dict(
        shown.filter(starts_at__gte=location.start_of_day(first), starts_at__lt=location.start_of_day(last + timedelta(days=1)))
        .annotate(on=TruncDate("starts_at", tzinfo=location.zone))
        .order_by()
        .values("on")
        .annotate(n=Count("id"))
        .values_list("on", "n")
    )
    counts = [per_day.get(day, 0) for day in days]
    devices = Device.objects.filter(location=location, kind=Device.Kind.DERMAPEN, in_service=True).count()
    print(
        f"{location.name}: {practitioners_at(location).count()} practitioners, {rooms_at(location).count()} rooms, "
        f"{devices} in-service Dermapens; {sum(counts) / len(counts):.0f} appointments a day on average over the sampled days "
        f"(max {max(counts)}); {shown.count():,} at this location, {Appointment.objects.count():,} in all"
    )


def run(requests: int) -> list[Figures]:
    rng = random.Random(13)
    location = busiest_location()
    client = signed_in_client(receptionist_at(location))
    today = location.local(timezone.now()).date()
    days = [today + timedelta(days=rng.randrange(-PAST_DAYS, FUTURE_DAYS)) for _ in range(requests + 20)]
    _describe(location, days)

    def pages(name: str, extra: str = "") -> list[Callable[[], object]]:
        url = reverse(name)
        return [get_ok(client, f"{url}?location={location.pk}&on={day.isoformat()}{extra}") for day in days]

    return [
        measure("day calendar (columns by practitioner)", pages("scheduling:day")),
        measure("day calendar (columns by room)", pages("scheduling:day", "&by=room")),
        measure("week calendar", pages("scheduling:week")),
    ]

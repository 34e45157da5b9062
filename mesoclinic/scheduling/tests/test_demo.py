"""The demo schedules are bulk-loaded without validation, so check they obey every rule anyway."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path

import pytest

from mesoclinic import catalog as catalog_fixtures
from mesoclinic.accounts import demo as accounts_demo
from mesoclinic.core import demo as core_demo
from mesoclinic.core.models import OpeningHours
from mesoclinic.core.seeding import SCALES, Scale, SeedRun
from mesoclinic.patients import demo as patients_demo
from mesoclinic.scheduling import demo
from mesoclinic.scheduling.models import Appointment, Closure, TimeOff, WorkingHours
from mesoclinic.scheduling.selectors import practitioners_at
from mesoclinic.scheduling.slots import covered, epoch, local_periods

from .invariants import overlaps

pytestmark = pytest.mark.django_db


def seeded(scale: Scale) -> SeedRun:
    run = SeedRun(scale=scale, stdout=io.StringIO())
    for module in (core_demo, accounts_demo, patients_demo, demo):
        module.seed(run)
    return run


def assert_every_rule_holds() -> None:
    assert overlaps() == []
    opening = defaultdict(list)
    for location_id, weekday, opens, closes in OpeningHours.objects.values_list("location_id", "weekday", "opens_at", "closes_at"):
        opening[(location_id, weekday)].append((opens, closes))
    hours = defaultdict(list)
    for user_id, location_id, weekday, starts, ends in WorkingHours.objects.values_list(
        "user_id", "location_id", "weekday", "starts_at", "ends_at"
    ):
        hours[(user_id, location_id, weekday)].append((starts, ends))
    closures = list(Closure.objects.values_list("location_id", "starts_at", "ends_at"))
    time_off = list(TimeOff.objects.values_list("user_id", "starts_at", "ends_at"))
    for a in Appointment.objects.filter(status__in=Appointment.ACTIVE).select_related("location"):
        day = a.local_starts_at().date()
        zone = a.location.zone
        assert covered(local_periods(zone, day, opening[(a.location_id, day.weekday())]), epoch(a.starts_at), epoch(a.ends_at)), a
        assert covered(
            local_periods(zone, day, hours[(a.practitioner_id, a.location_id, day.weekday())]),
            epoch(a.resource_starts_at),
            epoch(a.ends_at),
        ), a
        assert not any(loc == a.location_id and s < a.ends_at and a.starts_at < e for loc, s, e in closures), a
        assert not any(user == a.practitioner_id and s < a.ends_at and a.resource_starts_at < e for user, s, e in time_off), a
        if a.device_id is not None:
            assert a.device.in_service and a.device.location_id == a.location_id


def test_the_small_demo_schedule_obeys_every_rule():
    run = seeded(SCALES["small"])
    assert Appointment.objects.count() > 500
    assert_every_rule_holds()
    amelia = run.shared["demo_patient"]
    (first,) = Appointment.objects.filter(patient=amelia)
    assert first.practitioner.username == "doctor" and first.status == Appointment.Status.COMPLETED
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED).exists()


def test_demo_treatments_name_protocols_of_the_default_catalog():
    """The chart opens a treatment by its protocol key: a key the catalog lacks would refuse it."""
    seeded(SCALES["small"])
    catalog = json.loads((Path(catalog_fixtures.__file__).parent / "fixtures" / "default_catalog.json").read_text())
    keys = {protocol["key"] for protocol in catalog["protocols"]}
    used = set(Appointment.objects.filter(kind=Appointment.Kind.TREATMENT).values_list("protocol_key", flat=True))
    assert used and used <= keys, used - keys


def test_the_chain_generator_tops_up_practitioners_and_packs_rooms_without_overlaps(monkeypatch):
    monkeypatch.setitem(demo.SPANS, "chain", demo.Span(past_days=6, future_days=6, past_fill=0.97, future_fill=0.6))
    scale = Scale("chain", locations=1, staff_per_location=10, patients=3000, rooms_per_location=10, dermapens_per_location=5)
    run = seeded(scale)
    location = run.shared["locations"][0]
    assert practitioners_at(location).count() == demo.PRACTITIONERS_AT_CHAIN_LOCATIONS
    assert_every_rule_holds()
    per_open_day = Appointment.objects.count() / 10  # 12 days, minus a Sunday and (perhaps) the training day
    assert per_open_day > 250  # ten rooms, ~17-minute slots, 97% full in the past

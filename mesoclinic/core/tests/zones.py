"""Shared by every app's test_local_times.py: two clinics in summer time and the check that a
text shows a location's wall-clock time and not the UTC one (so a wrong zone cannot hide)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mesoclinic.core.tests.factories import LocationFactory

# 10:45 local on Tuesday 30 March 2027 (after the clocks changed) is 09:45 UTC in London and
# 08:45 UTC in Madrid.
ZONES = [("Europe/London", "09:45"), ("Europe/Madrid", "08:45")]
ZONE_IDS = ["london", "madrid"]


def wall_clock(zone: str, day: int = 30, hour: int = 10, minute: int = 45, month: int = 3) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def shows_local_not_utc(text: str, utc_time: str, local: str = "10:45") -> None:
    assert local in text
    assert utc_time not in text


def _zoned_location(request, db):
    """(a location in the zone, the UTC wall clock of 10:45 there on 30 March 2027)."""
    zone, utc_time = request.param
    return LocationFactory(time_zone=zone), utc_time


def zoned_location_fixture():
    """A module's `zoned_location = zoned_location_fixture()`: each test runs in London and in Madrid."""
    return pytest.fixture(params=ZONES, ids=ZONE_IDS, name="zoned_location")(_zoned_location)

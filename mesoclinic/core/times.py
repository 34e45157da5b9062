"""Times in a location's wall clock — the one way this project shows or sends a time.

The database and `settings.TIME_ZONE` are UTC; a clinic works in its location's zone
(`Location.time_zone`). Django's `date`/`time` template filters convert an aware datetime to
the *active* zone (UTC) before formatting, so a datetime merely converted with `astimezone`
is shown in UTC again. `local()` returns a `WallClock`: the same instant in the location's
zone, marked (as Django's own `timezone` filter marks its result) so that templates format it
as it is. Python code formats the result directly (`f"{local(at, location):%H:%M}"`); templates
use the `at_location` filter (`mesoclinic/core/templatetags/local_time.py`). See decision 20.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from .models import Location


class WallClock(datetime):
    """An aware datetime in a location's zone that Django's templates render unconverted.

    Arithmetic, `replace()` and `astimezone()` keep the class (Python ≥ 3.8), so the result of
    `local(...) + timedelta(...)` is still shown as the wall clock it holds."""

    convert_to_local_time = False  # read by django.utils.timezone.template_localtime


def zone_of(where: Location | tzinfo | str) -> tzinfo:
    """The tzinfo for a location, a tzinfo or an IANA zone name."""
    if isinstance(where, tzinfo):
        return where
    if isinstance(where, str):
        return zoneinfo.ZoneInfo(where)
    return zoneinfo.ZoneInfo(where.time_zone)


@overload
def local(moment: datetime, where: Location | tzinfo | str) -> WallClock: ...
@overload
def local(moment: None, where: Location | tzinfo | str) -> None: ...
def local(moment: datetime | None, where: Location | tzinfo | str) -> WallClock | None:
    """`moment` (aware) as the wall-clock time at `where`; None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("local() needs an aware datetime: the database stores UTC instants.")
    moved = moment.astimezone(zone_of(where))
    return WallClock(
        moved.year,
        moved.month,
        moved.day,
        moved.hour,
        moved.minute,
        moved.second,
        moved.microsecond,
        tzinfo=moved.tzinfo,
        fold=moved.fold,
    )


def local_date(moment: datetime, where: Location | tzinfo | str) -> date:
    """The calendar day `moment` falls on at `where` (a late-evening UTC time can be the next day)."""
    return local(moment, where).date()

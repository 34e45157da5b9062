"""core.times: a stored UTC instant rendered as a location's wall clock, in Python and in templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template

from mesoclinic.core.models import Location
from mesoclinic.core.times import local, local_date


def render(text: str, **context) -> str:
    return Template(text).render(Context(context))


MADRID = Location(time_zone="Europe/Madrid")
AT = datetime(2027, 3, 30, 8, 45, tzinfo=UTC)  # 10:45 in Madrid (summer time)


def test_a_location_s_local_time_is_formatted_as_its_wall_clock_in_python_and_in_templates():
    moment = MADRID.local(AT)
    assert f"{moment:%H:%M}" == "10:45"
    assert render('{{ t|date:"H:i" }} {{ t|time:"H:i" }}', t=moment) == "10:45 10:45"
    assert render('{{ t|date:"H:i" }}', t=moment + timedelta(minutes=30)) == "11:15"  # arithmetic keeps it


def test_the_at_location_filter_takes_a_location_a_zone_name_or_a_tzinfo():
    assert render('{{ t|at_location:where|date:"H:i" }}', t=AT, where=MADRID) == "10:45"
    assert render('{{ t|at_location:"Europe/London"|date:"H:i" }}', t=AT) == "09:45"
    assert render('{{ t|at_location:where|date:"H:i" }}', t=AT, where=MADRID.zone) == "10:45"


@pytest.mark.parametrize(
    ("value", "where"),
    [(AT, "Not/AZone"), (AT, None), (AT, 42), ("yesterday", MADRID), (None, MADRID), (datetime(2027, 3, 30, 8, 45), MADRID)],
    ids=["unknown-zone", "no-zone", "not-a-zone", "text", "none", "naive"],
)
def test_the_at_location_filter_renders_nothing_rather_than_failing(value, where):
    assert render("[{{ t|at_location:where }}]", t=value, where=where) == "[]"


def test_the_local_day_of_a_late_evening_utc_time_is_the_next_day():
    late = datetime(2027, 3, 30, 22, 30, tzinfo=UTC)
    assert local_date(late, MADRID) == datetime(2027, 3, 31).date()
    assert local_date(late, "Europe/London") == datetime(2027, 3, 30).date()


def test_the_repeated_hour_when_the_clocks_go_back_keeps_its_fold():
    # 31 October 2027: 01:30 happens twice in London; 01:30 UTC is the second one (GMT).
    second = local(datetime(2027, 10, 31, 1, 30, tzinfo=UTC), "Europe/London")
    assert (second.hour, second.minute, second.fold) == (1, 30, 1)
    assert second.astimezone(UTC) == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="aware"):
        local(datetime(2027, 3, 30, 10, 45), MADRID)

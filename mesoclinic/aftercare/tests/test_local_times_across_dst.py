"""The aftercare clock counts elapsed hours; the handout shows them on the clinic's wall clock, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.aftercare.composition import AreaData, ProtocolData, RuleData, compose_aftercare

SCALP_RULE = RuleData("scalp_aftercare", "Scalp", None, "scalp", "Do not wash your hair.", 24, "Mild redness.")
FACE_RULE = RuleData("face_aftercare", "Face", None, "face", "No direct sun.", 72, "Mild redness.")
SCALP = AreaData("scalp", "Scalp", "scalp")
FACE = AreaData("face", "Whole face", "face")
LONDON = ZoneInfo("Europe/London")


def compose(ended_at, zone="Europe/London", areas=(SCALP,), hours=6):
    return compose_aftercare(
        rules=[SCALP_RULE, FACE_RULE],
        areas=list(areas),
        protocol=ProtocolData("Hair", hours),
        ended_at=ended_at,
        zone=zone,
        clinic_phone="1",
    )


def test_24_hours_before_the_clocks_go_back_end_an_hour_earlier_on_the_wall_clock():
    # Saturday 28 October 2023, 11:05 BST; the clocks go back at 02:00 on Sunday 29 October.
    aftercare = compose(datetime(2023, 10, 28, 11, 5, tzinfo=LONDON))
    [item] = aftercare.instructions
    assert item.until_label == "Sunday 29 October, 10:05"
    # Same-zone subtraction in Python is wall-clock; elapsed time is measured in UTC.
    assert item.until_at.astimezone(UTC) - aftercare.ended_at.astimezone(UTC) == timedelta(hours=24)


def test_24_hours_before_the_clocks_go_forward_end_an_hour_later_on_the_wall_clock():
    # Saturday 25 March 2023, 11:05 GMT; the clocks go forward at 01:00 on Sunday 26 March.
    [item] = compose(datetime(2023, 3, 25, 11, 5, tzinfo=LONDON)).instructions
    assert item.until_label == "Sunday 26 March, 12:05"


def test_the_check_in_that_falls_across_the_change_is_six_real_hours_later():
    # Saturday 28 October 2023, 22:30 BST + 6 h = Sunday 03:30 GMT (not 04:30).
    aftercare = compose(datetime(2023, 10, 28, 22, 30, tzinfo=LONDON))
    assert aftercare.checkin_label == "Sunday 29 October, 03:30"


def test_a_face_rule_spanning_the_us_change_uses_new_york_time():
    # Friday 3 November 2023, 15:00 EDT + 72 h = Monday 6 November, 14:00 EST.
    aftercare = compose(datetime(2023, 11, 3, 19, 0, tzinfo=ZoneInfo("UTC")), zone="America/New_York", areas=(FACE,))
    assert aftercare.ended_label == "Friday 3 November, 15:00"
    assert aftercare.instructions[0].until_label == "Monday 6 November, 14:00"


@settings(deadline=None)  # pure arithmetic, but the first examples load zone files on a busy machine
@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)),
    st.sampled_from(["Europe/London", "Australia/Sydney", "America/New_York", "Asia/Kolkata"]),
)
def test_every_until_time_is_exactly_the_rules_hours_after_the_end(naive, zone):
    ended = naive.replace(tzinfo=ZoneInfo("UTC"))
    aftercare = compose(ended, zone=zone, areas=(SCALP, FACE))
    for item in aftercare.instructions:
        assert item.until_at - ended == timedelta(hours=item.duration_hours)
        assert item.until_at.tzinfo is not None and str(item.until_at.tzinfo) == zone

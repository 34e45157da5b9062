"""Clocks change in London on Sunday 29 March 2026 (01:00 GMT → 02:00 BST) and Sunday 25 October
2026 (02:00 BST → 01:00 GMT). Bookings, slots, day calendars and series keep local wall-clock times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.urls import reverse

from mesoclinic.scheduling import selectors, services
from mesoclinic.scheduling.models import Appointment

from .conftest import at
from .factories import AppointmentFactory


def book(clinic, starts_at):
    return services.book_appointment(
        ctx=clinic.ctx,
        location=clinic.location,
        patient=clinic.patient,
        practitioner=clinic.nurse,
        room=clinic.room,
        device=None,
        starts_at=starts_at,
        kind=Appointment.Kind.TREATMENT,
        numbing_minutes=30,
        procedure_minutes=30,
    )


def test_nine_oclock_is_nine_oclock_on_both_sides_of_the_spring_change(clinic):
    before = book(clinic, at(27, 9))
    after = book(clinic, at(30, 9))
    assert before.starts_at == datetime(2026, 3, 27, 9, tzinfo=UTC)  # GMT
    assert after.starts_at == datetime(2026, 3, 30, 8, tzinfo=UTC)  # BST
    assert after.local_starts_at().hour == 9


def test_opening_and_working_hours_are_local_after_the_change(clinic):
    slot = selectors.find_slot(
        location=clinic.location, earliest_on=date(2026, 3, 30), latest_on=date(2026, 3, 30), numbing_minutes=0, procedure_minutes=30
    )
    assert slot.starts_at == datetime(2026, 3, 30, 7, tzinfo=UTC)  # 08:00 BST, the opening time
    last = selectors.free_slots(location=clinic.location, on=date(2026, 3, 30), numbing_minutes=0, procedure_minutes=30)[-1]
    assert clinic.location.local(last.starts_at).strftime("%H:%M") == "19:30"
    try:
        book(clinic, datetime(2026, 3, 30, 19, 30, tzinfo=UTC))  # 20:30 BST: after closing
    except services.BookingRefused as refused:
        assert refused.code == "closed"
    else:
        raise AssertionError("a booking after local closing time was accepted")


def test_the_day_calendar_uses_local_midnights_on_the_short_and_long_days(client, clinic):
    # 23:30 UTC on Sunday 29 March is 00:30 BST on Monday 30 March.
    monday = AppointmentFactory(
        location=clinic.location, practitioner=clinic.nurse, room=clinic.room, starts_at=datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    )
    sunday = AppointmentFactory(
        location=clinic.location, practitioner=clinic.nurse, room=clinic.room2, starts_at=datetime(2026, 3, 29, 22, 30, tzinfo=UTC)
    )
    scope = frozenset({clinic.location.pk})
    assert [a.pk for a in selectors.appointments_for_day(scope=scope, location=clinic.location, on=date(2026, 3, 30))] == [monday.pk]
    assert [a.pk for a in selectors.appointments_for_day(scope=scope, location=clinic.location, on=date(2026, 3, 29))] == [sunday.pk]
    # Sunday 25 October has 25 hours: 23:30 UTC is still 23:30 GMT that Sunday.
    long_day = AppointmentFactory(
        location=clinic.location, practitioner=clinic.doctor, room=clinic.room, starts_at=datetime(2026, 10, 25, 23, 30, tzinfo=UTC)
    )
    assert [a.pk for a in selectors.appointments_for_day(scope=scope, location=clinic.location, on=date(2026, 10, 25))] == [long_day.pk]
    client.force_login(clinic.ctx.actor)
    page = client.get(reverse("scheduling:day"), {"location": clinic.location.pk, "on": "2026-03-30"}).content.decode()
    assert "00:30–01:00" in page


def test_a_series_across_the_change_keeps_its_wall_clock_time_when_shifted(clinic):
    series = services.book_series(
        ctx=clinic.ctx,
        bookings=[
            services.ProposedBooking(
                location=clinic.location,
                patient=clinic.patient,
                practitioner=clinic.nurse,
                room=clinic.room,
                device=None,
                starts_at=starts_at,
                numbing_minutes=30,
                procedure_minutes=30,
            )
            for starts_at in (at(25, 10), at(1, 10, month=4), at(8, 10, month=4))
        ],
    )
    assert [a.local_starts_at().hour for a in series] == [10, 10, 10]
    previous = series[0].starts_at
    moved = services.reschedule_appointment(ctx=clinic.ctx, appointment=series[0], starts_at=at(26, 10))
    proposals = selectors.propose_series_shift(moved=moved, previous_starts_at=previous)
    assert [clinic.location.local(p.slot.starts_at).strftime("%a %d %H:%M") for p in proposals] == ["Thu 02 10:00", "Thu 09 10:00"]
    assert [p.slot.starts_at - a.starts_at for p, a in zip(proposals, series[1:], strict=True)] == [timedelta(days=1)] * 2


def test_a_week_calendar_spanning_the_change_shows_local_times(client, clinic):
    book(clinic, at(27, 9))
    book(clinic, at(30, 9))
    client.force_login(clinic.ctx.actor)
    page = client.get(reverse("scheduling:week"), {"location": clinic.location.pk, "on": "2026-03-29"}).content.decode()
    assert page.count("<strong>09:00</strong>") == 1  # Friday 27 is the previous week
    page = client.get(reverse("scheduling:week"), {"location": clinic.location.pk, "on": "2026-03-30"}).content.decode()
    assert page.count("<strong>09:00</strong>") == 1

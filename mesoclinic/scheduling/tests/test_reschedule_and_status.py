from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling import selectors, services
from mesoclinic.scheduling.models import Appointment
from mesoclinic.scheduling.slots import Slot

from .conftest import at
from .invariants import overlaps


def book(clinic, starts_at, **overrides):
    arguments = {
        "ctx": clinic.ctx,
        "location": clinic.location,
        "patient": clinic.patient,
        "practitioner": clinic.nurse,
        "room": clinic.room,
        "device": None,
        "starts_at": starts_at,
        "kind": Appointment.Kind.TREATMENT,
        "numbing_minutes": 30,
        "procedure_minutes": 30,
    }
    arguments.update(overrides)
    return services.book_appointment(**arguments)


def series(clinic, count=4, first=None, every=timedelta(days=7)):
    first = first or at(3, 10)
    return services.book_series(
        ctx=clinic.ctx,
        bookings=[
            services.ProposedBooking(
                location=clinic.location,
                patient=clinic.patient,
                practitioner=clinic.nurse,
                room=clinic.room,
                device=None,
                starts_at=first + every * n,
                numbing_minutes=30,
                procedure_minutes=30,
            )
            for n in range(count)
        ],
    )


def test_rescheduling_checks_the_new_time_but_not_against_itself(clinic):
    appointment = book(clinic, at(3, 10))
    moved = services.reschedule_appointment(ctx=clinic.ctx, appointment=appointment, starts_at=at(3, 10, 30))
    assert (moved.starts_at, moved.ends_at) == (at(3, 10, 30), at(3, 11, 30))
    event = AuditEvent.objects.filter(object_type="appointment", action="update").latest("id")
    assert event.detail == {"fields": ["starts_at", "resource_starts_at", "ends_at"], "rescheduled": True}


def test_rescheduling_onto_a_busy_time_is_refused_with_alternatives(clinic):
    book(clinic, at(3, 12), patient=PatientFactory(location=clinic.location))
    appointment = book(clinic, at(3, 10))
    with pytest.raises(services.SlotUnavailable) as refused:
        services.reschedule_appointment(ctx=clinic.ctx, appointment=appointment, starts_at=at(3, 11, 45))
    assert refused.value.resource == "practitioner"
    appointment.refresh_from_db()
    assert appointment.starts_at == at(3, 10)


def test_only_booked_appointments_move_or_check_in(clinic):
    appointment = book(clinic, at(3, 10))
    services.cancel_appointment(ctx=clinic.ctx, appointment=appointment, reason="unwell")
    with pytest.raises(services.WrongStatus):
        services.reschedule_appointment(ctx=clinic.ctx, appointment=appointment, starts_at=at(4, 10))
    with pytest.raises(services.WrongStatus):
        services.check_in(ctx=clinic.ctx, appointment=appointment)
    with pytest.raises(services.WrongStatus):
        services.cancel_appointment(ctx=clinic.ctx, appointment=appointment, reason="again")


def test_cancelling_needs_a_reason(clinic):
    appointment = book(clinic, at(3, 10))
    with pytest.raises(services.BookingRefused, match="why"):
        services.cancel_appointment(ctx=clinic.ctx, appointment=appointment, reason="  ")


def test_check_in_happens_on_the_day_and_no_show_after_the_start(clinic, frozen):
    appointment = book(clinic, at(3, 10))
    with pytest.raises(services.WrongStatus, match="on the day"):
        services.check_in(ctx=clinic.ctx, appointment=appointment)
    with pytest.raises(services.WrongStatus, match="once it has started"):
        services.mark_no_show(ctx=clinic.ctx, appointment=appointment)
    frozen.move_to(at(3, 9, 50))
    checked = services.check_in(ctx=clinic.ctx, appointment=appointment)
    assert checked.status == Appointment.Status.CHECKED_IN and checked.checked_in_at == at(3, 9, 50)
    other = book(clinic, at(3, 11), patient=PatientFactory(location=clinic.location))
    frozen.move_to(at(3, 11, 20))
    assert services.mark_no_show(ctx=clinic.ctx, appointment=other).status == Appointment.Status.NO_SHOW


def test_a_series_shift_proposal_keeps_the_wall_clock_spacing(clinic):
    booked = series(clinic)
    previous = booked[1].starts_at
    moved = services.reschedule_appointment(ctx=clinic.ctx, appointment=booked[1], starts_at=previous + timedelta(days=2, hours=1))
    proposals = selectors.propose_series_shift(moved=moved, previous_starts_at=previous)
    assert [p.appointment.pk for p in proposals] == [booked[2].pk, booked[3].pk]
    assert [p.slot.starts_at for p in proposals] == [
        booked[2].starts_at + timedelta(days=2, hours=1),
        booked[3].starts_at + timedelta(days=2, hours=1),
    ]


def test_a_series_shift_finds_the_next_free_time_when_the_same_time_is_taken(clinic):
    booked = series(clinic)
    previous = booked[1].starts_at
    target = booked[2].starts_at + timedelta(days=1)
    book(clinic, target, patient=PatientFactory(location=clinic.location), practitioner=clinic.nurse, room=clinic.room2)
    moved = services.reschedule_appointment(ctx=clinic.ctx, appointment=booked[1], starts_at=previous + timedelta(days=1))
    proposal = selectors.propose_series_shift(moved=moved, previous_starts_at=previous)[0]
    assert proposal.slot.starts_at >= target
    assert (proposal.slot.starts_at, proposal.slot.practitioner_id) != (target, clinic.nurse.pk)


def test_reschedule_series_is_all_or_nothing(clinic):
    booked = series(clinic, count=3)
    blocker = book(clinic, booked[2].starts_at + timedelta(days=1), patient=PatientFactory(location=clinic.location))
    moves = [
        services.SeriesMove(appointment=booked[1], starts_at=booked[1].starts_at + timedelta(days=1)),
        services.SeriesMove(appointment=booked[2], starts_at=booked[2].starts_at + timedelta(days=1)),  # clashes with the blocker
    ]
    with pytest.raises(services.SlotUnavailable) as refused:
        services.reschedule_series(ctx=clinic.ctx, moves=moves)
    assert refused.value.index == 1
    assert [a.starts_at for a in Appointment.objects.filter(pk__in=[b.pk for b in booked]).order_by("starts_at")] == [
        b.starts_at for b in booked
    ]
    assert blocker.status == Appointment.Status.BOOKED


def test_reschedule_series_lets_appointments_move_into_each_others_old_places(clinic):
    """Back-to-back bookings of one patient all move 30 minutes later: each new place overlaps the
    next one's old place, which is fine because that one moves too."""
    booked = series(clinic, count=3, first=at(3, 10), every=timedelta(hours=1))
    moves = [services.SeriesMove(appointment=a, starts_at=a.starts_at + timedelta(minutes=30)) for a in booked]
    moved = services.reschedule_series(ctx=clinic.ctx, moves=moves)
    assert [a.starts_at for a in moved] == [at(3, 10, 30), at(3, 11, 30), at(3, 12, 30)]
    assert overlaps() == []


def test_reschedule_series_refuses_moves_that_collide_with_each_other(clinic):
    booked = series(clinic, count=2)
    moves = [services.SeriesMove(appointment=a, starts_at=at(5, 10)) for a in booked]
    with pytest.raises(services.SlotUnavailable):
        services.reschedule_series(ctx=clinic.ctx, moves=moves)


def test_the_reschedule_screen_moves_an_appointment_and_offers_to_shift_the_series(client, clinic):
    booked = series(clinic)
    client.force_login(clinic.ctx.actor)
    url = reverse("scheduling:appointment-reschedule", args=[booked[1].pk])
    page = client.get(url, {"on": "2026-03-11"})
    assert page.status_code == 200 and "<strong>10:00</strong>" in page.content.decode()
    value = Slot(at(11, 10), at(11, 10), at(11, 11), clinic.nurse.pk, clinic.room.pk, None).value
    response = client.post(url, {"on": "2026-03-11", "slot": value})
    assert response.status_code == 302 and "/shift-series/?from=" in response["Location"]
    offer = client.get(response["Location"])
    body = offer.content.decode()
    assert "Move the later appointments too?" in body
    assert "Wed 18 Mar 10:00" in body and "Wed 25 Mar 10:00" in body
    done = client.post(
        response["Location"].split("?")[0], {"from": response["Location"].split("from=")[1], "move": [booked[2].pk, booked[3].pk]}
    )
    assert done.status_code == 302
    assert [a.starts_at for a in Appointment.objects.order_by("starts_at")] == [at(3, 10), at(11, 10), at(18, 10), at(25, 10)]


def test_status_buttons_and_bad_posts(client, clinic, frozen):
    # A consultation: a treatment's check-in also needs a screening that allows it (test_arrival_check).
    appointment = book(clinic, at(2, 10), kind=Appointment.Kind.CONSULTATION)
    client.force_login(clinic.ctx.actor)
    assert client.post(reverse("scheduling:appointment-cancel", args=[appointment.pk]), {"reason": ""}).status_code == 400
    assert client.post(reverse("scheduling:appointment-cancel", args=[appointment.pk]), {"reason": "x" * 301}).status_code == 400
    assert client.post(reverse("scheduling:appointment-no-show", args=[appointment.pk])).status_code == 409  # not started yet
    assert client.get(reverse("scheduling:appointment-check-in", args=[appointment.pk])).status_code == 405
    frozen.move_to(at(2, 9, 45))
    assert client.post(reverse("scheduling:appointment-check-in", args=[appointment.pk])).status_code == 302
    assert client.post(reverse("scheduling:appointment-check-in", args=[appointment.pk])).status_code == 409
    assert client.post(reverse("scheduling:appointment-cancel", args=[appointment.pk]), {"reason": "left"}).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED


def test_a_move_in_the_past_is_refused(clinic):
    appointment = book(clinic, at(3, 10))
    with time_machine.travel(at(3, 12), tick=False), pytest.raises(services.BookingRefused, match="past"):
        services.reschedule_appointment(ctx=clinic.ctx, appointment=appointment, starts_at=at(3, 11))

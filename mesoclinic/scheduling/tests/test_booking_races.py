"""Many clients book the same thing at the same moment: exactly one wins, nobody gets a 500,
and the table never holds an overlap. Real concurrent PostgreSQL connections, one per thread."""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection

from mesoclinic.accounts.roles import Role
from mesoclinic.core import audit
from mesoclinic.core.tests.factories import DeviceFactory, RoomFactory
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling import services
from mesoclinic.scheduling.models import Appointment

from .conftest import at
from .factories import practitioner_at
from .invariants import overlaps

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CLIENTS = 50


@contextmanager
def connections_to_spare():
    """Fifty connections is half of PostgreSQL's default limit: with `pytest -n 2`, two races at once
    would exhaust it. A lock file makes the test processes on this machine take turns."""
    with open(os.path.join(tempfile.gettempdir(), "mesoclinic-50-connection-race.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def race(calls):
    """Run every call at once (a barrier releases them together); return outcomes by kind."""
    with connections_to_spare():
        return _race(calls)


def _race(calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as error:  # collected and asserted on below
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def assert_one_winner(outcomes, resource):
    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"Appointment": 1, "SlotUnavailable": CLIENTS - 1}, kinds
    assert {outcome.resource for outcome in outcomes if isinstance(outcome, services.SlotUnavailable)} == {resource}
    assert Appointment.objects.count() == 1
    assert overlaps() == []


@pytest.fixture
def many(clinic):
    """Fifty of everything at the clinic, so each race contends on exactly one resource."""
    clinic.rooms = [RoomFactory(location=clinic.location) for _ in range(CLIENTS)]
    clinic.devices = [DeviceFactory(location=clinic.location) for _ in range(CLIENTS)]
    clinic.patients = [PatientFactory(location=clinic.location) for _ in range(CLIENTS)]
    clinic.practitioners = [practitioner_at(clinic.location, role=Role.NURSE) for _ in range(CLIENTS)]
    return clinic


def booking(clinic, *, patient, practitioner, room, device=None, starts_at=None):
    def call():
        return services.book_appointment(
            ctx=audit.SYSTEM,
            location=clinic.location,
            patient=patient,
            practitioner=practitioner,
            room=room,
            device=device,
            starts_at=starts_at or at(2, 10),
            kind=Appointment.Kind.TREATMENT,
            numbing_minutes=30,
            procedure_minutes=30,
        )

    return call


def test_fifty_clients_booking_one_practitioner_at_once_give_exactly_one_booking(many):
    calls = [booking(many, patient=many.patients[n], practitioner=many.nurse, room=many.rooms[n]) for n in range(CLIENTS)]
    assert_one_winner(race(calls), "practitioner")


def test_fifty_clients_booking_one_room_at_once_give_exactly_one_booking(many):
    calls = [booking(many, patient=many.patients[n], practitioner=many.practitioners[n], room=many.room) for n in range(CLIENTS)]
    assert_one_winner(race(calls), "room")


def test_fifty_clients_booking_one_dermapen_at_once_give_exactly_one_booking(many):
    calls = [
        booking(many, patient=many.patients[n], practitioner=many.practitioners[n], room=many.rooms[n], device=many.dermapen)
        for n in range(CLIENTS)
    ]
    assert_one_winner(race(calls), "device")


def test_fifty_clients_booking_one_patient_twice_at_once_give_exactly_one_booking(many):
    # Overlapping but not identical times: the patient's intervals clash, nothing else does.
    calls = [
        booking(
            many,
            patient=many.patient,
            practitioner=many.practitioners[n],
            room=many.rooms[n],
            starts_at=at(2, 10) + timedelta(minutes=n % 30),
        )
        for n in range(CLIENTS)
    ]
    assert_one_winner(race(calls), "patient")


def test_the_database_alone_refuses_the_overlaps_when_the_friendly_check_is_skipped(many, monkeypatch):
    monkeypatch.setattr(services, "_check_free", lambda **kwargs: None)
    calls = [booking(many, patient=many.patients[n], practitioner=many.nurse, room=many.rooms[n]) for n in range(CLIENTS)]
    outcomes = race(calls)
    assert_one_winner(outcomes, "practitioner")
    assert all("just taken" in outcome.message for outcome in outcomes if isinstance(outcome, services.SlotUnavailable))


def test_series_booked_at_once_are_all_or_nothing(many, monkeypatch):
    """Fifty clients each book a six-session series; every series shares its third session's time
    and practitioner with all the others. One series wins whole; the others leave no stray session."""
    monkeypatch.setattr(services, "_check_free", lambda **kwargs: None)  # make the database decide

    def series(n):
        proposals = []
        for session in range(6):
            shared = session == 2
            proposals.append(
                services.ProposedBooking(
                    location=many.location,
                    patient=many.patients[n],
                    practitioner=many.nurse if shared else many.practitioners[n],
                    room=many.rooms[n],
                    device=None,
                    starts_at=at(2, 9) + timedelta(days=7 * session),
                    numbing_minutes=30,
                    procedure_minutes=30,
                )
            )
        return lambda: services.book_series(ctx=audit.SYSTEM, bookings=proposals)

    outcomes = race([series(n) for n in range(CLIENTS)])
    winners = [outcome for outcome in outcomes if isinstance(outcome, list)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, services.SlotUnavailable)]
    assert len(winners) == 1 and len(losers) == CLIENTS - 1, Counter(type(o).__name__ for o in outcomes)
    assert Appointment.objects.count() == 6
    assert set(Appointment.objects.values_list("series_key", flat=True)) == {winners[0][0].series_key}
    assert overlaps() == []

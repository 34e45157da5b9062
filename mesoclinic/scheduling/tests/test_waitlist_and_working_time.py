from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core.tests.factories import LocationFactory
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling import services
from mesoclinic.scheduling.models import Appointment, Closure, SchedulingPolicy, TimeOff, WaitlistEntry, WaitlistOffer, WorkingHours

from .conftest import at


def book(clinic, starts_at, patient=None, **overrides):
    arguments = {
        "ctx": clinic.ctx,
        "location": clinic.location,
        "patient": patient or clinic.patient,
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


def wait(clinic, patient, **overrides):
    arguments = {
        "ctx": clinic.ctx,
        "location": clinic.location,
        "patient": patient,
        "earliest_on": date(2026, 3, 2),
        "latest_on": date(2026, 3, 10),
        "numbing_minutes": 30,
        "procedure_minutes": 30,
    }
    arguments.update(overrides)
    return services.add_to_waitlist(**arguments)


def test_a_cancellation_offers_the_freed_time_to_the_longest_waiting_matching_patients(clinic):
    appointment = book(clinic, at(5, 10))
    first = wait(clinic, PatientFactory(location=clinic.location, given_name="Zoë"))
    wrong_days = wait(clinic, PatientFactory(location=clinic.location), earliest_on=date(2026, 3, 6))
    wrong_person = wait(clinic, PatientFactory(location=clinic.location), practitioner=clinic.doctor)
    too_long = wait(clinic, PatientFactory(location=clinic.location), procedure_minutes=90)
    needs_pen = wait(clinic, PatientFactory(location=clinic.location), needs_device=True)
    second = wait(clinic, PatientFactory(location=clinic.location), practitioner=clinic.nurse)
    services.cancel_appointment(ctx=clinic.ctx, appointment=appointment, reason="patient called")
    offered = set(WaitlistOffer.objects.values_list("entry_id", flat=True))
    assert offered == {first.pk, second.pk}
    assert not offered & {wrong_days.pk, wrong_person.pk, too_long.pk, needs_pen.pk}
    message = OutboundMessage.objects.get(kind="waitlist-offer", patient_id=first.patient_id)
    assert "Thursday 5 March 2026 at 10:00" in message.body


def test_at_most_three_patients_are_offered_one_slot(clinic):
    appointment = book(clinic, at(5, 10))
    for _ in range(5):
        wait(clinic, PatientFactory(location=clinic.location))
    services.cancel_appointment(ctx=clinic.ctx, appointment=appointment, reason="x")
    assert WaitlistOffer.objects.count() == 3


def test_booking_an_offer_books_the_freed_time_and_closes_the_other_offers(client, clinic):
    appointment = book(clinic, at(5, 10))
    taker, other = PatientFactory(location=clinic.location), PatientFactory(location=clinic.location)
    wait(clinic, taker)
    wait(clinic, other)
    services.cancel_appointment(ctx=clinic.ctx, appointment=appointment, reason="x")
    offer = WaitlistOffer.objects.get(entry__patient=taker)
    client.force_login(clinic.ctx.actor)
    page = client.get(reverse("scheduling:waitlist"), {"location": clinic.location.pk})
    assert page.status_code == 200 and "Freed times offered" in page.content.decode()
    response = client.post(reverse("scheduling:waitlist-offer-book", args=[offer.pk]))
    assert response.status_code == 302
    booked = Appointment.objects.get(patient=taker)
    assert booked.starts_at == at(5, 10) and booked.practitioner == clinic.nurse
    assert WaitlistEntry.objects.get(patient=taker).status == "booked"
    assert set(WaitlistOffer.objects.values_list("status", flat=True)) == {"booked", "declined"}
    again = client.post(reverse("scheduling:waitlist-offer-book", args=[WaitlistOffer.objects.get(entry__patient=other).pk]))
    assert again.status_code == 409


def test_the_waitlist_form_adds_a_patient_and_refuses_bad_input(client, clinic):
    client.force_login(clinic.ctx.actor)
    url = reverse("scheduling:waitlist-new")
    data = {
        "location": clinic.location.pk,
        "patient": clinic.patient.pk,
        "earliest_on": "2026-03-02",
        "latest_on": "2026-03-20",
        "kind": "treatment",
        "numbing_minutes": 30,
        "procedure_minutes": 30,
    }
    for bad in (
        {"latest_on": "2026-03-01"},
        {"earliest_on": "2020-01-01"},
        {"procedure_minutes": "x"},
        {"patient": "123456789"},
        {"notes": "n" * 301},
    ):
        assert client.post(url, {**data, **bad}).status_code == 400, bad
    elsewhere = PatientFactory(location=LocationFactory())
    assert client.post(url, {**data, "patient": elsewhere.pk}).status_code == 400
    assert not WaitlistEntry.objects.exists()
    assert client.post(url, data).status_code == 302
    entry = WaitlistEntry.objects.get()
    assert client.post(reverse("scheduling:waitlist-remove", args=[entry.pk])).status_code == 302
    entry.refresh_from_db()
    assert entry.status == "removed"


def test_the_waitlist_is_for_reception_and_managers(client, clinic):
    client.force_login(clinic.nurse)
    assert client.get(reverse("scheduling:waitlist")).status_code == 403


# --- working time ----------------------------------------------------------------------------------


@pytest.fixture
def manager_client(client, clinic):
    manager = UserFactory(role=Role.MANAGER, locations=[clinic.location])
    client.force_login(manager)
    return client


def test_a_manager_sets_working_hours_time_off_closures_and_the_policy(manager_client, clinic):
    page = manager_client.get(reverse("scheduling:working-time"), {"location": clinic.location.pk})
    assert page.status_code == 200
    newcomer = UserFactory(role=Role.NURSE, locations=[clinic.location], first_name="Nia")
    response = manager_client.post(
        reverse("scheduling:working-hours-new"),
        {"location": clinic.location.pk, "user": newcomer.pk, "weekday": 0, "starts_at": "09:00", "ends_at": "13:00"},
    )
    assert response.status_code == 302
    assert WorkingHours.objects.filter(user=newcomer).count() == 1
    overlapping = manager_client.post(
        reverse("scheduling:working-hours-new"),
        {"location": clinic.location.pk, "user": newcomer.pk, "weekday": 0, "starts_at": "12:00", "ends_at": "15:00"},
    )
    assert overlapping.status_code == 400 and "overlap" in overlapping.content.decode()

    book(clinic, at(4, 10))
    response = manager_client.post(
        reverse("scheduling:time-off-new"),
        {"location": clinic.location.pk, "user": clinic.nurse.pk, "first_on": "2026-03-04", "last_on": "2026-03-04", "reason": "course"},
    )
    assert response.status_code == 302
    off = TimeOff.objects.get()
    assert (off.starts_at, off.ends_at) == (at(4, 0), at(5, 0))
    warnings = [
        str(m) for m in manager_client.get(reverse("scheduling:working-time"), {"location": clinic.location.pk}).context["messages"]
    ]
    assert any("1 booked appointment falls in this time off" in w for w in warnings)

    response = manager_client.post(
        reverse("scheduling:closure-new"),
        {"location": clinic.location.pk, "first_on": "2026-04-06", "last_on": "2026-04-07", "reason": "Easter"},
    )
    assert response.status_code == 302
    closure = Closure.objects.get()
    assert (closure.starts_at, closure.ends_at) == (at(6, 0, month=4), at(8, 0, month=4))

    response = manager_client.post(
        reverse("scheduling:policy"), {"location": clinic.location.pk, "numbing_in_waiting_area": "on", "slot_minutes": 10}
    )
    assert response.status_code == 302
    assert SchedulingPolicy.objects.get(location=clinic.location).numbing_in_waiting_area

    for name, pk in (("working-hours-delete", WorkingHours.objects.filter(user=newcomer).get().pk), ("closure-delete", closure.pk)):
        assert manager_client.post(reverse(f"scheduling:{name}", args=[pk])).status_code == 302
    assert manager_client.post(reverse("scheduling:time-off-delete", args=[off.pk]), {"location": clinic.location.pk}).status_code == 302
    assert not TimeOff.objects.exists() and not Closure.objects.exists()


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("scheduling:working-hours-new", {"user": "x", "weekday": 0, "starts_at": "09:00", "ends_at": "13:00"}),
        ("scheduling:working-hours-new", {"weekday": 9, "starts_at": "09:00", "ends_at": "13:00"}),
        ("scheduling:working-hours-new", {"weekday": 0, "starts_at": "14:00", "ends_at": "13:00"}),
        ("scheduling:working-hours-new", {"weekday": 0, "starts_at": "25:00", "ends_at": "13:00"}),
        ("scheduling:time-off-new", {"first_on": "2026-03-05", "last_on": "2026-03-04"}),
        ("scheduling:time-off-new", {"first_on": "nope", "last_on": "2026-03-04"}),
        ("scheduling:closure-new", {"first_on": "2026-03-05", "reason": ""}),
        ("scheduling:closure-new", {"first_on": "2026-03-05", "last_on": "2026-03-01", "reason": "x"}),
        ("scheduling:closure-new", {"first_on": "2026-03-05", "reason": "x" * 201}),
        ("scheduling:policy", {"slot_minutes": 2}),
        ("scheduling:policy", {"slot_minutes": "often"}),
    ],
)
def test_working_time_forms_refuse_bad_input_with_400(manager_client, clinic, url, data):
    data = {"location": clinic.location.pk, "user": clinic.nurse.pk, **data}
    hours_before = WorkingHours.objects.count()
    response = manager_client.post(reverse(url), data)
    assert response.status_code == 400
    assert WorkingHours.objects.count() == hours_before
    assert not TimeOff.objects.exists() and not Closure.objects.exists() and not SchedulingPolicy.objects.exists()


def test_working_time_of_another_location_answers_404(manager_client, clinic):
    elsewhere = LocationFactory()
    assert manager_client.get(reverse("scheduling:working-time"), {"location": elsewhere.pk}).status_code == 404
    other_closure = Closure.objects.create(location=elsewhere, starts_at=at(9, 0), ends_at=at(10, 0), reason="x")
    assert manager_client.post(reverse("scheduling:closure-delete", args=[other_closure.pk])).status_code == 404
    assert manager_client.post(reverse("scheduling:policy"), {"location": elsewhere.pk, "slot_minutes": 15}).status_code == 404
    other_nurse = UserFactory(role=Role.NURSE, locations=[elsewhere])
    response = manager_client.post(
        reverse("scheduling:working-hours-new"),
        {"location": clinic.location.pk, "user": other_nurse.pk, "weekday": 0, "starts_at": "09:00", "ends_at": "13:00"},
    )
    assert response.status_code == 400


def test_working_time_is_for_managers_only(client, clinic):
    client.force_login(clinic.ctx.actor)
    assert client.get(reverse("scheduling:working-time")).status_code == 403
    assert client.post(reverse("scheduling:policy"), {"slot_minutes": 15}).status_code == 403


def test_patients_who_prefer_no_messages_are_waitlisted_silently(clinic):
    appointment = book(clinic, at(5, 10))
    quiet = PatientFactory(location=clinic.location, preferred_channel=Patient.Channel.NONE)
    wait(clinic, quiet)
    services.cancel_appointment(ctx=clinic.ctx, appointment=appointment, reason="x")
    assert WaitlistOffer.objects.filter(entry__patient=quiet).exists()
    assert not OutboundMessage.objects.filter(kind="waitlist-offer").exists()

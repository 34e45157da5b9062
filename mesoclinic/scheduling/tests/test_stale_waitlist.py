"""A receptionist removes a patient from a waitlist page loaded before a colleague booked them into a
freed slot: the removal is refused (409) and says the entry is booked now; the booking stands."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.core.concurrency import StaleEdit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.tests.browser_form import posted_form
from mesoclinic.core.tests.races import kinds, race
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling import services
from mesoclinic.scheduling.models import WaitlistEntry, WaitlistOffer

from .conftest import at
from .test_waitlist_and_working_time import book, wait

pytestmark = pytest.mark.django_db


def load_remove_button(client, entry):
    response = client.get(reverse("scheduling:waitlist"), {"location": entry.location_id})
    assert response.status_code == 200
    return posted_form(response.content, action=reverse("scheduling:waitlist-remove", args=[entry.pk]))


def offered(clinic):
    """A patient on the waitlist who has been offered a freed slot."""
    appointment = book(clinic, at(5, 10))
    entry = wait(clinic, PatientFactory(location=clinic.location))
    services.cancel_appointment(ctx=clinic.ctx, appointment=appointment, reason="x")
    return entry, WaitlistOffer.objects.get(entry=entry)


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])
def test_removing_an_entry_booked_since_the_list_was_loaded_is_refused_and_the_booking_stands(client, clinic, headers):
    entry, offer = offered(clinic)
    client.force_login(clinic.ctx.actor)
    button = load_remove_button(client, entry)
    services.book_waitlist_offer(ctx=clinic.ctx, offer=offer)  # a colleague books the freed time meanwhile

    response = client.post(reverse("scheduling:waitlist-remove", args=[entry.pk]), button, headers=headers)

    assert response.status_code == 409
    assert "Status: you loaded “Waiting”, it is now “Booked”" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, object_type="waitlist").count() == 2  # the list, shown twice
    entry.refresh_from_db()
    assert (entry.status, entry.version) == (WaitlistEntry.Status.BOOKED, 2)


def test_removing_from_a_fresh_list_removes_the_entry(client, clinic):
    entry = wait(clinic, PatientFactory(location=clinic.location))
    client.force_login(clinic.ctx.actor)
    response = client.post(reverse("scheduling:waitlist-remove", args=[entry.pk]), load_remove_button(client, entry))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.version) == (WaitlistEntry.Status.REMOVED, 2)


def test_a_damaged_version_is_a_400(client, clinic):
    entry = wait(clinic, PatientFactory(location=clinic.location))
    client.force_login(clinic.ctx.actor)
    assert client.post(reverse("scheduling:waitlist-remove", args=[entry.pk]), {"version": "x"}).status_code == 400
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistEntry.Status.WAITING


def test_an_offer_for_an_entry_removed_meanwhile_is_not_booked(clinic):
    entry, offer = offered(clinic)
    services.remove_from_waitlist(ctx=clinic.ctx, entry=entry, expected_version=1)
    with pytest.raises(services.WrongStatus):
        services.book_waitlist_offer(ctx=clinic.ctx, offer=offer)  # the offer object was loaded before the removal
    with pytest.raises(StaleEdit):
        services.remove_from_waitlist(ctx=clinic.ctx, entry=entry, expected_version=1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_booking_the_offer_and_removing_the_entry_at_once_give_exactly_one_outcome(clinic):
    entry, offer = offered(clinic)

    outcomes = race(
        [
            lambda: services.book_waitlist_offer(ctx=clinic.ctx, offer=offer),
            lambda: services.remove_from_waitlist(ctx=clinic.ctx, entry=entry, expected_version=1),
        ]
    )

    assert sorted(kinds(outcomes)) in (["Appointment", "StaleEdit"], ["WaitlistEntry", "WrongStatus"])
    assert WaitlistEntry.objects.get(pk=entry.pk).version == 2

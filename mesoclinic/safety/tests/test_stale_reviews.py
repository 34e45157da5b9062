"""A doctor reviews an adverse event from the page they loaded: if the event was changed since, the
review is refused (409, the event stays open) and the page shows what changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.concurrency import StaleEdit
from mesoclinic.core.tests.browser_form import posted_form
from mesoclinic.core.tests.races import kinds, race
from mesoclinic.safety import services
from mesoclinic.safety.models import AdverseEvent

from .factories import doctor_at, record_event, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]

REVIEW = {"causality": "possible", "outcome": "resolved", "review_note": "Settled within a week."}


def open_event(location):
    return record_event(signed_session(location, signed_at=timezone.now().replace(microsecond=0) - timedelta(hours=8)))


def changed_by_someone_else(event, **fields):
    """What any other service write does: the change and the version moved on, in one statement."""
    AdverseEvent.objects.filter(pk=event.pk).update(**fields, version=F("version") + 1)


def load(client, event):
    response = client.get(f"/safety/adverse-events/{event.pk}/")
    assert response.status_code == 200
    return posted_form(response.content, action=f"/safety/adverse-events/{event.pk}/close/")


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])
def test_a_review_of_an_event_changed_since_the_page_was_loaded_is_refused_and_the_event_stays_open(client, location, headers):
    event = open_event(location)
    client.force_login(doctor_at(location))
    loaded = load(client, event)
    changed_by_someone_else(event, severity="severe")

    response = client.post(f"/safety/adverse-events/{event.pk}/close/", {**loaded, **REVIEW}, headers=headers)

    assert response.status_code == 409
    assert "Severity: you loaded “Mild”, it is now “Severe”" in response.content.decode()
    event.refresh_from_db()
    assert (event.status, event.version) == (AdverseEvent.Status.OPEN, 2)
    again = posted_form(response.content, action=f"/safety/adverse-events/{event.pk}/close/")
    assert (again["review_note"], again["version"]) == (REVIEW["review_note"], "2")


def test_a_review_from_a_fresh_page_closes_the_event_and_moves_the_version_on(client, location):
    event = open_event(location)
    client.force_login(doctor_at(location))
    response = client.post(f"/safety/adverse-events/{event.pk}/close/", {**load(client, event), **REVIEW})
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.status, event.version) == (AdverseEvent.Status.CLOSED, 2)


def test_the_service_refuses_a_stale_version(location):
    event = open_event(location)
    changed_by_someone_else(event, treatment="Cold compress")
    with pytest.raises(StaleEdit):
        services.close_adverse_event(
            ctx=audit.AuditContext(actor=doctor_at(location)),
            event=event,
            causality="possible",
            outcome="resolved",
            note="x",
            expected_version=1,
        )
    assert AdverseEvent.objects.get(pk=event.pk).status == AdverseEvent.Status.OPEN


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_doctors_closing_one_event_at_once_give_exactly_one_review(location):
    event = open_event(location)
    doctors = [doctor_at(location), doctor_at(location)]

    def close(doctor):
        def call():
            return services.close_adverse_event(
                ctx=audit.AuditContext(actor=doctor), event=event, causality="possible", outcome="resolved", note="x", expected_version=1
            )

        return call

    outcomes = race([close(doctor) for doctor in doctors])

    assert sorted(kinds(outcomes)) == ["AdverseEvent", "EventClosed"]
    assert AdverseEvent.objects.get(pk=event.pk).version == 2

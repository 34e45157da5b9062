"""Adverse-event screens: record from a follow-up or a session, review, print, export; scoping and bad input."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.aftercare import services as aftercare_services
from mesoclinic.aftercare.models import FollowUp
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.safety.models import AdverseEvent

from .factories import doctor_at, issued, nurse, record_event, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]


def follow_up_for(location):
    session = signed_session(location, signed_at=timezone.now().replace(microsecond=0) - timedelta(hours=8))
    checkin = issued(session).checkin
    _, follow_up = aftercare_services.answer_checkin(ctx=audit.SYSTEM, checkin_id=checkin.pk, answer="worse", now=checkin.due_at)
    return session, follow_up


def form(session, **overrides):
    local_onset = session.record.location.local(session.record.signed_at + timedelta(hours=6))
    data = {
        "event_type": "swelling",
        "description": "Swollen and warm along the parting.",
        "onset_at": local_onset.strftime("%Y-%m-%dT%H:%M"),
        "severity": "moderate",
        "treatment": "Antihistamine",
        "outcome": "recovering",
        "reaction_code": "MESO-002",
        "areas": [t.pk for t in session.treatments.values()],
        "usages": [u.pk for u in session.usages],
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_a_nurse_records_an_event_from_a_follow_up_and_a_doctor_closes_it(client, location):
    session, follow_up = follow_up_for(location)
    client.force_login(nurse(location))
    page = client.get("/safety/adverse-events/new/", {"follow_up": follow_up.pk})
    assert page.status_code == 200 and session.usages[0].lot.lot_number in page.content.decode()
    response = client.post("/safety/adverse-events/new/", {"follow_up": follow_up.pk, **form(session)})
    assert response.status_code == 302
    event = AdverseEvent.objects.get()
    assert event.follow_up == follow_up and event.event_type == "swelling"
    assert event.location.local(event.onset_at).strftime("%H:%M") == form(session)["onset_at"][-5:]  # typed in the clinic's time
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.CONVERTED

    client.force_login(doctor_at(location))
    detail = client.get(f"/safety/adverse-events/{event.pk}/").content.decode()
    assert "Review and close" in detail and session.usages[0].lot.lot_number in detail
    response = client.post(
        f"/safety/adverse-events/{event.pk}/close/", {"causality": "possible", "outcome": "resolved", "review_note": "Settled."}
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == AdverseEvent.Status.CLOSED
    assert (
        client.post(
            f"/safety/adverse-events/{event.pk}/close/", {"causality": "related", "outcome": "resolved", "review_note": "x"}
        ).status_code
        == 409
    )


def past_session(location):
    return signed_session(location, signed_at=timezone.now().replace(microsecond=0) - timedelta(hours=8))


def test_a_doctor_records_an_event_directly_from_a_session(client, location):
    session = past_session(location)
    client.force_login(doctor_at(location))
    assert client.post("/safety/adverse-events/new/", {"record": session.record.pk, **form(session)}).status_code == 302
    assert AdverseEvent.objects.get().follow_up is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"event_type": "unicorn"},
        {"severity": None},
        {"description": ""},
        {"description": "x" * 2001},
        {"onset_at": "tomorrow"},
        {"reaction_code": None},
        {"reaction_code": "MEDDRA-1"},
        {"severity": "serious"},  # a serious event needs a seriousness criterion
        {"serious_hospitalisation": "on"},  # … and a criterion makes it serious
        {"areas": ["abc"]},
        {"areas": [999999999]},
        {"usages": [999999999]},
        {"description": "nul\x00byte"},
    ],
)
def test_bad_input_re_renders_the_form_with_a_400_and_saves_nothing(client, location, overrides):
    session = past_session(location)
    client.force_login(nurse(location))
    response = client.post("/safety/adverse-events/new/", {"record": session.record.pk, **form(session, **overrides)})
    assert response.status_code == 400
    assert AdverseEvent.objects.count() == 0


def test_an_onset_before_the_session_is_refused_with_a_message(client, location):
    session = past_session(location)
    client.force_login(nurse(location))
    early = session.record.location.local(session.record.started_at - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/safety/adverse-events/new/", {"record": session.record.pk, **form(session, onset_at=early)})
    assert response.status_code == 400 and "before the session" in response.content.decode()


@pytest.mark.parametrize("query", [{}, {"record": "abc"}, {"follow_up": "1.5"}])
def test_the_form_needs_a_session_or_follow_up_given_properly(client, location, query):
    client.force_login(nurse(location))
    assert client.get("/safety/adverse-events/new/", query).status_code == 400


def test_another_locations_sessions_follow_ups_and_events_answer_404(client, location, other_location):
    session, follow_up = follow_up_for(other_location)
    event = record_event(signed_session(other_location))
    client.force_login(doctor_at(location))
    assert client.get("/safety/adverse-events/new/", {"record": session.record.pk}).status_code == 404
    assert client.get("/safety/adverse-events/new/", {"follow_up": follow_up.pk}).status_code == 404
    assert client.post("/safety/adverse-events/new/", {"record": session.record.pk, **form(session)}).status_code == 404
    for path in (f"/safety/adverse-events/{event.pk}/", f"/safety/adverse-events/{event.pk}/print/"):
        assert client.get(path).status_code == 404
    assert (
        client.post(
            f"/safety/adverse-events/{event.pk}/close/", {"causality": "possible", "outcome": "resolved", "review_note": "x"}
        ).status_code
        == 404
    )
    assert event.patient.full_name not in client.get("/safety/adverse-events/").content.decode()
    event.refresh_from_db()
    assert event.is_open and AdverseEvent.objects.count() == 1


def test_a_nurse_cannot_close_and_a_receptionist_sees_no_events(client, location):
    event = record_event(signed_session(location))
    client.force_login(nurse(location))
    assert (
        client.post(
            f"/safety/adverse-events/{event.pk}/close/", {"causality": "possible", "outcome": "resolved", "review_note": "x"}
        ).status_code
        == 403
    )
    client.force_login(UserFactory(role=Role.RECEPTIONIST, locations=[location]))
    assert client.get("/safety/adverse-events/").status_code == 403


def test_the_print_page_and_the_csv_export_for_the_regulator(client, location):
    event = record_event(signed_session(location))
    client.force_login(doctor_at(location))
    printed = client.get(f"/safety/adverse-events/{event.pk}/print/").content.decode()
    patient = event.patient
    assert f"{patient.given_name[0]}{patient.family_name[0]}".upper() in printed and "@media print" in printed
    assert patient.family_name not in printed  # initials only
    assert event.product_links.first().lot.lot_number in printed
    response = client.get("/safety/adverse-events/export.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(row["event_id"], row["lots"], row["patient_record_number"]) for row in rows] == [
        (str(event.pk), event.product_links.first().lot.lot_number, patient.record_number)
    ]
    assert "patient_name" not in rows[0]
    assert AuditEvent.objects.filter(action="export", object_type="adverse-event").count() == 1


def test_csv_cells_that_look_like_formulas_are_neutralised(client, location):
    record_event(signed_session(location), description='=HYPERLINK("http://evil")')
    client.force_login(doctor_at(location))
    rows = list(csv.DictReader(io.StringIO(client.get("/safety/adverse-events/export.csv").content.decode("utf-8-sig"))))
    assert rows[0]["description"].startswith("'=")


@pytest.mark.parametrize("query", [{"before": "abc"}, {"since": "31/02/2026"}, {"status": "lost"}, {"location": "-1"}])
def test_the_event_list_and_export_refuse_bad_filters_with_400(client, location, query):
    client.force_login(doctor_at(location))
    assert client.get("/safety/adverse-events/", query).status_code == 400
    if "before" not in query:
        assert client.get("/safety/adverse-events/export.csv", query).status_code == 400

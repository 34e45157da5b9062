"""Adverse events beyond the signed session: a reaction to the numbing cream, during a session not
signed, or outside any session; what a regulator's report (Yellow Card) asks for; and the lots as the
record reads after its amendments."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.inventory.models import Consumable
from mesoclinic.inventory.tests.factories import make_lot
from mesoclinic.procedures import services as procedures
from mesoclinic.procedures.amendments import amendable_fields
from mesoclinic.procedures.models import ProcedureRecord
from mesoclinic.safety import selectors, services
from mesoclinic.safety.models import AdverseEvent

from .factories import doctor_at, event_data, lot_of, nurse, record_event, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]


def cream_lot(location, number: str = "EMLA-7"):
    cream = Consumable.objects.create(
        key=f"cream-{number.lower()}", name="Lidocaine/prilocaine 5% cream", kind="numbing", manufacturer="Aspen"
    )
    return make_lot(location, consumable=cream, lot_number=number, quantity="10")


def test_a_reaction_to_the_numbing_cream_in_a_session_not_signed_names_the_creams_lot(location):
    session = signed_session(location, sign=False)
    lot = cream_lot(location)
    ProcedureRecord.objects.filter(pk=session.record.pk).update(
        numbing_product=lot.item_name, numbing_lot=lot, numbing_applied_at=session.record.started_at
    )
    session.record.refresh_from_db()
    event = record_event(session, treatments=[], usages=[], lot_ids=[lot.pk], reaction_code="MESO-011")
    assert event.record == session.record and not event.record.is_signed
    [link] = event.product_links.all()
    assert (link.lot, link.product, link.usage) == (lot, None, None)
    assert selectors.suspects_of([event])[event.pk][0].name == "Lidocaine/prilocaine 5% cream"


def test_an_event_outside_any_session_belongs_to_the_patient_with_a_suspected_lot(location):
    session = signed_session(location)
    lot = session.usages[0].lot
    by = nurse(location)
    event = services.record_adverse_event(
        ctx=audit.AuditContext(actor=by),
        record=None,
        patient=session.patient,
        data=event_data(session, onset_at=timezone.now() - timedelta(hours=1), reaction_code="MESO-008"),
        lot_ids=[lot.pk],
    )
    assert (event.record, event.patient, event.location) == (None, session.patient, location)
    assert [link.lot for link in event.product_links.all()] == [lot]
    assert event.reporter_name == by.get_full_name()
    report = selectors.safety_report(scope=frozenset({location.pk}), filters=selectors.EventFilter())
    assert [(row.label, row.count) for row in report.by_protocol] == [("No session", 1)]
    assert [row.label for row in report.by_lot] == [lot.lot_number]


def test_a_lot_of_another_location_cannot_be_named(location, other_location):
    session = signed_session(location)
    with pytest.raises(services.EventRefused, match="lots of this location"):
        services.record_adverse_event(
            ctx=audit.AuditContext(actor=nurse(location)),
            record=None,
            patient=session.patient,
            data=event_data(session, onset_at=timezone.now() - timedelta(hours=1)),
            lot_ids=[lot_of(other_location, "hair_cocktail").pk],
        )


def test_a_serious_event_needs_a_criterion_and_a_criterion_makes_it_serious(location):
    session = signed_session(location)
    with pytest.raises(services.EventRefused, match="seriousness criterion"):
        record_event(session, severity="serious")
    with pytest.raises(services.EventRefused, match="choose that severity"):
        record_event(session, severity="moderate", serious_hospitalisation=True)
    event = record_event(session, severity="serious", serious_hospitalisation=True, serious_life_threatening=True)
    assert event.seriousness_criteria == ["life-threatening", "caused or prolonged hospitalisation"]


def test_the_regulator_report_needs_a_date_and_a_channel_and_shows_everywhere(client, location):
    session = signed_session(location, signed_at=timezone.now().replace(microsecond=0) - timedelta(hours=8))
    event = record_event(session, reaction_code="MESO-002", reporter_role="nurse")
    with pytest.raises(ValidationError):
        services.record_regulator_report(ctx=audit.SYSTEM, event=event, reported_on=timezone.localdate(), channel="pigeon")
    client.force_login(doctor_at(location))
    url = f"/safety/adverse-events/{event.pk}/regulator/"
    assert client.post(url, {"regulator_channel": "yellow_card_web"}).status_code == 400
    today = timezone.localdate()
    response = client.post(
        url, {"regulator_reported_on": today.isoformat(), "regulator_channel": "yellow_card_web", "regulator_reference": "YC-123"}
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.regulator_reported_on, event.regulator_channel, event.regulator_reference) == (today, "yellow_card_web", "YC-123")
    for page in (f"/safety/adverse-events/{event.pk}/", f"/safety/adverse-events/{event.pk}/print/"):
        text = client.get(page).content.decode()
        assert "Injection site swelling" in text and "MESO-002" in text and "YC-123" in text and "Yellow Card website" in text
    rows = list(csv.DictReader(io.StringIO(client.get("/safety/adverse-events/export.csv").content.decode("utf-8-sig"))))
    assert [
        (r["reaction_code"], r["reaction_term"], r["regulator_reference"], r["regulator_channel"], r["reporter_role"]) for r in rows
    ] == [("MESO-002", "Injection site swelling", "YC-123", "Yellow Card website", "nurse")]
    assert rows[0]["regulator_reported_on"] == today.isoformat() and rows[0]["record_status"] == "Signed"


def test_the_event_reads_the_lot_as_amended_on_the_page_the_csv_and_the_report(client, location):
    session = signed_session(location, signed_at=timezone.now().replace(microsecond=0) - timedelta(hours=8))
    old = session.usages[0].lot
    new = lot_of(location, "hair_cocktail", lot_number="HC-RIGHT")
    event = record_event(session)
    doctor = doctor_at(location)
    target = next(f.key for f in amendable_fields(session.record) if f.field == "lot")
    procedures.amend_record(
        ctx=audit.AuditContext(actor=doctor),
        record=session.record,
        target=target,
        new_value="HC-RIGHT",
        reason="The vial in the bin says HC-RIGHT.",
    )
    [suspect] = selectors.suspects_of([selectors.get_event(scope=frozenset({location.pk}), pk=event.pk)])[event.pk]
    assert suspect.lot == new and old.lot_number in suspect.originally
    report = selectors.safety_report(scope=frozenset({location.pk}), filters=selectors.EventFilter())
    assert [row.label for row in report.by_lot] == ["HC-RIGHT"]
    client.force_login(doctor)
    page = client.get(f"/safety/adverse-events/{event.pk}/").content.decode()
    assert "HC-RIGHT" in page and "<del>" in page and old.lot_number in page.split("<del>")[1][:200]
    rows = list(csv.DictReader(io.StringIO(client.get("/safety/adverse-events/export.csv").content.decode("utf-8-sig"))))
    assert rows[0]["lots"] == "HC-RIGHT" and old.lot_number in rows[0]["lots_originally"]
    form = client.get("/safety/adverse-events/new/", {"record": session.record.pk}).content.decode()
    assert "HC-RIGHT" in form and "originally" in form


def test_the_form_records_an_event_for_a_patient_alone(client, location):
    session = signed_session(location)
    client.force_login(nurse(location))
    page = client.get("/safety/adverse-events/new/", {"patient": session.patient.pk})
    assert page.status_code == 200 and "not tied to a session" in page.content.decode()
    onset = location.local(timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    data = {"patient": session.patient.pk, "event_type": "allergic_reaction", "description": "Hives after a cream at home.",
            "onset_at": onset, "severity": "moderate", "outcome": "recovering", "reaction_code": "MESO-008"}  # fmt: skip
    assert client.post("/safety/adverse-events/new/", data).status_code == 302
    event = AdverseEvent.objects.get()
    assert event.record is None and event.patient == session.patient
    assert client.get("/safety/adverse-events/new/", {"patient": 999999}).status_code == 404
    assert client.get("/safety/adverse-events/new/", {"patient": "x"}).status_code == 400


def test_a_date_in_the_future_is_refused_for_the_regulator_report(location):
    event = record_event(signed_session(location))
    with pytest.raises(ValidationError):
        services.record_regulator_report(ctx=audit.SYSTEM, event=event, reported_on=date(2999, 1, 1), channel="email")

"""The lot recall: one search, every session and patient that received the lot (mixtures included), constant queries."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import Consumable
from mesoclinic.inventory.tests.factories import make_lot
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.safety import selectors
from mesoclinic.safety.models import RecallContact

from .factories import lot_of, record_event, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]


@pytest.fixture
def manager_of(location, other_location):
    def make(*locations):
        return UserFactory(role=Role.MANAGER, locations=list(locations))

    return make


def recall(user, lot):
    return selectors.recall_search(ctx=audit.AuditContext(actor=user), scope=user.location_ids, lot=lot)


def test_it_finds_sessions_that_got_the_lot_alone_or_in_a_mixture_and_names_the_other_products(location, manager_of):
    recalled = lot_of(location, "hair_cocktail", lot_number="HC-RECALL")
    medicine = lot_of(location, "hair_loss_medicine_solution", lot_number="HM-1")
    alone = signed_session(location, areas={"scalp": [recalled]})
    mixed = signed_session(location, areas={"scalp": [medicine, recalled]})
    unrelated = signed_session(location, areas={"scalp": [medicine]})
    result = recall(manager_of(location), recalled)
    assert {s.record.pk for s in result.sessions} == {alone.record.pk, mixed.record.pk}
    lines = {s.record.pk: s.lines for s in result.sessions}
    assert lines[alone.record.pk][0].mixed_with == []
    assert lines[mixed.record.pk][0].mixed_with == ["Hair-loss medicine for mesotherapy (lot HM-1)"]
    assert unrelated.record.pk not in lines
    assert result.patient_count == 2


def test_it_finds_the_same_lot_number_at_every_location_of_the_manager_and_no_other(location, other_location, manager_of):
    here = lot_of(location, "hair_cocktail", lot_number="HC-9")
    there = lot_of(other_location, "hair_cocktail", lot_number="HC-9")
    a, b = signed_session(location, areas={"scalp": [here]}), signed_session(other_location, areas={"scalp": [there]})
    assert {s.record.pk for s in recall(manager_of(location, other_location), here).sessions} == {a.record.pk, b.record.pk}
    assert {s.record.pk for s in recall(manager_of(location), here).sessions} == {a.record.pk}


def test_sessions_charted_but_not_signed_are_listed_as_not_signed_and_consumable_lots_are(location, manager_of):
    lot = lot_of(location, "hair_cocktail", lot_number="HC-5")
    signed = signed_session(location, areas={"scalp": [lot]})
    open_ = signed_session(location, areas={"scalp": [lot]}, sign=False)  # charted, not signed: the lot is in the skin all the same
    needles = make_lot(location, consumable=Consumable.objects.create(key="needle-30g", name="Needle 30G", kind="needle"), lot_number="N-1")
    needle_session = signed_session(location, consumables={"scalp": [needles]})
    user = manager_of(location)
    found_sessions = {s.record.pk: s for s in recall(user, lot).sessions}
    assert set(found_sessions) == {signed.record.pk, open_.record.pk}
    assert found_sessions[signed.record.pk].signed and not found_sessions[open_.record.pk].signed
    [found] = recall(user, needles).sessions
    assert found.record.pk == needle_session.record.pk and found.lines[0].kind == "consumable"


def test_the_search_costs_the_same_for_2_and_12_sessions_and_audits_each_patient(location, manager_of):
    lot = lot_of(location, "hair_cocktail", lot_number="HC-Q")
    medicine = lot_of(location, "hair_loss_medicine_solution", lot_number="HM-Q")
    user = manager_of(location)
    assert user.location_ids  # the scope is read once per request, before the search

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            recall(user, lot)
        return len(captured)

    for _ in range(2):
        signed_session(location, areas={"scalp": [lot, medicine]})
    few = count()
    for _ in range(10):
        signed_session(location, areas={"scalp": [lot, medicine]})
    assert count() == few <= 12  # the lot, its namesakes, each kind of use with its amendments, mixtures, contacts, events, audit
    rows = AuditEvent.objects.filter(object_type="lot", detail__screen="lot-recall")
    assert rows.filter(patient_id__isnull=False).values("patient_id").distinct().count() == 12


def test_the_recall_page_lists_contact_details_exports_csv_and_marks_patients_contacted(client, location, manager_of):
    lot = lot_of(location, "hair_cocktail", lot_number="HC-CSV")
    medicine = lot_of(location, "hair_loss_medicine_solution", lot_number="HM-CSV")
    session = signed_session(location, areas={"scalp": [lot, medicine]})
    draft = signed_session(location, areas={"scalp": [lot]}, sign=False)
    patient = session.patient
    client.force_login(manager_of(location))
    page = client.get(f"/safety/recalls/lots/{lot.pk}/").content.decode()
    assert patient.full_name in page and patient.phone_display in page and patient.email in page and "in a mixture with" in page
    assert page.count('<span class="badge">not signed</span>') == 1

    response = client.get(f"/safety/recalls/lots/{lot.pk}/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert sorted((row["patient_record_number"], row["record_status"], row["lot_number"], row["mixed_with"]) for row in rows) == sorted(
        [
            (patient.record_number, "signed", "HC-CSV", "Hair-loss medicine for mesotherapy (lot HM-CSV)"),
            (draft.patient.record_number, "not signed", "HC-CSV", ""),
        ]
    )
    assert AuditEvent.objects.filter(action="export", object_type="lot", object_id=str(lot.pk)).count() == 1

    url = f"/safety/recalls/lots/{lot.pk}/patients/{patient.pk}/contacted/"
    assert client.post(url, {"method": "phone", "note": "Told about the recall"}).status_code == 302
    contact = RecallContact.objects.get()
    assert (contact.patient, contact.method) == (patient, "phone")
    assert AuditEvent.objects.filter(action="create", object_type="recall-contact", patient_id=patient.pk).count() == 1
    assert client.post(url, {"method": "phone"}).status_code == 409
    assert client.post(url, {"method": "pigeon"}).status_code == 400
    assert RecallContact.objects.count() == 1


def test_a_patient_who_did_not_get_the_lot_or_another_locations_lot_answers_404(client, location, other_location, manager_of):
    lot = lot_of(location, "hair_cocktail", lot_number="HC-404")
    stranger = signed_session(location)  # got another lot
    elsewhere = lot_of(other_location, "hair_cocktail", lot_number="HC-405")
    client.force_login(manager_of(location))
    assert client.post(f"/safety/recalls/lots/{lot.pk}/patients/{stranger.patient.pk}/contacted/", {"method": "phone"}).status_code == 404
    assert client.get(f"/safety/recalls/lots/{elsewhere.pk}/").status_code == 404
    assert client.get(f"/safety/recalls/lots/{elsewhere.pk}/export.csv").status_code == 404
    assert client.get("/safety/recalls/lots/99999999999999999999/").status_code == 404
    assert RecallContact.objects.count() == 0


def test_the_recall_start_page_finds_lots_by_number(client, location, manager_of):
    lot = lot_of(location, "hair_cocktail", lot_number="ABC-123")
    client.force_login(manager_of(location))
    assert f"/safety/recalls/lots/{lot.pk}/" in client.get("/safety/recalls/", {"lot_number": "abc"}).content.decode()
    assert client.get("/safety/recalls/", {"lot_number": "x" * 61}).status_code == 400


def test_receptionists_cannot_run_a_recall(client, location):
    lot = lot_of(location, "hair_cocktail")
    client.force_login(UserFactory(role=Role.RECEPTIONIST, locations=[location]))
    assert client.get(f"/safety/recalls/lots/{lot.pk}/").status_code == 403
    assert client.get("/safety/recalls/").status_code == 403


def test_the_stock_lot_page_leads_to_the_recall_search(client, location, manager_of):
    lot = lot_of(location, "hair_cocktail", lot_number="HC-LINK")
    client.force_login(manager_of(location))
    page = client.get(f"/stock/lots/{lot.pk}/").content.decode()
    assert f'href="/safety/recalls/lots/{lot.pk}/"' in page


def test_the_recall_page_shows_adverse_events_and_offers_the_patients_own_channel_first(client, location, manager_of):
    lot = lot_of(location, "hair_cocktail", lot_number="HC-AE")
    patient = PatientFactory(location=location, preferred_channel=Patient.Channel.SMS)
    session = signed_session(location, patient=patient, areas={"scalp": [lot]})
    event = record_event(session)
    client.force_login(manager_of(location))

    page = client.get(f"/safety/recalls/lots/{lot.pk}/").content.decode()

    assert f'href="/safety/adverse-events/{event.pk}/">Adverse event: persistent redness, mild' in page
    assert '<option value="sms" selected>SMS</option>' in page

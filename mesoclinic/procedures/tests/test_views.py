"""The chart screens: full pages and htmx fragments, bad input answered with 4xx and clear messages, location scoping."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.procedures import services
from mesoclinic.procedures.models import AreaTreatment, ProcedureRecord
from mesoclinic.scheduling.models import Appointment

from .conftest import TEN
from .factories import answers_for, chart_fully, make_lot, numb, prepare, product

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def step(record, name: str) -> str:
    return reverse("procedures:step", args=[record.pk, name])


def treatment_post(clinic, **overrides) -> dict[str, str]:
    data = {
        "area": "scalp",
        "technique": "dermapen_rolling",
        "depth_mm": "1.00",
        "passes": "3",
        "dermapen_speed": "8",
        "device": str(clinic.dermapen.pk),
        "product_1": str(clinic.lot.product_id),
        "lot_1": str(clinic.lot.pk),
        "volume_1": "2.5",
        "consumable_lot_1": str(clinic.cartridge_lot.pk),
        "consumable_quantity_1": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def nurse_client(client, clinic):
    client.force_login(clinic.nurse)
    return client


def test_the_chart_opens_from_the_appointment_and_shows_every_step(nurse_client, clinic):
    appointment = clinic.appointment(status=Appointment.Status.BOOKED)
    url = reverse("procedures:open", args=[appointment.pk])
    page = nurse_client.get(url)
    assert page.status_code == 200 and "Open the chart" in page.content.decode()

    response = nurse_client.post(url)

    record = ProcedureRecord.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("procedures:detail", args=[record.pk])
    chart = nurse_client.get(response["Location"]).content.decode()
    for text in [
        "Re-screen",
        "Consent on file",
        "Placeholder",
        "Before-photos",
        "Numbing cream",
        "Antisepsis",
        "Treated areas",
        "Immediate reactions",
        "Sign-off",
        "0 of 8",
    ]:
        assert text in chart
    assert nurse_client.get(url)["Location"] == reverse("procedures:detail", args=[record.pk])


def test_a_full_session_through_the_screens_with_htmx(nurse_client, clinic, clock):
    record = clinic.record()
    answers = {f"answers-{key}": value for key, value in answers_for(record).items()}
    assert nurse_client.post(step(record, "rescreen"), answers, headers=HTMX).status_code == 200
    assert nurse_client.post(step(record, "consent"), {"consent-confirmed": "on"}, headers=HTMX).status_code == 200
    assert nurse_client.post(step(record, "photos"), {"photos-confirmed": "on"}, headers=HTMX).status_code == 200
    response = nurse_client.post(step(record, "numbing"), {"product_name": "EMLA 5% cream", "applied_at": ""}, headers=HTMX)
    assert "Injections unlock at" in response.content.decode() and 'data-seconds-left="1800"' in response.content.decode()
    early_swab = nurse_client.post(step(record, "antisepsis"), {"antisepsis-confirmed": "on"}, headers=HTMX)
    assert early_swab.status_code == 409 and "comes after the numbing wait: not before 10:25" in early_swab.content.decode()

    locked = nurse_client.post(step(record, "treatment"), treatment_post(clinic), headers=HTMX)
    assert locked.status_code == 409
    assert not AreaTreatment.objects.exists()

    clock.shift(timedelta(minutes=30))
    assert nurse_client.post(step(record, "antisepsis"), {"antisepsis-confirmed": "on"}, headers=HTMX).status_code == 200
    saved = nurse_client.post(step(record, "treatment"), treatment_post(clinic), headers=HTMX)
    assert saved.status_code == 200 and "<html" not in saved.content.decode()
    assert "HC-LATE" in saved.content.decode()
    reactions = {"kinds": ["redness"], "severity_redness": "mild"}
    assert nurse_client.post(step(record, "reactions"), reactions, headers=HTMX).status_code == 200

    signed = nurse_client.post(reverse("procedures:sign", args=[record.pk]), {"confirmed": "yes"}, headers=HTMX)
    assert signed.status_code == 204 and signed["HX-Redirect"] == reverse("procedures:detail", args=[record.pk])
    page = nurse_client.get(signed["HX-Redirect"]).content.decode()
    assert "locked" in page and "Amend" in page and "Redness" in page


def test_without_javascript_a_step_redirects_back_to_its_card(nurse_client, clinic):
    record = clinic.record()
    answers = {f"answers-{key}": value for key, value in answers_for(record).items()}
    response = nurse_client.post(step(record, "rescreen"), answers)
    assert response.status_code == 302 and response["Location"].endswith("#step-rescreen")


@pytest.fixture
def ready(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    return record


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"depth_mm": "2.0"}, "outside the protocol&#x27;s depth for Scalp", id="depth-outside-bounds"),
        pytest.param({"depth_mm": "deep"}, "Enter a number", id="depth-not-a-number"),
        pytest.param({"volume_1": "0"}, "More than 0 ml", id="volume-zero"),
        pytest.param({"volume_1": "-2"}, "More than 0 ml", id="volume-negative"),
        pytest.param({"volume_1": "1" * 40}, "too large", id="volume-huge"),
        pytest.param({"lot_1": "999999"}, "not held at this location", id="unknown-lot"),
        pytest.param({"lot_1": "abc"}, "not held at this location", id="lot-not-an-id"),
        pytest.param({"product_1": "999999"}, "protocol&#x27;s products", id="unknown-product"),
        pytest.param({"area": "knee"}, "Choose one of the session&#x27;s areas", id="unknown-area"),
        pytest.param({"technique": None}, "Choose the technique", id="missing-technique"),
        pytest.param({"passes": "2.5"}, "whole number", id="passes-not-whole"),
        pytest.param({"notes": "x" * 600}, "at most 500 characters", id="notes-too-long"),
        pytest.param({"consumable_quantity_1": None}, "how many were used", id="consumable-without-count"),
        pytest.param({"volume_1": None}, "Record the product injected", id="no-product-volume"),
        pytest.param({"lot_1": ""}, "Give the product, its lot and the volume", id="volume-without-lot"),
    ],
)
def test_bad_treatment_input_is_answered_with_a_400_and_nothing_is_saved(nurse_client, clinic, ready, overrides, message):
    response = nurse_client.post(step(ready, "treatment"), treatment_post(clinic, **overrides), headers=HTMX)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AreaTreatment.objects.exists()


def test_a_lot_of_another_product_and_of_another_location_are_refused(nurse_client, clinic, ready, other_location):
    response = nurse_client.post(step(ready, "treatment"), treatment_post(clinic, lot_1=str(clinic.medicine_lot.pk)))
    assert response.status_code == 400 and "is not Hair revitalising cocktail" in response.content.decode()
    elsewhere = make_lot(other_location, product=product(), quantity="5")
    response = nurse_client.post(step(ready, "treatment"), treatment_post(clinic, lot_1=str(elsewhere.pk)))
    assert response.status_code == 400 and "not held at this location" in response.content.decode()
    assert not AreaTreatment.objects.exists()


def test_an_early_start_without_a_reason_or_by_a_nurse_is_refused(nurse_client, client, clinic, clock):
    record = numb(clinic.nurse_ctx, clinic.record())
    response = nurse_client.post(step(record, "early-start"), {"early-reason": ""}, headers=HTMX)
    assert response.status_code == 400 and "Write the reason" in response.content.decode()
    response = nurse_client.post(step(record, "early-start"), {"early-reason": "Patient must leave early today."}, headers=HTMX)
    assert response.status_code == 403 and "Only a doctor may start the injections" in response.content.decode()
    client.force_login(clinic.doctor)
    response = client.post(step(record, "early-start"), {"early-reason": "Patient must leave early today."}, headers=HTMX)
    assert response.status_code == 200
    record.refresh_from_db()
    assert record.early_start_reason == "Patient must leave early today."


def test_sign_off_with_a_missing_step_answers_409_with_the_list(nurse_client, clinic):
    record = clinic.record()
    response = nurse_client.post(reverse("procedures:sign", args=[record.pk]), {"confirmed": "yes"})
    assert response.status_code == 409
    assert "Complete these steps before signing: Re-screen" in response.content.decode()


def test_an_unknown_step_or_record_is_a_404(nurse_client, clinic):
    record = clinic.record()
    assert nurse_client.post(step(record, "dance")).status_code == 404
    assert nurse_client.get(reverse("procedures:detail", args=[999999])).status_code == 404
    assert nurse_client.get(f"/sessions/{2**70}/").status_code == 404
    assert nurse_client.get(reverse("procedures:open", args=[999999])).status_code == 404


def test_other_locations_records_answer_404(client, clinic, other_location):
    record = clinic.record()
    stranger = UserFactory(role="nurse", locations=[other_location])
    client.force_login(stranger)
    assert client.get(reverse("procedures:detail", args=[record.pk])).status_code == 404
    assert client.post(step(record, "consent"), {"consent-confirmed": "on"}).status_code == 404
    assert client.post(reverse("procedures:sign", args=[record.pk])).status_code == 404
    assert client.get(reverse("procedures:amend", args=[record.pk])).status_code == 404
    assert client.get(reverse("procedures:open", args=[record.appointment_id])).status_code == 404
    record.refresh_from_db()
    assert record.consent_confirmed_at is None


def test_a_receptionist_may_not_see_or_chart_sessions(client, clinic):
    record = clinic.record()
    client.force_login(clinic.receptionist)
    assert client.get(reverse("procedures:detail", args=[record.pk])).status_code == 403
    assert client.post(step(record, "consent"), {"consent-confirmed": "on"}).status_code == 403
    assert client.get(reverse("procedures:list")).status_code == 403


def test_only_a_doctor_overrides_a_stopped_session(client, clinic):
    record = clinic.record()
    services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers_for(record, pregnancy=True))
    client.force_login(clinic.nurse)
    page = client.get(reverse("procedures:detail", args=[record.pk])).content.decode()
    assert "Session stopped" in page and "A doctor must review" in page
    assert client.post(step(record, "override"), {"reason": "Pregnancy test negative this morning."}).status_code == 403
    client.force_login(clinic.doctor)
    assert "Override and continue" in client.get(reverse("procedures:detail", args=[record.pk])).content.decode()
    response = client.post(step(record, "override"), {"reason": "Pregnancy test negative this morning."})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == ProcedureRecord.Status.OPEN


def test_the_amend_screen_adds_an_amendment_and_the_record_shows_both_values(nurse_client, clinic, clock):
    record = chart_fully(clinic.nurse_ctx, clinic.record(), clock, lot=clinic.lot)
    services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    url = reverse("procedures:amend", args=[record.pk])
    form = nurse_client.get(url)
    assert form.status_code == 200
    target = next(value for value, label in form.context["form"].fields["target"].choices if "volume" in str(label))

    bad = nurse_client.post(url, {"target": target, "new_value": "0", "reason": "Spilt half of it."})
    assert bad.status_code == 400 and "more than 0 ml" in bad.content.decode()
    assert nurse_client.post(url, {"target": "nope", "new_value": "1", "reason": "Spilt half of it."}).status_code == 400
    assert nurse_client.post(url, {"target": target, "new_value": "2", "reason": "short"}).status_code == 400

    done = nurse_client.post(url, {"target": target, "new_value": "2", "reason": "Half a millilitre was spilt."})
    assert done.status_code == 302
    page = nurse_client.get(reverse("procedures:detail", args=[record.pk])).content.decode()
    assert '<span class="original" title="As signed">2.5</span> <span class="amended">2</span>' in page
    assert "Half a millilitre was spilt." in page


def test_an_open_record_has_no_amend_screen(nurse_client, clinic):
    record = clinic.record()
    assert nurse_client.get(reverse("procedures:amend", args=[record.pk]))["Location"] == reverse("procedures:detail", args=[record.pk])


def test_the_days_sessions_list_links_to_the_charts(nurse_client, clinic):
    appointment = clinic.appointment()
    page = nurse_client.get(reverse("procedures:list")).content.decode()
    assert reverse("procedures:open", args=[appointment.pk]) in page
    record = services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointment)
    page = nurse_client.get(reverse("procedures:list") + f"?location={clinic.location.pk}&on=2026-03-10").content.decode()
    assert reverse("procedures:detail", args=[record.pk]) in page
    assert nurse_client.get(reverse("procedures:list") + "?on=tomorrow").status_code == 400
    assert nurse_client.get(reverse("procedures:list") + "?location=x").status_code == 400
    assert nurse_client.get(reverse("procedures:list") + "?location=999999").status_code == 404


def test_the_patient_page_lists_the_sessions(nurse_client, clinic):
    record = clinic.record()
    page = nurse_client.get(reverse("patients:detail", args=[clinic.patient.pk])).content.decode()
    assert "Sessions" in page and reverse("procedures:detail", args=[record.pk]) in page


def test_the_lot_picker_offers_the_soonest_expiring_lot_first(nurse_client, clinic, ready):
    page = nurse_client.get(reverse("procedures:detail", args=[ready.pk])).content.decode()
    soon, late = page.index("lot HC-SOON"), page.index("lot HC-LATE")
    assert soon < late
    assert f'<option value="{clinic.soon_lot.pk}" selected>' in page
    assert Decimal("10") == clinic.soon_lot.on_hand


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        pytest.param("numbing", {"product_name": ""}, "Name the numbing cream", id="numbing-no-name"),
        pytest.param("numbing", {"product_name": "x" * 200}, "at most 160 characters", id="numbing-name-too-long"),
        pytest.param("numbing", {"product_name": "EMLA", "applied_at": "25:99"}, "Enter a time such as 10:00", id="numbing-bad-time"),
        pytest.param("numbing", {"product_name": "EMLA", "applied_at": "07:30"}, "within two hours", id="numbing-long-ago"),
        pytest.param("numbing", {"product_name": "EMLA", "applied_at": "11:00"}, "cannot be in the future", id="numbing-future"),
        pytest.param("consent", {"consent-confirmed": ""}, "Tick the box", id="consent-unticked"),
        pytest.param("early-start", {"early-reason": "x" * 1200}, "at most 1000 characters", id="early-reason-too-long"),
        pytest.param("reactions", {}, "Choose “None” or the reactions seen", id="reactions-none-chosen"),
        pytest.param("reactions", {"kinds": ["itching"]}, "is not a reaction", id="reactions-unknown"),
        pytest.param(
            "reactions", {"kinds": ["none", "pain"], "severity_pain": "mild"}, "cannot be chosen together", id="reactions-none-and-pain"
        ),
        pytest.param(
            "reactions", {"kinds": ["pain"], "severity_pain": "awful"}, "Choose mild, moderate or severe", id="reactions-bad-severity"
        ),
        pytest.param("override", {"reason": "x"}, "at least 10 characters", id="override-short"),
        pytest.param("rescreen", {"answers-pregnancy": "maybe"}, "Answer yes, no or not sure", id="rescreen-bad-answer"),
    ],
)
def test_bad_step_input_is_answered_with_a_400_and_changes_nothing(nurse_client, clinic, name, data, message):
    record = clinic.record()
    if name in ("early-start", "reactions", "numbing"):
        prepare(clinic.nurse_ctx, record)
    before = ProcedureRecord.objects.filter(pk=record.pk).values().get()
    response = nurse_client.post(step(record, name), data, headers=HTMX)
    assert response.status_code in (400, 403, 409)
    if response.status_code != 403:
        assert message in response.content.decode()
    assert ProcedureRecord.objects.filter(pk=record.pk).values().get() == before


def test_the_prp_form_refuses_bad_volumes_and_a_kit_of_another_kind(nurse_client, clinic):
    from .factories import kit_lot

    record = prepare(clinic.nurse_ctx, clinic.record(protocol_key="hair_prp"))
    kit = kit_lot(clinic.location)
    good = {
        "blood_drawn_ml": "20",
        "drawn_at": "09:50",
        "kit_lot": str(kit.pk),
        "centrifuge_programme": "1500 g, 5 min",
        "prepared_ml": "4",
        "injected_ml": "3.5",
    }
    for change, message in [
        ({"injected_ml": "5"}, "not more than the plasma prepared"),
        ({"blood_drawn_ml": "0"}, "more than 0"),
        ({"kit_lot": str(clinic.cartridge_lot.pk)}, "lot of PRP preparation kits"),
        ({"kit_lot": ""}, "This field is required"),
        ({"drawn_at": "11:00"}, "within the last four hours"),
    ]:
        response = nurse_client.post(step(record, "prp"), {**good, **change}, headers=HTMX)
        assert response.status_code == 400, change
        assert message in response.content.decode(), change
    assert nurse_client.post(step(record, "prp"), good, headers=HTMX).status_code == 200
    assert record.prp_preparations.get().injected_ml == Decimal("3.5")


def test_the_appointment_page_offers_the_chart_to_clinicians_only(client, clinic):
    appointment = clinic.appointment(status=Appointment.Status.BOOKED)
    page = reverse("scheduling:appointment-detail", args=[appointment.pk])
    chart = reverse("procedures:open", args=[appointment.pk])

    client.force_login(clinic.nurse)
    assert f'href="{chart}"' in client.get(page).content.decode()

    client.force_login(clinic.receptionist)
    assert chart not in client.get(page).content.decode()

    consultation = clinic.appointment(at=TEN + timedelta(hours=2), kind=Appointment.Kind.CONSULTATION)
    client.force_login(clinic.doctor)
    assert (
        reverse("procedures:open", args=[consultation.pk])
        not in client.get(reverse("scheduling:appointment-detail", args=[consultation.pk])).content.decode()
    )


def test_a_done_sessions_appointment_page_links_to_its_signed_record(client, clinic, clock):
    record = chart_fully(clinic.nurse_ctx, clinic.record(), clock, lot=clinic.lot)
    services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    page = reverse("scheduling:appointment-detail", args=[record.appointment_id])

    client.force_login(clinic.doctor)
    html = client.get(page).content.decode()
    assert f'href="{reverse("procedures:detail", args=[record.pk])}">The session record<' in html
    assert "Open the chart" not in html

"""The session screen (issue 10): the context at the top of the chart (session 2 of 6, adverse events,
last time with "same as last time", consent and screening), the lot picker per product, the error
summary of a refused card, the confirm step before signing, verdicts in words."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from mesoclinic.procedures import services
from mesoclinic.procedures.models import ProcedureRecord

from .conftest import NOW
from .factories import answers_for, book_hair_course, chart_fully, prepare, treat

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def nurse_client(client, clinic):
    client.force_login(clinic.nurse)
    return client


def session_two(clinic, clock):
    """Session 1 of a 6-session hair course charted (scalp, 1.0 mm, 2.5 ml, mild redness) and signed; session 2 opened."""
    _course, appointments = book_hair_course(clinic, start_on=NOW.date())
    first = services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointments[0])
    prepare(clinic.nurse_ctx, first)
    clock.shift(timedelta(minutes=30))
    treat(
        clinic.nurse_ctx,
        first,
        lot=clinic.soon_lot,
        volume="2.50",
        depth="1.00",
        consumables=[services.ConsumableLine(lot=clinic.cartridge_lot, quantity=1)],
    )
    services.record_reactions(ctx=clinic.nurse_ctx, record=first, reactions=[services.ReactionLine(kind="redness", severity="mild")])
    services.sign_procedure(ctx=clinic.nurse_ctx, record=first)
    clock.move_to(appointments[1].starts_at - timedelta(minutes=5))
    second = services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointments[1])
    return first, second


def test_session_2_shows_its_place_in_the_course_and_what_was_done_last_time(nurse_client, clinic, clock):
    _first, second = session_two(clinic, clock)
    nurse_client.force_login(clinic.nurse)  # four weeks later: sign in again
    page = nurse_client.get(reverse("procedures:detail", args=[second.pk])).content.decode()
    panel = page[page.index('id="session-context"') :]
    assert "Session 2 of 6" in panel
    assert "Last time: 10 March 2026" in panel
    assert re.search(r"Scalp</strong> — Dermapen[^.]*, 1 mm, 3 passes, speed 8", panel)
    assert "2.50 ml (lot HC-SOON)" in panel and "1 × Dermapen cartridge" in panel
    assert "Reactions: Redness (Mild)" in panel
    assert "Consent" in panel and "Not confirmed yet" in panel
    assert "Eligible" in panel


def test_same_as_last_time_prefills_the_area_card_with_todays_lots(nurse_client, clinic, clock):
    _first, second = session_two(clinic, clock)
    nurse_client.force_login(clinic.nurse)  # four weeks later: sign in again
    prepare(clinic.nurse_ctx, second)
    clock.shift(timedelta(minutes=30))
    page = nurse_client.get(reverse("procedures:detail", args=[second.pk]) + "?same=scalp").content.decode()
    form = page[page.index('class="treatment-form"') :]
    assert 'name="depth_mm" value="1.00"' in form and 'name="passes" value="3"' in form and 'name="dermapen_speed" value="8"' in form
    assert 'name="volume_1" value="2.50"' in form
    assert f'<option value="{clinic.soon_lot.pk}" selected>' in form
    assert f'<option value="{clinic.cartridge_lot.pk}" selected>' in form
    assert "filled in as last time" in page


def test_an_open_adverse_event_of_any_session_shows_on_the_chart(nurse_client, clinic, clock):
    from mesoclinic.safety.models import AdverseEvent

    first, second = session_two(clinic, clock)
    nurse_client.force_login(clinic.nurse)  # four weeks later: sign in again
    AdverseEvent.objects.create(
        record=first,
        patient=clinic.patient,
        location=clinic.location,
        event_type="swelling",
        description="Swollen along the parting",
        onset_at=first.signed_at,
        severity="moderate",
        reported_by=clinic.nurse,
        reported_at=first.signed_at,
    )
    page = nurse_client.get(reverse("procedures:detail", args=[second.pk])).content.decode()
    assert "Adverse events (1 open or in the last 90 days)" in page and "Swollen along the parting" in page and "open</strong>" in page


def test_each_products_lot_picker_lists_that_products_lots_only(nurse_client, clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    page = nurse_client.get(reverse("procedures:detail", args=[record.pk])).content.decode()
    first = re.search(r'<select name="lot_1".*?</select>', page, re.S).group(0)
    second = re.search(r'<select name="lot_2".*?</select>', page, re.S).group(0)
    assert "HC-SOON" in first and "HC-LATE" in first and "MED-1" not in first
    assert "MED-1" in second and "HC-" not in second
    assert re.search(r"lot HC-SOON, expires \d\d \w\w\w 2026", first)
    assert first.index("HC-SOON") < first.index("HC-LATE")


def test_the_technique_defaults_to_the_courses(nurse_client, clinic, clock):
    _first, second = session_two(clinic, clock)
    nurse_client.force_login(clinic.nurse)  # four weeks later: sign in again
    prepare(clinic.nurse_ctx, second)
    clock.shift(timedelta(minutes=30))
    page = nurse_client.get(reverse("procedures:detail", args=[second.pk])).content.decode()
    technique = re.search(r'<select name="technique".*?</select>', page, re.S).group(0)
    assert re.search(r'<option value="dermapen_rolling" selected>', technique)


def test_a_refused_card_lists_all_its_errors_at_the_top_of_the_card_with_links(nurse_client, clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    data = {"area": "scalp", "technique": "dermapen_rolling", "depth_mm": "2.9", "passes": "", "dermapen_speed": ""}
    data.update({"product_1": str(clinic.lot.product_id), "lot_1": str(clinic.lot.pk), "volume_1": "1"})
    response = nurse_client.post(reverse("procedures:step", args=[record.pk, "treatment"]), data, headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    card = html[html.index('id="step-treatment"') :]
    summary = re.search(r'<div class="error-summary.*?</div>', card, re.S).group(0)
    assert 'role="alert"' in summary and "data-error-summary" in summary and 'tabindex="-1"' in summary
    assert 'href="#id_depth_mm"' in summary and 'href="#id_dermapen_speed"' in summary and 'href="#id_passes"' in summary
    assert 'href="#id_device"' in summary
    assert "Record the needle or cartridge used, with its lot" in summary  # required by default
    assert "That was not saved: 5 problems" in summary


def test_signing_asks_for_confirmation_with_a_summary_of_what_is_signed(nurse_client, clinic, clock):
    record = chart_fully(
        clinic.nurse_ctx,
        clinic.record(),
        clock,
        lot=clinic.lot,
        consumables=[services.ConsumableLine(lot=clinic.cartridge_lot, quantity=2)],
    )
    chart = nurse_client.get(reverse("procedures:detail", args=[record.pk])).content.decode()
    assert "Review and sign the session" in chart
    page = nurse_client.get(reverse("procedures:sign", args=[record.pk])).content.decode()
    for text in [
        "Signing locks the record",
        "Scalp — Dermapen",
        "lot HC-LATE",
        "2.50 ml",
        "2 × Dermapen cartridge",
        "lot CART-1",
        "None",
        "Sign and lock the record",
    ]:
        assert text in page
    unconfirmed = nurse_client.post(reverse("procedures:sign", args=[record.pk]))
    assert unconfirmed.status_code == 200 and "Sign and lock the record" in unconfirmed.content.decode()
    assert ProcedureRecord.objects.get(pk=record.pk).status == ProcedureRecord.Status.OPEN
    confirmed = nurse_client.post(reverse("procedures:sign", args=[record.pk]), {"confirmed": "yes"})
    assert confirmed.status_code == 302
    assert ProcedureRecord.objects.get(pk=record.pk).status == ProcedureRecord.Status.SIGNED


def test_the_rescreen_verdict_is_shown_in_words(client, clinic):
    record = clinic.record()
    services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers_for(record, pregnancy=True))
    services.override_rescreen(ctx=clinic.doctor_ctx, record=record, reason="Pregnancy test negative this morning.")
    client.force_login(clinic.doctor)
    page = client.get(reverse("procedures:detail", args=[record.pk])).content.decode()
    assert "Verdict: <strong>Not eligible</strong>" in page
    assert "Not_eligible" not in page and "not_eligible<" not in page

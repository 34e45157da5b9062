"""Query-count guards: the chart, the signed record and the patient panel cost the same however much was charted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.procedures import services

from .conftest import TEN
from .factories import cartridge_lot, make_lot, no_reactions, prepare, product, treat

pytestmark = pytest.mark.django_db


def queries(client, url: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(captured)


def add_area(clinic, record, count: int = 1) -> None:
    for _ in range(count):
        treat(
            clinic.nurse_ctx,
            record,
            lot=clinic.lot,
            volume="0.5",
            consumables=[services.ConsumableLine(lot=clinic.cartridge_lot, quantity=1)],
        )


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])
def test_the_chart_costs_the_same_with_one_or_four_areas_and_more_lots(client, clinic, clock, headers):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    add_area(clinic, record)
    client.force_login(clinic.nurse)
    url = reverse("procedures:detail", args=[record.pk])
    queries(client, url, **headers)
    few = queries(client, url, **headers)
    add_area(clinic, record, 3)
    no_reactions(clinic.nurse_ctx, record)
    for _ in range(5):
        make_lot(clinic.location, product=product(), quantity="3")
        cartridge_lot(clinic.location)
    many = queries(client, url, **headers)
    assert few == many


def test_the_signed_record_costs_the_same_with_one_or_four_areas(client, clinic, clock):
    first = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    add_area(clinic, first)
    no_reactions(clinic.nurse_ctx, first)
    services.sign_procedure(ctx=clinic.nurse_ctx, record=first)
    second = prepare(clinic.nurse_ctx, clinic.record(at=first.appointment.starts_at + timedelta(hours=2)))
    clock.shift(timedelta(minutes=30))
    add_area(clinic, second, 4)
    no_reactions(clinic.nurse_ctx, second)
    services.sign_procedure(ctx=clinic.nurse_ctx, record=second)
    client.force_login(clinic.nurse)
    queries(client, reverse("procedures:detail", args=[first.pk]))
    assert queries(client, reverse("procedures:detail", args=[first.pk])) == queries(client, reverse("procedures:detail", args=[second.pk]))


def test_the_patient_panel_costs_one_query_whatever_the_history(client, clinic, clock):
    client.force_login(clinic.nurse)
    url = reverse("patients:detail", args=[clinic.patient.pk])
    clinic.record()
    queries(client, url)
    few = queries(client, url)
    start = TEN
    for hour in range(1, 6):
        clinic.record(at=start + timedelta(hours=hour))
    assert queries(client, url) == few


def test_the_context_panel_costs_the_same_whatever_last_time_held_and_however_many_adverse_events(client, clinic, clock):
    from mesoclinic.safety.models import AdverseEvent

    from .factories import book_hair_course

    _course, appointments = book_hair_course(clinic, start_on=TEN.date())
    first = prepare(clinic.nurse_ctx, services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointments[0]))
    clock.shift(timedelta(minutes=30))
    add_area(clinic, first)
    no_reactions(clinic.nurse_ctx, first)
    services.sign_procedure(ctx=clinic.nurse_ctx, record=first)
    clock.move_to(appointments[1].starts_at - timedelta(minutes=5))
    second = services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointments[1])
    client.force_login(clinic.nurse)
    url = reverse("procedures:detail", args=[second.pk])
    queries(client, url)
    few = queries(client, url)
    assert "Session 2 of 6" in client.get(url).content.decode()
    for _ in range(3):
        AdverseEvent.objects.create(
            record=first,
            patient=clinic.patient,
            location=clinic.location,
            event_type="swelling",
            description="Swollen",
            onset_at=first.signed_at,
            severity="mild",
            reported_by=clinic.nurse,
            reported_at=first.signed_at,
        )
    assert queries(client, url) == few

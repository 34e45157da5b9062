"""Two managers correct one lot's count from the same page: the second correction, decided on a count
that has moved since, is refused (409, nothing recorded) and shows the count then and now."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.concurrency import StaleEdit
from mesoclinic.core.tests.browser_form import posted_form
from mesoclinic.core.tests.races import kinds, race
from mesoclinic.inventory import services
from mesoclinic.inventory.models import Lot

from .factories import make_lot

pytestmark = pytest.mark.django_db


def load(client, lot):
    response = client.get(f"/stock/lots/{lot.pk}/adjust/")
    assert response.status_code == 200
    return posted_form(response.content)


REMOVE_2 = {"change": "remove", "quantity": "2", "reason": "Counted 8 at the stock take"}


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])
def test_a_correction_from_a_count_that_moved_is_refused_and_records_nothing(client, manager, location, headers):
    lot = make_lot(location, quantity="10")
    client.force_login(manager)
    first, second = load(client, lot), load(client, lot)
    assert client.post(f"/stock/lots/{lot.pk}/adjust/", {**first, **REMOVE_2}).status_code == 302

    response = client.post(f"/stock/lots/{lot.pk}/adjust/", {**second, **REMOVE_2}, headers=headers)

    assert response.status_code == 409
    assert "On hand: you loaded “10”, it is now “8”" in response.content.decode()
    lot.refresh_from_db()
    assert (lot.on_hand, lot.movements.count(), lot.version) == (Decimal("8.00"), 2, 2)
    again = posted_form(response.content)
    assert (again["quantity"], again["reason"], again["version"]) == ("2", REMOVE_2["reason"], "2")


def test_a_fresh_correction_is_recorded_and_moves_the_version_on(client, manager, location):
    lot = make_lot(location, quantity="10")
    client.force_login(manager)
    assert client.post(f"/stock/lots/{lot.pk}/adjust/", {**load(client, lot), **REMOVE_2}).status_code == 302
    lot.refresh_from_db()
    assert (lot.on_hand, lot.version) == (Decimal("8.00"), 2)


def test_stock_taken_by_a_session_moves_the_version_on(location):
    lot = make_lot(location, quantity="10")
    services.take_stock(
        ctx=audit.SYSTEM,
        location=location,
        usages=[services.StockUsage(lot=lot, quantity=Decimal("1"))],
        reference_type="procedure",
        reference_id="1",
        patient_id=1,
        on=timezone.localdate(),
    )
    assert Lot.objects.get(pk=lot.pk).version == 2


def test_stock_corrected_by_an_amendment_moves_the_version_on(location):
    """An amended volume gives stock back to the lot: a count correction decided before it is stale."""
    lot = make_lot(location, quantity="10")
    services.correct_use(
        ctx=audit.SYSTEM,
        location=location,
        changes=[(lot, Decimal("0.5"))],
        new_lots=[],
        reference_type="procedure",
        reference_id="1",
        patient_id=1,
        on=timezone.localdate(),
        reason="Amendment 1: volume 3.5 ml, not 4 ml",
    )
    assert Lot.objects.get(pk=lot.pk).version == 2
    with pytest.raises(StaleEdit):
        services.adjust_stock(ctx=audit.SYSTEM, lot=lot, quantity=Decimal("-2"), reason="count", expected_version=1)


def test_the_service_refuses_a_stale_version(location):
    lot = make_lot(location, quantity="10")
    services.adjust_stock(ctx=audit.SYSTEM, lot=lot, quantity=Decimal("-2"), reason="count", expected_version=1)
    with pytest.raises(StaleEdit):
        services.adjust_stock(ctx=audit.SYSTEM, lot=lot, quantity=Decimal("-2"), reason="count", expected_version=1)
    assert Lot.objects.get(pk=lot.pk).on_hand == Decimal("8.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_managers_correcting_one_lot_from_the_same_version_at_once_record_exactly_one_correction(location):
    lot = make_lot(location, quantity="10")

    def correct():
        return services.adjust_stock(ctx=audit.SYSTEM, lot=lot, quantity=Decimal("-2"), reason="count", expected_version=1)

    assert kinds(race([correct, correct])) == {"StockMovement": 1, "StaleEdit": 1}
    assert Lot.objects.get(pk=lot.pk).on_hand == Decimal("8.00")

"""Query-count guards: the stock pages cost the same whatever the number of lots, items and movements."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mesoclinic.inventory.models import ReorderLevel, StockMovement

from .factories import ConsumableFactory, ProductFactory, make_lot

pytestmark = pytest.mark.django_db


def queries(client, url: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(captured)


def add_stock(location, products: int, lots_each: int) -> None:
    soon = timezone.localdate() + timedelta(days=10)
    for _ in range(products):
        product = ProductFactory()
        ReorderLevel.objects.create(location=location, product=product, level=Decimal("1000"))
        for n in range(lots_each):
            make_lot(location, product=product, expires_on=soon + timedelta(days=n))
    needle = ConsumableFactory()
    ReorderLevel.objects.create(location=location, consumable=needle, level=Decimal("1000"))
    make_lot(location, consumable=needle, quantity="100", expires_on=soon)


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        pytest.param("/stock/", {}, id="overview"),
        pytest.param("/stock/?q=meso", {}, id="search"),
        pytest.param("/stock/?page=2", {}, id="second-page"),
        pytest.param("/stock/?empty=1", {}, id="with-empty-lots"),
        pytest.param("/stock/?q=meso", {"HX-Request": "true"}, id="htmx-search"),
        pytest.param("/stock/low/", {}, id="low-stock"),
        pytest.param("/stock/expiring/", {}, id="expiring"),
        pytest.param("/stock/reorder-levels/", {}, id="reorder-levels"),
        pytest.param("/stock/lots/new/", {}, id="receive-form"),
    ],
)
def test_the_stock_pages_cost_the_same_for_few_and_many_lots(client, settings, manager, location, other_location, url, headers):
    settings.MESOCLINIC_PAGE_SIZE = 3  # so that the second page has rows with few lots too
    client.force_login(manager)
    add_stock(location, products=2, lots_each=2)
    queries(client, url, **headers)  # warm the session
    few = queries(client, url, **headers)
    add_stock(location, products=12, lots_each=3)
    add_stock(other_location, products=3, lots_each=2)
    many = queries(client, url, **headers)
    assert few == many
    assert many <= 7  # session, user, memberships, locations, the page's rows (and totals)


def test_the_lot_page_costs_the_same_for_a_short_and_a_long_ledger(client, manager, location):
    client.force_login(manager)
    lot = make_lot(location, quantity="1000")
    url = f"/stock/lots/{lot.pk}/"
    StockMovement.objects.create(
        lot=lot,
        kind="used",
        quantity=Decimal("-1"),
        on_hand_after=Decimal(1000),
        reference_type="procedure",
        reference_id="0",
        patient_id=1,
    )
    queries(client, url)
    few = queries(client, url)
    StockMovement.objects.bulk_create(
        StockMovement(
            lot=lot,
            kind="used",
            quantity=Decimal("-1"),
            on_hand_after=Decimal(999 - n),
            reference_type="procedure",
            reference_id=str(n),
            patient_id=n,
            by=manager,
        )
        for n in range(150)
    )
    many = queries(client, url)
    assert few == many <= 7  # session, user, memberships, the lot, the ledger page, its patients' names, the audit row

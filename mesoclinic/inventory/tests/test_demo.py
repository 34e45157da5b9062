"""The demo stock: every product at every location with an expired, an expiring-soon and a good lot."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from mesoclinic.catalog import demo as catalog_demo
from mesoclinic.catalog.models import Product
from mesoclinic.core import demo as core_demo
from mesoclinic.core.seeding import SCALES, SeedRun
from mesoclinic.inventory import demo, selectors
from mesoclinic.inventory.models import Consumable, Lot

pytestmark = pytest.mark.django_db


def test_the_small_demo_stocks_every_product_and_consumable_at_every_location_quickly():
    run = SeedRun(scale=SCALES["small"], stdout=StringIO())
    core_demo.seed(run)
    catalog_demo.seed(run)
    started = time.monotonic()
    demo.seed(run)
    assert time.monotonic() - started < 5
    today = timezone.localdate()
    products = list(Product.objects.filter(is_active=True))
    assert products and Consumable.objects.count() == len(demo.CONSUMABLES)
    for location in run.shared["locations"]:
        for product in products:
            lots = Lot.objects.filter(location=location, product=product)
            assert lots.filter(expires_on__lt=today, on_hand__gt=0).exists()  # expired, still on the shelf
            assert lots.filter(expires_on__gte=today, expires_on__lte=today + timezone.timedelta(days=60)).exists()
            assert selectors.usable_lots(location=location, product=product, on=today)
        for consumable in Consumable.objects.all():
            assert selectors.usable_lots(location=location, consumable=consumable, on=today)
        assert selectors.expiring_lots(location=location, on=today).expired
    assert Lot.objects.filter(recalled=True).count() == 1
    sums = Lot.objects.annotate(ledger=Sum("movements__quantity"), lines=Count("movements"))
    assert all(lot.ledger == lot.on_hand == lot.quantity_received and lot.lines == 1 for lot in sums)
    assert "stock lots" in run.stdout.getvalue()

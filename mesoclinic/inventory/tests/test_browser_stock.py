"""In Chromium: a manager receives a lot, finds it in the stock list, and recalls it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core.tests.factories import LocationFactory
from mesoclinic.inventory.models import Lot
from mesoclinic.patients.tests.screens import snap

from .factories import ConsumableFactory, ProductFactory, make_lot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_receives_a_lot_sees_it_in_the_list_and_recalls_it(page, sign_in, request):
    location = LocationFactory(name="London Harley Street")
    manager = UserFactory(role=Role.MANAGER, locations=[location], first_name="Maya", last_name="Manager")
    product = ProductFactory(name="Hair revitalising cocktail")
    ConsumableFactory(name="Needle 30G × 4 mm")
    make_lot(location, product=product, lot_number="HRC-2501", quantity="4", expires_on=timezone.localdate() + timedelta(days=20))
    expires = (timezone.localdate() + timedelta(days=400)).isoformat()
    sign_in(manager)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Stock", exact=True).click()
    page.get_by_role("link", name="Receive a lot").click()
    page.get_by_label("Product or consumable").select_option(label="Hair revitalising cocktail (millilitre (ml))")
    page.get_by_label("Lot number").fill("HRC-2602")
    page.get_by_label("Expires on").fill(expires)
    page.get_by_label("Quantity received").fill("0")
    page.get_by_label("Supplier").fill("Meso Supplies Ltd")
    page.get_by_role("button", name="Receive").click()
    assert page.get_by_text("The quantity must be more than 0.").is_visible()  # refused, nothing saved
    assert not Lot.objects.filter(lot_number="HRC-2602").exists()
    page.get_by_label("Quantity received").fill("50")
    page.get_by_role("button", name="Receive").click()

    page.wait_for_url(re.compile(r"/stock/lots/\d+/$"))
    expect(page.get_by_role("heading", name=re.compile("Hair revitalising cocktail"))).to_be_visible()
    expect(page.get_by_text("Received 50 ml of Hair revitalising cocktail lot HRC-2602.")).to_be_visible()

    page.get_by_role("link", name=re.compile("Stock at London Harley Street")).click()
    rows = page.locator("#results tbody")
    assert rows.get_by_role("link", name="HRC-2501").is_visible()  # the sooner-expiring lot first
    assert rows.get_by_role("link", name="HRC-2602").is_visible()
    assert "usable here: 54 ml" in rows.inner_text()
    assert "Expires soon" in rows.inner_text()
    page.get_by_label("Search stock").fill("HRC-26")
    page.wait_for_url(re.compile(r"q=HRC-26"))
    assert not rows.get_by_role("link", name="HRC-2501").is_visible()
    snap(page, request, "stock-list")

    rows.get_by_role("link", name="HRC-2602").click()
    page.get_by_role("link", name="Recall this lot").click()
    expect(page.get_by_role("link", name="Find every patient who received this lot")).to_be_visible()
    page.get_by_role("button", name="Recall the lot").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    page.get_by_label("Reason for the recall").fill("Supplier notice SN-2026-014")
    page.get_by_role("button", name="Recall the lot").click()

    page.wait_for_url(re.compile(r"/stock/lots/\d+/$"))
    expect(page.get_by_role("alert").filter(has_text="Recalled")).to_be_visible()
    assert Lot.objects.get(lot_number="HRC-2602").recalled
    assert page.get_by_role("link", name="Recall this lot").count() == 0

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from mesoclinic.catalog.models import CatalogVersion
from mesoclinic.conftest import ARTIFACTS

from .factories import default_catalog, director

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_medical_director_changes_a_protocol_and_sees_the_new_version(page, sign_in, location):
    default_catalog()
    sign_in(director(location))
    page.get_by_role("link", name="Catalog").first.click()
    page.get_by_role("heading", name="Clinical catalog").wait_for()
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "catalog_overview.png"), full_page=True)
    page.get_by_role("link", name="Protocols").first.click()
    page.get_by_role("link", name="Hair meso — vitamin and amino-acid cocktail").click()
    page.screenshot(path=os.path.join(ARTIFACTS, "catalog_protocol_detail.png"), full_page=True)
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Most sessions").fill("8")
    page.get_by_label("What changed and why").fill("Longer courses for hair")
    page.get_by_label("Deepest depth, area 1").fill("3.5")
    page.get_by_role("button", name="Save (new catalog version)").click()
    page.get_by_text("Please correct the problems below").wait_for()
    page.screenshot(path=os.path.join(ARTIFACTS, "catalog_protocol_form_error.png"), full_page=True)
    page.get_by_label("Deepest depth, area 1").fill("1.2")
    page.get_by_role("button", name="Save (new catalog version)").click()
    page.get_by_text("The catalog is now version 2").wait_for()
    page.get_by_role("link", name="← Protocols").click()
    page.goto("/catalog/versions/2/")
    page.get_by_text("Longer courses for hair").wait_for()
    expect(page.get_by_text("6 → 8")).to_be_visible()
    assert CatalogVersion.objects.count() == 2

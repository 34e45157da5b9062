from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from mesoclinic.catalog.tests.factories import default_catalog
from mesoclinic.conftest import ARTIFACTS
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.screening.models import Override

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REASON = "Early pregnancy discussed with her obstetrician; scalp treatment judged safe."


def _shot(page, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"{name}.png"), full_page=True)


def test_a_doctor_screens_the_patient_sees_not_eligible_pregnancy_and_overrides(page, sign_in, doctor, location):
    default_catalog()
    amelia = PatientFactory(location=location, given_name="Amelia", family_name="Hart")
    sign_in(doctor)
    page.goto(f"/patients/{amelia.pk}/")
    page.get_by_text("Not screened").first.wait_for()
    page.get_by_role("link", name="Screen", exact=True).click()
    page.get_by_role("heading", name="Screen Amelia Hart").wait_for()
    questions = page.locator("fieldset.question")
    for index in range(questions.count()):
        questions.nth(index).get_by_label("No", exact=True).check()
    page.get_by_role("group", name="Are you pregnant, or could you be pregnant?").get_by_label("Yes", exact=True).check()
    _shot(page, "screening_questionnaire")
    page.get_by_role("button", name="Record screening").click()

    page.get_by_role("heading", name="Why").wait_for()
    hair_scalp = page.get_by_role("row").filter(has_text="Hair meso — vitamin and amino-acid cocktail")
    assert "Not eligible — Pregnancy" in hair_scalp.inner_text()
    expect(page.get_by_text("Mesotherapy should be avoided during pregnancy").first).to_be_visible()
    expect(page.get_by_text("absolute contraindication").first).to_be_visible()
    _shot(page, "screening_verdicts")

    # One override action for the screening: choose the protocol (its not-eligible areas follow).
    page.get_by_label("Override a “not eligible” verdict").select_option(label="Hair meso — vitamin and amino-acid cocktail at Scalp")
    page.get_by_role("button", name="Override…").click()
    page.get_by_role("heading", name="Override: Hair meso — vitamin and amino-acid cocktail").wait_for()
    page.get_by_label("Clinical reason for the override").fill(REASON)
    page.get_by_role("button", name="Record override").click()
    page.get_by_text("Override recorded").wait_for()
    expect(page.get_by_text(f"“{REASON}”").first).to_be_visible()

    page.goto(f"/patients/{amelia.pk}/")
    panel = page.locator("#screening")
    panel.get_by_role("heading", name="Overrides").wait_for()
    text = panel.inner_text()
    assert REASON in text and "overridden by" in text and "pregnancy" in text
    hair_row = panel.get_by_role("row").filter(has_text="Hair meso — vitamin and amino-acid cocktail")
    assert "Not eligible — Pregnancy — overridden by a doctor" in hair_row.inner_text()
    prp_row = panel.get_by_role("row").filter(has_text="growth factors from your own blood")
    assert "overridden" not in prp_row.inner_text()
    assert Override.objects.get().overridden_by == doctor

from __future__ import annotations

import pytest

from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.patients.tests.screens import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_save_from_a_tab_opened_before_another_save_shows_what_changed_and_saves_both_on_the_second_try(
    page, sign_in, receptionist, location, request
):
    patient = PatientFactory(location=location, address="1 Old Street", email="zoe@example.com")
    sign_in(receptionist)
    page.goto(f"/patients/{patient.pk}/edit/")
    other = page.context.new_page()
    other.goto(f"/patients/{patient.pk}/edit/")
    other.get_by_label("Address").fill("2 New Road")
    other.get_by_role("button", name="Save changes").click()
    other.get_by_text("Changes saved.").wait_for()

    page.get_by_label("E-mail").fill("zoe.new@example.com")
    page.get_by_role("button", name="Save changes").click()

    alert = page.get_by_role("alert").filter(has_text="Someone else saved this record after you opened it")
    alert.wait_for()
    assert "Address: you loaded “1 Old Street”, it is now “2 New Road” — the form now shows it" in alert.inner_text()
    assert (page.get_by_label("Address").input_value(), page.get_by_label("E-mail").input_value()) == ("2 New Road", "zoe.new@example.com")
    assert Patient.objects.get(pk=patient.pk).email == "zoe@example.com"
    assert page.get_by_text("Please correct").count() == 0  # nothing to correct: a change to look at
    snap(page, request, "refused")

    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Changes saved.").wait_for()
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.address, stored.email) == ("2 New Road", "zoe.new@example.com")

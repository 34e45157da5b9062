from __future__ import annotations

import datetime

import pytest

from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.patients.tests.screens import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_in_zoe(page) -> None:
    page.get_by_label("Given name").fill("Zoe")
    page.get_by_label("Family name").fill("Olcer")
    page.get_by_label("Date of birth").fill("1988-06-02")
    page.get_by_label("E-mail").fill("zoe.new@example.com")


def test_registering_the_same_person_twice_warns_and_registers_only_when_confirmed(page, sign_in, receptionist, location, request):
    existing = PatientFactory(location=location, given_name="Zoë", family_name="Ölçer", date_of_birth=datetime.date(1988, 6, 2))
    sign_in(receptionist)
    page.goto("/patients/new/")
    fill_in_zoe(page)
    page.get_by_role("button", name="Register").click()

    warning = page.get_by_role("alert").filter(has_text="This may be a patient we already know")
    warning.wait_for()
    assert warning.get_by_role("link", name="ÖLÇER, Zoë").get_attribute("href") == f"/patients/{existing.pk}/"
    assert existing.record_number in warning.inner_text()
    assert Patient.objects.count() == 1
    assert page.get_by_label("Given name").input_value() == "Zoe"  # what was typed is kept
    snap(page, request, "warning")

    page.get_by_label("I have checked the similar patients above: this is a different person.").check()
    page.get_by_role("button", name="Register").click()
    page.get_by_text("Registered Zoe Olcer").wait_for()
    assert Patient.objects.count() == 2

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_receptionist_registers_a_patient_finds_them_and_opens_their_page(page, sign_in, receptionist):
    sign_in(receptionist)
    page.get_by_role("link", name="Patients").first.click()
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Given name").fill("Zoë")
    page.get_by_label("Family name").fill("Ölçer")
    page.get_by_label("Date of birth").fill("1988-06-02")
    page.get_by_label("E-mail").fill("zoe@example.com")
    page.get_by_role("button", name="Register").click()
    page.get_by_text("Registered Zoë Ölçer").wait_for()

    page.get_by_role("link", name="Patients").first.click()
    page.get_by_role("searchbox").fill("zoe olc")
    page.get_by_role("link", name="ÖLÇER, Zoë").click()
    page.get_by_role("heading", name="Zoë ÖLÇER").wait_for()
    assert "1988" in page.content()

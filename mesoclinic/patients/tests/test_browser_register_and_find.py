from __future__ import annotations

import pytest

from mesoclinic.patients.tests.screens import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_receptionist_registers_a_patient_finds_them_and_opens_their_page(page, sign_in, receptionist, request):
    sign_in(receptionist)
    page.get_by_role("link", name="Patients").first.click()
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Given name").fill("Zoë")
    page.get_by_label("Family name").fill("Ölçer")
    page.get_by_label("Date of birth").fill("1988-06-02")
    page.get_by_label("E-mail").fill("zoe@example.com")
    page.get_by_label("Fitzpatrick skin type").select_option("III")
    snap(page, request, "register-form")
    page.get_by_role("button", name="Register").click()
    page.get_by_text("Registered Zoë Ölçer").wait_for()

    page.get_by_role("link", name="Patients").first.click()
    page.get_by_role("searchbox").fill("zoe olc")
    page.get_by_text("Results for “zoe olc”").wait_for()  # htmx swapped in the results
    assert page.url.endswith("/patients/?q=zoe%20olc")  # htmx pushed the search into the address
    snap(page, request, "search-results")
    page.get_by_role("link", name="ÖLÇER, Zoë").click()
    page.get_by_role("heading", name="Zoë ÖLÇER").wait_for()
    assert "2 June 1988" in page.content()
    assert "III — sometimes burns, tans gradually" in page.content()


def test_the_search_page_works_without_javascript_paging(page, sign_in, receptionist, location):
    from mesoclinic.patients.tests.factories import PatientFactory

    for n in range(27):
        PatientFactory(location=location, given_name="Ana", family_name=f"Silva{n:02d}")
    sign_in(receptionist)
    page.goto("/patients/?q=silva")
    page.get_by_role("link", name="Next →").click()
    page.get_by_role("link", name="SILVA26, Ana").wait_for()
    assert "page=2" in page.url
    page.get_by_role("link", name="← Previous").click()
    page.get_by_role("link", name="SILVA00, Ana").wait_for()

"""The patient screens: list and search (full page and htmx fragment), register, page, edit."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory, form_data

pytestmark = pytest.mark.django_db
LIST = reverse("patients:list")
NEW = reverse("patients:new")


def names(response) -> list[str]:
    return [p.full_name for p in response.context["result"].patients]


@pytest.fixture
def signed_in(client, receptionist):
    client.force_login(receptionist)
    return client


def test_the_list_shows_the_patients_of_the_users_locations_in_name_order(signed_in, location):
    PatientFactory(location=location, given_name="Ana", family_name="Silva")
    PatientFactory(location=location, given_name="Zoë", family_name="Ölçer")
    response = signed_in.get(LIST)
    assert response.status_code == 200
    assert names(response) == ["Zoë Ölçer", "Ana Silva"]
    html = response.content.decode()
    assert "ÖLÇER, Zoë" in html
    assert 'href="/patients/new/"' in html


def test_the_search_narrows_the_list(signed_in, location):
    PatientFactory(location=location, given_name="Ana", family_name="Silva")
    PatientFactory(location=location, given_name="Zoë", family_name="Ölçer")
    response = signed_in.get(LIST, {"q": "zoe"})
    assert names(response) == ["Zoë Ölçer"]
    assert "Results for “zoe”" in response.content.decode()


def test_an_htmx_search_returns_only_the_results_fragment(signed_in, location):
    PatientFactory(location=location, given_name="Zoë", family_name="Ölçer")
    response = signed_in.get(LIST, {"q": "olc"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="results"')
    assert "ÖLÇER, Zoë" in html
    assert "<html" not in html
    assert 'role="search"' not in html


def test_the_list_pages_without_counting(signed_in, location):
    for n in range(26):
        PatientFactory(location=location, given_name="Ana", family_name=f"Silva{n:02d}")
    first = signed_in.get(LIST)
    second = signed_in.get(LIST, {"page": "2"})
    assert len(names(first)) == 25
    assert first.context["result"].has_next
    assert "page=2" in first.content.decode()
    assert names(second) == ["Ana Silva25"]
    assert not second.context["result"].has_next


def test_a_clinician_without_the_register_permission_sees_no_register_button(client, location):
    director = UserFactory(role=Role.MEDICAL_DIRECTOR, locations=[location])
    client.force_login(director)
    response = client.get(LIST)
    assert response.status_code == 200
    assert 'href="/patients/new/"' not in response.content.decode()
    assert client.get(NEW).status_code == 403


def test_the_registration_form_offers_only_the_users_locations(signed_in, location, other_location):
    response = signed_in.get(NEW)
    assert response.status_code == 200
    assert list(response.context["form"].fields["location"].queryset) == [location]
    html = response.content.decode()
    assert '<label for="id_given_name">Given name:</label>' in html
    assert other_location.name not in html


def test_the_plain_registration_form_does_not_offer_the_duplicate_confirmation(signed_in, location):
    html = signed_in.get(NEW).content.decode()
    assert "I have checked the similar patients above" not in html
    assert '<input type="hidden" name="confirm_not_duplicate"' in html
    assert '<option value="" selected>Not recorded</option>' in html


def test_registering_a_patient_saves_them_and_opens_their_page(signed_in, location):
    response = signed_in.post(NEW, form_data(location))
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    assert (patient.full_name, patient.location, patient.record_number) == ("Zoë Ölçer", location, "MC0000001")
    page = signed_in.get(response["Location"])
    assert "Registered Zoë Ölçer as MC0000001." in page.content.decode()


def test_an_invalid_registration_is_shown_again_with_a_400_and_saves_nothing(signed_in, location):
    response = signed_in.post(NEW, form_data(location, given_name="", date_of_birth="2999-01-01"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please correct the 2 problems below." in html
    assert "This field is required." in html
    assert "The date of birth cannot be in the future." in html
    assert 'value="Ölçer"' in html
    assert not Patient.objects.exists()


def test_a_likely_duplicate_is_answered_with_a_409_naming_the_similar_patients(signed_in, location):
    existing = PatientFactory(location=location, given_name="Zoë", family_name="Ölçer", date_of_birth=datetime.date(1988, 6, 2))
    response = signed_in.post(NEW, form_data(location, email="other@example.com", phone=""))
    assert response.status_code == 409
    html = response.content.decode()
    assert "This may be a patient we already know" in html
    assert f'href="/patients/{existing.pk}/"' in html
    assert existing.record_number in html
    assert "I have checked the similar patients above" in html
    assert Patient.objects.count() == 1


def test_confirming_the_duplicate_warning_registers_the_patient(signed_in, location):
    PatientFactory(location=location, given_name="Zoë", family_name="Ölçer", date_of_birth=datetime.date(1988, 6, 2))
    response = signed_in.post(NEW, form_data(location, confirm_not_duplicate="on"))
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_the_patient_page_shows_the_record(signed_in, location):
    patient = PatientFactory(
        location=location,
        given_name="Zoë",
        family_name="Ölçer",
        fitzpatrick="IV",
        date_of_birth=datetime.date(1988, 6, 2),
        notes="Prefers mornings",
    )
    response = signed_in.get(reverse("patients:detail", args=[patient.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Zoë ÖLÇER" in html
    assert patient.record_number in html
    assert "2 June 1988" in html
    assert "IV — burns minimally, tans well" in html
    assert "Prefers mornings" in html
    assert location.name in html
    assert f'href="/patients/{patient.pk}/edit/"' in html
    assert "Who opened this record" not in html  # only managers see the access log


def test_a_manager_sees_who_opened_the_record(client, manager, location):
    patient = PatientFactory(location=location)
    client.force_login(manager)
    client.get(reverse("patients:detail", args=[patient.pk]))
    html = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Who opened this record" in html
    assert "When (Europe/London)" in html
    assert html.count(f"<td>{manager.username}</td>") == 2
    assert f'href="/audit/?patient_id={patient.pk}"' in html


def test_the_main_navigation_marks_the_current_section(signed_in, location):
    patient = PatientFactory(location=location)
    for url in (LIST, NEW, reverse("patients:detail", args=[patient.pk])):
        assert '<a href="/patients/" aria-current="page">Patients</a>' in signed_in.get(url).content.decode()
    assert 'aria-current="page"' not in signed_in.get(reverse("core:home")).content.decode()


def test_editing_saves_the_change(signed_in, location):
    patient = PatientFactory(location=location, given_name="Zoë", family_name="Ölçer")
    url = reverse("patients:edit", args=[patient.pk])
    form = signed_in.get(url)
    assert form.status_code == 200
    assert 'value="Ölçer"' in form.content.decode()
    response = signed_in.post(url, form_data(family_name="Núñez", fitzpatrick="V"))
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    patient.refresh_from_db()
    assert (patient.family_name, patient.fitzpatrick, patient.family_key) == ("Núñez", "V", "nunez")
    assert "Changes saved." in signed_in.get(response["Location"]).content.decode()


def test_an_invalid_edit_is_shown_again_with_a_400_and_saves_nothing(signed_in, location):
    patient = PatientFactory(location=location, given_name="Zoë", family_name="Ölçer", email="zoe@example.com")
    response = signed_in.post(
        reverse("patients:edit", args=[patient.pk]), form_data(family_name="Núñez", email="", preferred_channel="email")
    )
    assert response.status_code == 400
    assert "An e-mail address is needed when e-mail is the preferred channel." in response.content.decode()
    patient.refresh_from_db()
    assert (patient.family_name, patient.email) == ("Ölçer", "zoe@example.com")


def test_the_edit_form_cannot_move_a_patient_or_change_the_record_number(signed_in, location, other_location):
    patient = PatientFactory(location=location)
    number = patient.record_number
    signed_in.post(reverse("patients:edit", args=[patient.pk]), form_data(other_location, record_number="MC0000001"))
    patient.refresh_from_db()
    assert (patient.location, patient.record_number) == (location, number)

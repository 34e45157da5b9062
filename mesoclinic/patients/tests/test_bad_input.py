"""Bad input on every patient form and endpoint: a 4xx with a clear message, nothing saved, never a 500."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory, form_data

pytestmark = pytest.mark.django_db
HUGE = "99999999999999999999"

# (field, bad value, the message the form shows). None as the value leaves the field out.
FIELD_CASES = [
    pytest.param("date_of_birth", "12-abc-1988", "Enter a valid date.", id="letters-in-date-of-birth"),
    pytest.param("date_of_birth", "1988-02-30", "Enter a valid date.", id="impossible-date-of-birth"),
    pytest.param("date_of_birth", "2999-01-01", "The date of birth cannot be in the future.", id="future-date-of-birth"),
    pytest.param("date_of_birth", "1850-01-01", "Enter a date of birth after 1900.", id="ancient-date-of-birth"),
    pytest.param("date_of_birth", None, "This field is required.", id="missing-date-of-birth"),
    pytest.param("given_name", None, "This field is required.", id="missing-given-name"),
    pytest.param("family_name", "   ", "This field is required.", id="blank-family-name"),
    pytest.param("given_name", "Z" * 500, "Ensure this value has at most 100 characters (it has 500).", id="given-name-of-500"),
    pytest.param("family_name", "Ö" * 101, "Ensure this value has at most 100 characters (it has 101).", id="family-name-of-101"),
    pytest.param("notes", "n" * 2001, "Ensure this value has at most 2000 characters (it has 2001).", id="notes-over-the-limit"),
    pytest.param("address", "a" * 501, "Ensure this value has at most 500 characters (it has 501).", id="address-over-the-limit"),
    pytest.param("phone", "call me maybe", "Enter a phone number", id="phone-in-words"),
    pytest.param("phone", "+44 " + "7" * 40, "Ensure this value has at most 30 characters", id="phone-too-long"),
    pytest.param("email", "zoe-at-example", "Enter a valid email address.", id="malformed-email"),
    pytest.param("fitzpatrick", "VII", "Select a valid choice. VII is not one of the available choices.", id="unknown-fitzpatrick"),
    pytest.param("sex", "robot", "Select a valid choice. robot is not one of the available choices.", id="unknown-sex"),
    pytest.param("preferred_channel", "pigeon", "Select a valid choice. pigeon is not one of the available choices.", id="unknown-channel"),
    pytest.param("given_name", "Zo\x00ë", "Null characters are not allowed.", id="nul-in-name"),
]


def assert_refused(response, message: str, status: int = 400) -> None:
    assert response.status_code == status, response.content.decode()[:500]
    assert message in response.content.decode()


@pytest.fixture
def signed_in(client, receptionist):
    client.force_login(receptionist)
    return client


@pytest.fixture
def patient(location):
    return PatientFactory(location=location, given_name="Amelia", family_name="Hart", date_of_birth=datetime.date(1991, 4, 17))


# --- Registration form ----------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "message"), FIELD_CASES)
def test_the_registration_form_refuses_a_bad_field_and_saves_nothing(signed_in, location, field, value, message):
    response = signed_in.post(reverse("patients:new"), form_data(location, **{field: value}))
    assert_refused(response, message)
    assert 'role="alert"' in response.content.decode()
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("other", "Select a valid choice. That choice is not one of the available choices.", id="another-locations-id"),
        pytest.param("424242", "Select a valid choice. That choice is not one of the available choices.", id="unknown-location"),
        pytest.param("abc", "Select a valid choice. That choice is not one of the available choices.", id="letters"),
        pytest.param(HUGE, "Select a valid choice. That choice is not one of the available choices.", id="huge-id"),
        pytest.param(None, "This field is required.", id="missing"),
    ],
)
def test_the_registration_form_refuses_a_location_the_user_does_not_work_at(signed_in, location, other_location, value, message):
    data = form_data(location)
    if value is None:
        del data["location"]
    else:
        data["location"] = str(other_location.pk) if value == "other" else value
    assert_refused(signed_in.post(reverse("patients:new"), data), message)
    assert not Patient.objects.exists()


def test_an_empty_registration_post_names_every_missing_field(signed_in):
    response = signed_in.post(reverse("patients:new"), {})
    assert_refused(response, "This field is required.")
    assert set(response.context["form"].errors) >= {"location", "given_name", "family_name", "date_of_birth", "sex", "preferred_channel"}
    assert not Patient.objects.exists()


def test_contact_needs_match_the_preferred_channel(signed_in, location):
    response = signed_in.post(reverse("patients:new"), form_data(location, preferred_channel="sms", phone=""))
    assert_refused(response, "A phone number is needed for SMS or phone contact.")
    assert not Patient.objects.exists()


# --- Edit form ------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "message"), FIELD_CASES)
def test_the_edit_form_refuses_a_bad_field_and_changes_nothing(signed_in, patient, field, value, message):
    response = signed_in.post(reverse("patients:edit", args=[patient.pk]), form_data(**{field: value}))
    assert_refused(response, message)
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.given_name, stored.family_name, stored.date_of_birth, stored.updated_at) == (
        "Amelia",
        "Hart",
        datetime.date(1991, 4, 17),
        patient.updated_at,
    )
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).exists()


def test_an_empty_edit_post_names_the_missing_fields_and_changes_nothing(signed_in, patient):
    response = signed_in.post(reverse("patients:edit", args=[patient.pk]), {})
    assert_refused(response, "This field is required.")
    assert Patient.objects.get(pk=patient.pk).family_name == "Hart"


# --- Ids in the address ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["detail", "edit"])
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "pk",
    [
        pytest.param("424242", id="unknown"),
        pytest.param(HUGE, id="huge"),
        pytest.param("9223372036854775808", id="just-over-64-bit"),
        pytest.param("0", id="zero"),
    ],
)
def test_an_unknown_or_impossible_patient_id_answers_404(signed_in, patient, name, method, pk):
    url = reverse(f"patients:{name}", args=[1]).replace("/1/", f"/{pk}/")
    response = signed_in.post(url, form_data()) if method == "post" else signed_in.get(url)
    if name == "detail" and method == "post":
        assert response.status_code == 405  # the page is read-only, whatever the id
    else:
        assert_refused(response, "There is nothing here, or it belongs to a location you do not work at.", status=404)
    assert Patient.objects.get(pk=patient.pk).family_name == "Hart"


@pytest.mark.parametrize("path", ["/patients/abc/", "/patients/-1/", "/patients/1.5/edit/", "/patients/%00/"])
def test_a_patient_address_that_is_not_a_number_answers_404(signed_in, path):
    assert signed_in.get(path).status_code == 404


# --- List and search ------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["x", "-1", "0", "1.5", "41", HUGE, "²", "1e3"])
def test_a_page_that_is_not_a_sensible_number_answers_400(signed_in, patient, page):
    response = signed_in.get(reverse("patients:list"), {"page": page})
    assert_refused(response, "The page must be a whole number from 1 to 40. To go further, narrow the search.")
    assert not AuditEvent.objects.exists()


def test_an_over_long_search_answers_400(signed_in, patient):
    response = signed_in.get(reverse("patients:list"), {"q": "a" * 101})
    assert_refused(response, "Search for at most 100 characters")
    assert not AuditEvent.objects.exists()


def test_a_search_with_a_nul_character_answers_400(signed_in, patient):
    assert_refused(signed_in.get(reverse("patients:list"), {"q": "ha\x00rt"}), "cannot be searched for")


@pytest.mark.parametrize(
    "query",
    ["%", "_", "'; drop table patients_patient; --", "31/02/1990", "MC", "mc99999999999999999999", "+", "((((", "ü" * 100, "1" * 100],
)
def test_odd_but_legal_search_text_is_answered_normally(signed_in, patient, query):
    response = signed_in.get(reverse("patients:list"), {"q": query})
    assert response.status_code == 200
    assert patient not in response.context["result"].patients


def test_the_percent_sign_is_not_a_wildcard(signed_in, patient):
    assert signed_in.get(reverse("patients:list"), {"q": "h%"}).context["result"].patients == []
    assert signed_in.get(reverse("patients:list"), {"q": "h"}).context["result"].patients == [patient]


# --- Methods --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
@pytest.mark.parametrize("name", ["list", "new", "detail", "edit"])
def test_other_http_methods_are_refused_with_405(signed_in, patient, method, name):
    url = reverse(f"patients:{name}", args=[patient.pk] if name in ("detail", "edit") else [])
    response = getattr(signed_in, method)(url)
    assert response.status_code == 405
    assert Patient.objects.get(pk=patient.pk).family_name == "Hart"
    assert not AuditEvent.objects.exists()


def test_the_list_and_the_page_are_read_only(signed_in, patient):
    assert signed_in.post(reverse("patients:list"), {"q": "hart"}).status_code == 405
    assert signed_in.post(reverse("patients:detail", args=[patient.pk])).status_code == 405

"""Phone numbers are stored as E.164 for the home clinic's country, found however they are typed,
and shown as dialled there; e-mail search is exact; an empty search says what to try."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from mesoclinic.core import audit
from mesoclinic.core.tests.factories import LocationFactory
from mesoclinic.patients import selectors, services
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory, form_data, patient_data

pytestmark = pytest.mark.django_db


def search(scope, query: str) -> list[str]:
    page = selectors.search_patients(ctx=audit.SYSTEM, scope=frozenset(scope), query=query)
    return [p.full_name for p in page.patients]


def register(location, actor, **data) -> Patient:
    return services.register_patient(
        ctx=audit.AuditContext(actor=actor), location=location, data=patient_data(**data), scope=frozenset({location.pk})
    )


def test_a_location_dials_in_its_own_country_or_that_of_its_time_zone():
    assert LocationFactory.build(time_zone="Europe/London").phone_region == "GB"
    assert LocationFactory.build(time_zone="Europe/Paris").phone_region == "FR"
    assert LocationFactory.build(time_zone="UTC").phone_region == "GB"
    assert LocationFactory.build(time_zone="Europe/London", country="ie").phone_region == "IE"


def test_a_local_number_is_stored_as_e164(location, receptionist):
    patient = register(location, receptionist, phone="07700 900123")
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.phone, stored.phone_key, stored.phone_needs_review) == ("+447700900123", "447700900123", False)


def test_a_local_phone_number_finds_the_patient_stored_in_international_format(location):
    PatientFactory(location=location, given_name="Ana", family_name="Silva", phone="+44 7700 900123")
    PatientFactory(location=location, given_name="Bea", family_name="Jones", phone="+44 20 7946 0001")
    assert search({location.pk}, "07700 900123") == ["Ana Silva"]
    assert search({location.pk}, "07700 9") == ["Ana Silva"]
    assert search({location.pk}, "+44 7700 900123") == ["Ana Silva"]
    assert search({location.pk}, "(020) 7946") == ["Bea Jones"]


def test_each_locations_country_is_tried_for_a_typed_number(location):
    paris = LocationFactory(time_zone="Europe/Paris")
    PatientFactory(location=paris, given_name="Chloé", family_name="Martin", phone="06 12 34 56 78")
    assert Patient.objects.get().phone == "+33612345678"
    assert search({location.pk, paris.pk}, "06 12 34") == ["Chloé Martin"]
    assert search({location.pk}, "06 12 34") == []


def test_an_email_finds_the_patient_exactly_whatever_the_case(location):
    PatientFactory(location=location, given_name="Zoë", family_name="Ölçer", email="Zoe.Olcer@Example.com")
    assert search({location.pk}, "zoe.olcer@example.COM") == ["Zoë Ölçer"]
    assert search({location.pk}, "zoe.olcer@") == []
    assert selectors.query_kind("zoe@example.com") == "email"


def test_the_form_refuses_an_impossible_number_with_an_example(client, receptionist, location):
    client.force_login(receptionist)
    response = client.post(reverse("patients:new"), form_data(location, phone="12345"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a phone number that can be dialled: “12345” cannot be one in GB." in html
    assert "07400 123456" in html
    assert not Patient.objects.exists()


def test_the_form_stores_a_number_typed_as_dialled(client, receptionist, location):
    client.force_login(receptionist)
    response = client.post(reverse("patients:new"), form_data(location, phone="07700 900777"))
    assert response.status_code == 302
    assert Patient.objects.get().phone == "+447700900777"


def test_numbers_are_shown_as_dialled_at_the_home_clinic(client, receptionist, location):
    client.force_login(receptionist)
    local = PatientFactory(location=location, family_name="Local", phone="+44 7700 900123")
    abroad = PatientFactory(location=location, family_name="Abroad", phone="+33 6 12 34 56 78")
    listing = client.get(reverse("patients:list")).content.decode()
    assert "07700 900123" in listing and "+33 6 12 34 56 78" in listing
    assert "07700 900123" in client.get(reverse("patients:detail", args=[local.pk])).content.decode()
    assert "+33 6 12 34 56 78" in client.get(reverse("patients:detail", args=[abroad.pk])).content.decode()


def test_a_search_that_finds_nothing_says_what_to_try(client, receptionist, location):
    client.force_login(receptionist)
    html = client.get(reverse("patients:list"), {"q": "xyzzy"}).content.decode()
    assert (
        "No patient matches “xyzzy”. Try the family name only, a date of birth as 31/12/1980, "
        "a record number like MC0000001, a phone number or an e-mail." in html
    )


def test_the_migration_normalises_numbers_and_flags_those_it_cannot_read(location):
    kept = PatientFactory.build(location=location, family_name="Kept", phone="07700 900123", email="A@B.example")
    odd = PatientFactory.build(location=location, family_name="Odd", phone="ext. 12")
    Patient.objects.bulk_create([kept, odd])  # as stored before: no normalisation, no keys
    migration = importlib.import_module("mesoclinic.patients.migrations.0005_normalise_phone_numbers")

    migration.normalise(apps, None)

    kept, odd = Patient.objects.get(family_name="Kept"), Patient.objects.get(family_name="Odd")
    assert (kept.phone, kept.phone_key, kept.email_key, kept.phone_needs_review) == ("+447700900123", "447700900123", "a@b.example", False)
    assert (odd.phone, odd.phone_needs_review) == ("ext. 12", True)

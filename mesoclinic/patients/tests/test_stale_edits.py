"""Two receptionists edit one patient: a save made from the copy loaded before the other's save is
refused (409, nothing saved) and shows what changed, keeping the user's own changes to re-apply."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.core import audit
from mesoclinic.core.concurrency import StaleEdit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.tests.browser_form import posted_form
from mesoclinic.patients import services
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(location):
    return PatientFactory(location=location, address="1 Old Street", email="zoe@example.com", notes="")


def load(client, patient):
    response = client.get(reverse("patients:edit", args=[patient.pk]))
    assert response.status_code == 200
    return posted_form(response.content)


def save(client, patient, form, **headers):
    return client.post(reverse("patients:edit", args=[patient.pk]), form, headers=headers)


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])
def test_a_save_from_a_copy_loaded_before_another_save_is_refused_and_changes_nothing(client, receptionist, patient, headers):
    client.force_login(receptionist)
    form_a, form_b = load(client, patient), load(client, patient)
    assert save(client, patient, {**form_a, "address": "2 New Road"}).status_code == 302

    response = save(client, patient, {**form_b, "email": "zoe.new@example.com"}, **headers)

    assert response.status_code == 409
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.address, stored.email, stored.version) == ("2 New Road", "zoe@example.com", 2)
    page = response.content.decode()
    assert "Someone else saved this record after you opened it" in page
    assert "Address: you loaded “1 Old Street”, it is now “2 New Road” — the form now shows it" in page


def test_the_refused_form_keeps_the_users_change_and_takes_the_others_so_saving_again_keeps_both(client, receptionist, patient):
    client.force_login(receptionist)
    form_a, form_b = load(client, patient), load(client, patient)
    save(client, patient, {**form_a, "address": "2 New Road"})

    again = posted_form(save(client, patient, {**form_b, "email": "zoe.new@example.com"}).content)

    assert (again["address"], again["email"], again["version"]) == ("2 New Road", "zoe.new@example.com", "2")
    assert save(client, patient, again).status_code == 302
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.address, stored.email, stored.version) == ("2 New Road", "zoe.new@example.com", 3)


def test_when_both_changed_the_same_field_the_users_value_is_kept_and_named(client, receptionist, patient):
    client.force_login(receptionist)
    form_a, form_b = load(client, patient), load(client, patient)
    save(client, patient, {**form_a, "address": "2 New Road"})

    response = save(client, patient, {**form_b, "address": "3 Mill Lane"})

    assert response.status_code == 409
    assert (
        "Address: you loaded “1 Old Street”, it is now “2 New Road” — your value “3 Mill Lane” is kept in the form"
        in response.content.decode()
    )
    assert posted_form(response.content)["address"] == "3 Mill Lane"
    assert Patient.objects.get(pk=patient.pk).address == "2 New Road"


def test_a_fresh_save_is_saved_and_moves_the_version_on(client, receptionist, patient):
    client.force_login(receptionist)
    response = save(client, patient, {**load(client, patient), "email": "zoe.new@example.com"})
    assert response.status_code == 302
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.email, stored.version) == ("zoe.new@example.com", 2)


def test_a_damaged_version_is_a_400_not_a_500(client, receptionist, patient):
    client.force_login(receptionist)
    response = save(client, patient, {**load(client, patient), "version": "x"})
    assert response.status_code == 400
    assert Patient.objects.get(pk=patient.pk).version == 1


def test_the_service_refuses_a_stale_version_without_writing_or_auditing(patient, receptionist):
    ctx = audit.AuditContext(actor=receptionist)
    services.update_patient(ctx=ctx, patient=patient, data={"address": "2 New Road"}, expected_version=1)
    with pytest.raises(StaleEdit) as refused:
        services.update_patient(ctx=ctx, patient=patient, data={"email": "zoe.new@example.com"}, expected_version=1)
    assert (refused.value.expected, refused.value.version) == (1, 2)
    assert Patient.objects.get(pk=patient.pk).email == "zoe@example.com"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count() == 1

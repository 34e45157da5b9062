from __future__ import annotations

import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.patients.tests.screens import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_sees_their_view_of_a_patient_in_the_audit_trail(page, sign_in, manager, location, request):
    patient = PatientFactory(location=location, given_name="Amelia", family_name="Hart")
    sign_in(manager)
    page.goto("/patients/?q=hart")
    page.get_by_role("link", name=f"HART{patient.family_name[4:].upper()}, Amelia").click()
    page.get_by_role("heading", name="Who opened this record").wait_for()
    snap(page, request, "patient-page")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
    page.get_by_role("heading", name="Audit trail").wait_for()
    page.get_by_label("Action").select_option("view")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("#audit-rows tbody tr").first
    row.wait_for()
    text = row.inner_text()
    assert manager.username in text
    assert "Viewed" in text
    assert f"patient {patient.pk}" in text
    assert "screen: chart" in text
    snap(page, request, "filtered")

    row.get_by_role("link", name=f"patient {patient.pk}").click()
    page.wait_for_url(f"**/audit/?patient_id={patient.pk}")
    assert page.get_by_label("Patient id").input_value() == str(patient.pk)
    rows = page.locator("#audit-rows tbody tr")
    assert rows.count() == AuditEvent.objects.filter(patient_id=patient.pk).count() == 1

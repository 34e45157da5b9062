from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.messaging.models import OutboundMessage

from .factories import queue

pytestmark = pytest.mark.django_db


def failed(related, location_id, recipient="+44 7700 900999"):
    message = queue(related, location_id=location_id, recipient=recipient)
    OutboundMessage.objects.filter(pk=message.pk).update(status="failed", attempts=5, last_error="SMS provider answered HTTP 400")
    return message


def test_a_manager_sees_failed_deliveries_of_their_locations_only(client, manager, location, other_location):
    mine = failed(location, location.pk)
    theirs = failed(other_location, other_location.pk, recipient="+44 7700 900111")
    queue(location, location_id=location.pk)  # pending: not on the worklist
    client.force_login(manager)
    response = client.get(reverse("messaging:failed-list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert mine.recipient in body and "HTTP 400" in body
    assert theirs.recipient not in body
    assert body.count('/retry/"') == 1
    seen = AuditEvent.objects.filter(object_type="message", action="view").latest("id")
    assert seen.detail["messages"] == 1 and seen.detail["patients"] == []


def test_retrying_puts_the_message_back_in_the_queue_with_an_audit_row(client, manager, location):
    message = failed(location, location.pk)
    client.force_login(manager)
    response = client.post(reverse("messaging:retry", args=[message.pk]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 0)
    assert AuditEvent.objects.filter(object_type="message", object_id=str(message.pk), action="update").exists()
    again = client.post(reverse("messaging:retry", args=[message.pk]))
    assert again.status_code == 409


def test_another_locations_message_answers_404(client, manager, other_location):
    message = failed(other_location, other_location.pk)
    client.force_login(manager)
    assert client.post(reverse("messaging:retry", args=[message.pk])).status_code == 404
    assert client.post(reverse("messaging:retry", args=[987654321])).status_code == 404


def test_the_worklist_is_for_managers(client, receptionist, location):
    message = failed(location, location.pk)
    client.force_login(receptionist)
    assert client.get(reverse("messaging:failed-list")).status_code == 403
    assert client.post(reverse("messaging:retry", args=[message.pk])).status_code == 403
    client.logout()
    assert client.get(reverse("messaging:failed-list")).status_code == 302


def test_retry_is_post_only_and_bad_paging_is_ignored(client, manager, location):
    message = failed(location, location.pk)
    client.force_login(manager)
    assert client.get(reverse("messaging:retry", args=[message.pk])).status_code == 405
    assert client.get(reverse("messaging:failed-list"), {"before": "x" * 50}).status_code == 200


def test_an_undeliverable_message_is_on_the_worklist_with_its_reason_and_no_send_again_button(client, manager, location):
    queue(location, location_id=location.pk, channel="email", email="amelia.example.com", key="confirmation:5:1")
    client.force_login(manager)
    body = client.get(reverse("messaging:failed-list")).content.decode()
    assert "amelia.example.com" in body
    assert "Could not be sent" in body and "&#x27;amelia.example.com&#x27; is not an e-mail address" in body
    assert '/retry/"' not in body  # nothing to retry until the address is fixed


def test_the_patient_page_lists_the_messages_that_could_not_be_sent_and_audits_the_read(client, manager, location):
    from mesoclinic.patients.tests.factories import PatientFactory

    patient = PatientFactory(location=location, email="")
    other = PatientFactory(location=location)
    queue(location, location_id=location.pk, channel="email", email="", key="confirmation:6:1", patient_id=patient.pk)
    failed(location, location.pk)  # not this patient's
    client.force_login(manager)

    body = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Messages not sent" in body and "no e-mail address on file" in body
    seen = AuditEvent.objects.filter(object_type="message", action="view", patient_id=patient.pk).get()
    assert seen.detail == {"screen": "patient-undelivered", "messages": 1}

    assert "Messages not sent" not in client.get(reverse("patients:detail", args=[other.pk])).content.decode()

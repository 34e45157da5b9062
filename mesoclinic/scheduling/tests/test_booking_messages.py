"""A booking's messages: one outbox insert and one task on the queue for its three messages (two
reminders and the confirmation), not three of each; and a patient whose address cannot receive
them still gets rows, kept as undeliverable with the reason (docs/decisions/0010)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.patients.models import Patient

from .conftest import at
from .test_booking_views import details, slot_value

OUTBOX_TABLES = ('"messaging_', '"django_tasks_database_')


@pytest.fixture
def signed_in(client, clinic):
    client.force_login(clinic.ctx.actor)
    return client


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def test_a_booking_queues_its_three_messages_with_one_insert_and_one_task(
    signed_in, clinic, database_queue, django_capture_on_commit_callbacks
):
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post("/schedule/appointments/new/", {**details(clinic), "slot": slot_value(clinic, starts_at=at(5, 10))})

    assert response.status_code == 302
    assert sorted(OutboundMessage.objects.values_list("kind", flat=True)) == ["confirmation", "reminder", "reminder"]
    outbox = [query["sql"] for query in queries.captured_queries if any(table in query["sql"] for table in OUTBOX_TABLES)]
    print(f"\nbooking POST: {len(queries)} queries in all, {len(outbox)} on the outbox and the task queue")
    for sql in outbox:
        print("  ", sql[:110])
    deliveries = DBTaskResult.objects.filter(task_path="mesoclinic.messaging.tasks.deliver_messages")
    assert [task.args_kwargs["args"] for task in deliveries] == [[sorted(OutboundMessage.objects.values_list("id", flat=True))]]
    assert len([sql for sql in outbox if sql.startswith("INSERT") and "messaging_outboundmessage" in sql]) == 1
    assert (
        len([sql for sql in outbox if sql.startswith("INSERT") and "django_tasks_database" in sql]) <= 2
    )  # the delivery, and the sweep when it was not armed
    assert len(outbox) <= 8  # was 17 (three messages queued one by one, three tasks each re-arming the sweep)
    assert len(queries) <= 40  # was 58


@pytest.mark.parametrize(("email", "reason"), [("", "no e-mail address on file"), ("amelia@", "'amelia@' is not an e-mail address")])
def test_a_booking_for_a_patient_without_a_usable_address_keeps_its_messages_as_undeliverable(signed_in, clinic, email, reason):
    Patient.objects.filter(pk=clinic.patient.pk).update(email=email)  # an address from before validation, or none
    response = signed_in.post("/schedule/appointments/new/", {**details(clinic), "slot": slot_value(clinic, starts_at=at(5, 10))})
    assert response.status_code == 302
    rows = list(OutboundMessage.objects.order_by("kind", "due_at").values_list("kind", "status", "last_error"))
    assert rows == [
        ("confirmation", "undeliverable", reason),
        ("reminder", "undeliverable", reason),
        ("reminder", "undeliverable", reason),
    ]

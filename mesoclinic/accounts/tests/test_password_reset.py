"""Password reset: the form queues the e-mail; the worker sends it; the link sets a new password."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from mesoclinic.accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
RESET = reverse("accounts:password-reset")
NEW_PASSWORD = "a-new-and-long-passphrase-2026"


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def run_worker(monkeypatch):
    """Run `manage.py db_worker --batch` until the queue is empty.

    Inside a test wrapped in a transaction the worker's `close_old_connections()` would close the
    test's own connection on PostgreSQL (it sees autocommit off), so it is a no-op here; the
    transactional test at the end runs the worker exactly as in production.
    """

    def run() -> None:
        monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
        call_command("db_worker", "--batch", "--no-startup-delay")

    return run


def reset_link(message) -> str:
    match = re.search(r"http://testserver(/accounts/password-reset/[^/\s]+/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_the_reset_form_queues_one_e_mail_and_the_worker_sends_it(client, database_queue, run_worker):
    user = UserFactory(email="megan@clinic.example")

    response = client.post(RESET, {"email": "MEGAN@clinic.example"})

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password-reset-done")
    task = DBTaskResult.objects.get()
    assert task.task_path == "mesoclinic.core.tasks.send_email"
    assert task.args_kwargs["kwargs"]["to"] == ["megan@clinic.example"]
    assert mail.outbox == []  # nothing is sent by the web request itself

    run_worker()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["megan@clinic.example"]
    assert message.subject == "Reset your Mesoclinic password"
    assert user.username in message.body
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"


def test_the_link_in_the_e_mail_sets_a_new_password(client, database_queue, run_worker):
    user = UserFactory()
    client.post(RESET, {"email": user.email})
    run_worker()

    opened = client.get(reset_link(mail.outbox[0]), follow=True)
    assert opened.status_code == 200
    assert "Choose a new password" in opened.content.decode()
    form_url = opened.redirect_chain[-1][0]
    saved = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert saved.status_code == 302
    assert saved["Location"] == reverse("accounts:password-reset-complete")

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(PASSWORD)
    signed_in = client.post(reverse("accounts:sign-in"), {"username": user.username, "password": NEW_PASSWORD})
    assert signed_in.status_code == 302


def test_the_link_works_only_once(client):
    user = UserFactory()
    client.post(RESET, {"email": user.email})  # the immediate backend sends at once
    link = reset_link(mail.outbox[0])
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = client.get(link, follow=True)
    assert again.status_code == 400
    assert "This link has been used or has expired." in again.content.decode()


def test_a_made_up_link_is_answered_with_a_400(client):
    response = client.get(reverse("accounts:password-reset-confirm", kwargs={"uidb64": "MTIzNDU", "token": "abc-123"}))
    assert response.status_code == 400
    assert "This link has been used or has expired." in response.content.decode()


def test_two_different_new_passwords_are_refused_with_a_400(client):
    user = UserFactory()
    client.post(RESET, {"email": user.email})
    form_url = client.get(reset_link(mail.outbox[0]), follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    assert response.status_code == 400
    assert "The two password fields didn’t match." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_e_mail(client, database_queue):
    UserFactory(email="someone@clinic.example")
    response = client.post(RESET, {"email": "nobody@clinic.example"})
    assert response.status_code == 302
    assert not DBTaskResult.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"), [({}, "This field is required."), ({"email": "not-an-address"}, "Enter a valid email address.")]
)
def test_a_missing_or_malformed_address_is_refused_with_a_400(client, data, message):
    response = client.post(RESET, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert mail.outbox == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_the_e_mail_from_a_committed_queue_as_in_production(client, database_queue):
    user = UserFactory()
    client.post(RESET, {"email": user.email})
    assert DBTaskResult.objects.count() == 1

    call_command("db_worker", "--batch", "--no-startup-delay")

    assert len(mail.outbox) == 1
    assert reset_link(mail.outbox[0]).startswith("/accounts/password-reset/")
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"

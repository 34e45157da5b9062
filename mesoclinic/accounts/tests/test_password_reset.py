"""Password reset: the form puts the e-mail in the outbox (a few an hour at most); the worker sends it;
the link sets a new password."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from mesoclinic.accounts.tests.factories import PASSWORD, UserFactory
from mesoclinic.messaging.models import OutboundMessage

pytestmark = pytest.mark.django_db
RESET = reverse("accounts:password-reset")
NEW_PASSWORD = "a-new-and-long-passphrase-2026"


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def ask(client, django_capture_on_commit_callbacks):
    """POST the reset form as the browser does; the outbox's task is enqueued when the request commits."""

    def post(email):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(RESET, {"email": email})

    return post


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


def test_the_reset_form_puts_one_e_mail_in_the_outbox_and_the_worker_sends_it(ask, database_queue, run_worker):
    user = UserFactory(email="megan@clinic.example")

    response = ask("MEGAN@clinic.example")

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password-reset-done")
    queued = OutboundMessage.objects.get()
    assert (queued.kind, queued.recipient, queued.status) == ("password-reset", "megan@clinic.example", "pending")
    task = DBTaskResult.objects.get(task_path="mesoclinic.messaging.tasks.deliver_messages")
    assert task.args_kwargs["args"] == [[queued.pk]]
    assert mail.outbox == []  # nothing is sent by the web request itself

    run_worker()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["megan@clinic.example"]
    assert message.subject == "Reset your Mesoclinic password"
    assert user.username in message.body
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    queued.refresh_from_db()
    assert queued.status == "sent" and message.extra_headers["Message-ID"] == queued.provider_message_id


def test_twenty_requests_send_three_e_mails_an_hour_and_all_get_the_same_answer(ask, run_worker, database_queue):
    UserFactory(email="megan@clinic.example")
    answers = {(response.status_code, response["Location"]) for response in (ask("megan@clinic.example") for _ in range(20))}
    assert answers == {(302, reverse("accounts:password-reset-done"))}
    assert OutboundMessage.objects.filter(kind="password-reset").count() == 3
    run_worker()
    assert len(mail.outbox) == 3


def test_the_link_in_the_e_mail_sets_a_new_password(client, ask, database_queue, run_worker):
    user = UserFactory()
    ask(user.email)
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


def test_the_link_works_only_once(client, ask):
    user = UserFactory()
    ask(user.email)  # the immediate backend sends at once
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


def test_two_different_new_passwords_are_refused_with_a_400(client, ask):
    user = UserFactory()
    ask(user.email)
    form_url = client.get(reset_link(mail.outbox[0]), follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    assert response.status_code == 400
    assert "The two password fields didn’t match." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_e_mail(ask, database_queue):
    UserFactory(email="someone@clinic.example")
    response = ask("nobody@clinic.example")
    assert response.status_code == 302
    assert not OutboundMessage.objects.exists()
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
    assert DBTaskResult.objects.filter(task_path="mesoclinic.messaging.tasks.deliver_messages").count() == 1

    call_command("db_worker", "--batch", "--no-startup-delay")

    assert len(mail.outbox) == 1
    assert reset_link(mail.outbox[0]).startswith("/accounts/password-reset/")
    assert DBTaskResult.objects.get(task_path="mesoclinic.messaging.tasks.deliver_messages").status == "SUCCESSFUL"
    assert OutboundMessage.objects.get().status == "sent"

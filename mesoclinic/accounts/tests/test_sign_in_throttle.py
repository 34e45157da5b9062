"""Five failed sign-ins for one user name, or from one address, lock sign-in for the window."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse

from mesoclinic.accounts import services
from mesoclinic.accounts.models import SignInFailure
from mesoclinic.accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
SIGN_IN = reverse("accounts:sign-in")
START = datetime.datetime(2026, 5, 4, 9, 0, tzinfo=datetime.UTC)


def attempt(client, username: str, password: str = "wrong", ip: str = "192.0.2.1"):  # noqa: S107
    return client.post(SIGN_IN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail(client, username: str, times: int, ip: str = "192.0.2.1") -> None:
    for _ in range(times):
        assert attempt(client, username, ip=ip).status_code == 400


def test_five_failures_lock_the_user_name_with_a_429_and_a_clear_message(client, settings):
    settings.SIGN_IN_WINDOW_SECONDS = 900
    user = UserFactory()
    fail(client, user.username, 5)
    response = attempt(client, user.username, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins. Wait 15 minutes, or reset your password." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_four_failures_do_not_lock(client):
    user = UserFactory()
    fail(client, user.username, 4)
    assert attempt(client, user.username, PASSWORD).status_code == 302


def test_the_lock_counts_the_user_name_from_any_address_and_in_any_case(client):
    user = UserFactory(username="megan")
    for n, name in enumerate(["megan", "MEGAN", "Megan", "megan", "mEgAn"]):
        assert attempt(client, name, ip=f"198.51.100.{n}").status_code == 400
    assert attempt(client, "megan", PASSWORD, ip="203.0.113.9").status_code == 429
    assert user.username == "megan"


def test_the_lock_counts_failures_from_one_address_across_user_names(client):
    user = UserFactory()
    for n in range(5):
        assert attempt(client, f"guess{n}", ip="203.0.113.7").status_code == 400
    assert attempt(client, user.username, PASSWORD, ip="203.0.113.7").status_code == 429
    assert attempt(client, user.username, PASSWORD, ip="203.0.113.8").status_code == 302


def test_the_lock_lifts_when_the_window_has_passed(client, settings):
    settings.SIGN_IN_WINDOW_SECONDS = 900
    user = UserFactory()
    with time_machine.travel(START, tick=False):
        fail(client, user.username, 5)
    with time_machine.travel(START + datetime.timedelta(minutes=14, seconds=59), tick=False):
        assert attempt(client, user.username, PASSWORD).status_code == 429
    with time_machine.travel(START + datetime.timedelta(minutes=15, seconds=1), tick=False):
        assert attempt(client, user.username, PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_failures_of_that_user_name(client):
    user = UserFactory()
    fail(client, user.username, 4)
    assert attempt(client, user.username, PASSWORD).status_code == 302
    client.logout()
    assert not SignInFailure.objects.filter(username=user.username).exists()
    fail(client, user.username, 4)
    assert attempt(client, user.username, PASSWORD).status_code == 302


def test_the_limits_come_from_settings(client, settings):
    settings.SIGN_IN_MAX_FAILURES = 2
    settings.SIGN_IN_WINDOW_SECONDS = 60
    user = UserFactory()
    fail(client, user.username, 2)
    response = attempt(client, user.username, PASSWORD)
    assert response.status_code == 429
    assert "Wait 1 minute," in response.content.decode()


def test_old_failures_are_forgotten_so_the_table_stays_small():
    with time_machine.travel(START, tick=False):
        SignInFailure.objects.create(username="old", ip_address="192.0.2.1")
    with time_machine.travel(START + datetime.timedelta(days=2), tick=False):
        from mesoclinic.core import audit

        services.record_sign_in_failure(ctx=audit.SYSTEM, username="new")
    assert list(SignInFailure.objects.values_list("username", flat=True)) == ["new"]

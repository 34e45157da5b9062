from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.accounts.tests.factories import PASSWORD, UserFactory
from mesoclinic.core.models import AuditEvent

pytestmark = pytest.mark.django_db
SIGN_IN = reverse("accounts:sign-in")
SIGN_OUT = reverse("accounts:sign-out")
HOME = reverse("core:home")


def test_the_sign_in_page_has_labelled_fields(client):
    response = client.get(SIGN_IN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">User name:</label>' in html
    assert '<label for="id_password">Password:</label>' in html


def test_a_member_of_staff_signs_in_and_lands_on_the_home_page(client, receptionist):
    response = client.post(SIGN_IN, {"username": receptionist.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == HOME
    assert client.get(HOME).context["user"] == receptionist
    event = AuditEvent.objects.get(action=AuditEvent.Action.SIGN_IN)
    assert (event.actor, event.object_type, event.object_id, event.ip_address) == (receptionist, "user", str(receptionist.pk), "127.0.0.1")


def test_a_password_in_the_wrong_case_is_refused_with_a_clear_message(client, receptionist):
    response = client.post(SIGN_IN, {"username": receptionist.username, "password": PASSWORD.upper()})
    assert response.status_code == 400
    assert "Please enter a correct username and password." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_is_refused_with_a_400_and_audited(client, receptionist):
    response = client.post(SIGN_IN, {"username": receptionist.username, "password": "wrong"})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.detail) == (AuditEvent.Action.SIGN_IN_FAILED, None, {"username": receptionist.username})


def test_missing_fields_are_refused_with_a_400_and_a_message_per_field(client):
    response = client.post(SIGN_IN, {})
    assert response.status_code == 400
    assert response.context["form"].errors == {"username": ["This field is required."], "password": ["This field is required."]}


def test_a_deactivated_account_cannot_sign_in(client):
    user = UserFactory(is_active=False)
    response = client.post(SIGN_IN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_it_follows_a_next_address_on_this_site_only(client, receptionist):
    inside = client.post(SIGN_IN, {"username": receptionist.username, "password": PASSWORD, "next": "/patients/"})
    assert inside["Location"] == "/patients/"
    client.logout()
    outside = client.post(SIGN_IN, {"username": receptionist.username, "password": PASSWORD, "next": "https://evil.example/"})
    assert outside["Location"] == HOME


def test_pages_need_a_signed_in_user(client):
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN}?next=/patients/"


def test_signing_out_ends_the_session_and_is_audited(client, receptionist):
    client.force_login(receptionist)
    response = client.post(SIGN_OUT)
    assert response.status_code == 302
    assert response["Location"] == SIGN_IN
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get()
    assert (event.action, event.actor) == (AuditEvent.Action.SIGN_OUT, receptionist)
    follow = client.get(SIGN_IN)
    assert "You have signed out." in follow.content.decode()


def test_signing_out_needs_a_post(client, receptionist):
    client.force_login(receptionist)
    assert client.get(SIGN_OUT).status_code == 405
    assert "_auth_user_id" in client.session


def test_a_signed_in_user_opening_sign_in_goes_home(client, receptionist):
    client.force_login(receptionist)
    assert client.get(SIGN_IN)["Location"] == HOME


@pytest.mark.parametrize(
    ("username", "message"),
    [
        pytest.param("x" * 500, "Ensure this value has at most 150 characters (it has 500).", id="over-long"),
        pytest.param("ad\x00min", "Null characters are not allowed.", id="nul-character"),
    ],
)
def test_a_user_name_that_cannot_exist_is_refused_with_a_400(client, username, message):
    response = client.post(SIGN_IN, {"username": username, "password": "whatever"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert AuditEvent.objects.get().action == AuditEvent.Action.SIGN_IN_FAILED

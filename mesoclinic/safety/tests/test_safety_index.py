"""`/safety/` (the address the README gives) answers: each role is sent to the first safety page it may open."""

from __future__ import annotations

import pytest

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "page"),
    [
        (Role.DOCTOR, "/safety/adverse-events/"),
        (Role.NURSE, "/safety/adverse-events/"),
        (Role.MEDICAL_DIRECTOR, "/safety/adverse-events/"),
        (Role.MANAGER, "/safety/report/"),
    ],
)
def test_the_safety_address_sends_each_role_to_its_first_safety_page(client, location, role, page):
    client.force_login(UserFactory(role=role, locations=[location]))
    response = client.get("/safety/")
    assert response.status_code == 302
    assert response["Location"] == page
    assert client.get(page).status_code == 200


def test_a_role_without_safety_pages_is_refused_not_sent_to_a_404(client, receptionist):
    client.force_login(receptionist)
    assert client.get("/safety/").status_code == 403


def test_someone_not_signed_in_is_asked_to_sign_in(client):
    response = client.get("/safety/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/")

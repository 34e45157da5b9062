"""The pages of a change held for a second approval: the author sees it wait, another doctor decides."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.catalog.models import CatalogProposal, CatalogVersion, Protocol

from .factories import protocol_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def director_client(client, medical_director, catalog):
    client.force_login(medical_director)
    return client


@pytest.fixture
def doctor_client(location, catalog):
    other = Client()
    other.force_login(UserFactory(role=Role.DOCTOR, locations=[location]))
    return other


def _propose_shorter_wait(director_client) -> CatalogProposal:
    hair = Protocol.objects.get(key="hair_cocktail")
    data = protocol_form_data(hair, numbing_minutes=15, early_start_role="clinician", change_note="Faster hair sessions")
    response = director_client.post(reverse("catalog:protocol-edit", args=[hair.pk]), data)
    proposal = CatalogProposal.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("catalog:proposal-detail", args=[proposal.pk])
    return proposal


def test_the_protocol_form_shows_who_may_start_early(director_client):
    hair = Protocol.objects.get(key="hair_cocktail")
    page = director_client.get(reverse("catalog:protocol-edit", args=[hair.pk])).content.decode()
    assert "Who may start injecting before the numbing wait is over" in page and "Only a doctor" in page
    assert "Numbs the skin with a topical anaesthetic" in page


def test_a_weakening_edit_on_the_form_waits_and_shows_the_diff_to_its_author(director_client):
    proposal = _propose_shorter_wait(director_client)
    assert CatalogVersion.objects.count() == 1 and Protocol.objects.get(key="hair_cocktail").numbing_minutes == 30
    page = director_client.get(reverse("catalog:proposal-detail", args=[proposal.pk])).content.decode()
    assert "the numbing wait is shortened from 30 to 15 minutes" in page
    assert "<code>numbing_minutes</code>: 30 → 15" in page
    assert "Waiting for a second person" in page and "Approve" not in page
    assert "Faster hair sessions" in director_client.get(reverse("catalog:overview")).content.decode()


def test_the_author_posting_an_approval_is_refused_with_403(director_client):
    proposal = _propose_shorter_wait(director_client)
    response = director_client.post(reverse("catalog:proposal-approve", args=[proposal.pk]))
    assert response.status_code == 403 and "second person" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "pending"


def test_another_doctor_sees_the_diff_and_approves(director_client, doctor_client):
    proposal = _propose_shorter_wait(director_client)
    page = doctor_client.get(reverse("catalog:proposal-detail", args=[proposal.pk])).content.decode()
    assert "<code>early_start_role</code>: doctor → clinician" in page and "Approve: make it the catalog" in page
    response = doctor_client.post(reverse("catalog:proposal-approve", args=[proposal.pk]), {"note": "Fine for EMLA"})
    assert response.status_code == 302
    version = CatalogVersion.objects.get(number=2)
    assert version.approved_by is not None and Protocol.objects.get(key="hair_cocktail").numbing_minutes == 15
    shown = director_client.get(reverse("catalog:version-detail", args=[2])).content.decode()
    assert "Approved by" in shown and str(version.approved_by) in shown


def test_approving_twice_answers_409(director_client, doctor_client):
    proposal = _propose_shorter_wait(director_client)
    doctor_client.post(reverse("catalog:proposal-reject", args=[proposal.pk]))
    response = doctor_client.post(reverse("catalog:proposal-approve", args=[proposal.pk]))
    assert response.status_code == 409 and "already rejected" in response.content.decode()


def test_a_nurse_may_not_decide(director_client, location):
    proposal = _propose_shorter_wait(director_client)
    nurse = Client()
    nurse.force_login(UserFactory(role=Role.NURSE, locations=[location]))
    assert nurse.post(reverse("catalog:proposal-approve", args=[proposal.pk])).status_code == 403
    assert nurse.get(reverse("catalog:proposal-list")).status_code == 200


def test_an_unknown_proposal_answers_404(doctor_client):
    assert doctor_client.get(reverse("catalog:proposal-detail", args=[999999])).status_code == 404
    assert doctor_client.post(reverse("catalog:proposal-approve", args=[999999])).status_code == 404

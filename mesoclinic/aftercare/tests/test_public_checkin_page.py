"""The public check-in page: one tap answers; anything but a valid, fresh, unused link is refused with no data shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import signing

from mesoclinic.aftercare.messages import checkin_url
from mesoclinic.aftercare.models import FollowUp
from mesoclinic.aftercare.tokens import SALT, make_token
from mesoclinic.core.models import AuditEvent

from .factories import issued, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]


@pytest.fixture
def checkin(location):
    return issued(signed_session(location)).checkin


def url(token: str) -> str:
    return f"/check-in/{token}/"


def assert_no_patient_data(response, checkin):
    body = response.content.decode()
    patient = checkin.patient
    for private in (patient.given_name, patient.family_name, patient.record_number, patient.email, patient.phone):
        assert private not in body


def test_the_link_in_the_message_opens_the_question_without_signing_in(client, checkin):
    path = checkin_url(checkin).removeprefix("https://clinic.example")
    with time_machine.travel(checkin.due_at + timedelta(minutes=1)):
        response = client.get(path)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Has the redness settled?" in body and checkin.location.name in body
    assert_no_patient_data(response, checkin)
    assert response["Referrer-Policy"] == "same-origin"  # the token never leaves the site in a Referer
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(object_type="aftercare-checkin", action="view", patient_id=checkin.patient_id).count() == 1


def test_answering_worse_opens_a_follow_up_and_thanks_the_patient(client, checkin):
    with time_machine.travel(checkin.due_at + timedelta(minutes=1)):
        response = client.post(url(make_token(checkin.pk)), {"answer": "worse", "text": "Hot and swollen"})
    assert response.status_code == 200
    assert "A nurse" in response.content.decode()
    follow_up = FollowUp.objects.get()
    assert (follow_up.reason, follow_up.patient_text) == ("worse", "Hot and swollen")


def test_answering_settled_opens_nothing(client, checkin):
    with time_machine.travel(checkin.due_at + timedelta(minutes=1)):
        response = client.post(url(make_token(checkin.pk)), {"answer": "settled"})
    assert response.status_code == 200
    assert FollowUp.objects.count() == 0


def test_a_reused_link_is_refused(client, checkin):
    token = make_token(checkin.pk)
    with time_machine.travel(checkin.due_at + timedelta(minutes=1)):
        client.post(url(token), {"answer": "settled"})
        again_get = client.get(url(token))
        again_post = client.post(url(token), {"answer": "worse"})
    assert again_get.status_code == 410 and again_post.status_code == 410
    assert "Already answered" in again_get.content.decode()
    assert_no_patient_data(again_get, checkin)
    checkin.refresh_from_db()
    assert checkin.answer == "settled" and FollowUp.objects.count() == 0


def test_an_expired_link_is_refused(client, checkin):
    with time_machine.travel(checkin.expires_at + timedelta(seconds=1)):
        response = client.get(url(make_token(checkin.pk)))
        posted = client.post(url(make_token(checkin.pk)), {"answer": "worse"})
    assert response.status_code == 410 and posted.status_code == 410
    assert "expired" in response.content.decode()
    assert_no_patient_data(response, checkin)
    assert FollowUp.objects.count() == 0


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda pk: make_token(pk)[:-2] + "xx", id="tampered-signature"),
        pytest.param(lambda pk: make_token(pk + 1000), id="unknown-check-in"),
        pytest.param(lambda pk: signing.dumps(pk), id="signed-for-another-purpose"),
        pytest.param(lambda pk: signing.dumps(pk, salt="django.contrib.sessions.backends.signed_cookies"), id="session-cookie-salt"),
        pytest.param(lambda pk: signing.dumps({"checkin": pk, "patient": 1}, salt=SALT), id="other-payload"),
        pytest.param(lambda pk: "not-a-token", id="garbage"),
        pytest.param(lambda pk: "a" * 300, id="too-long"),
    ],
)
def test_a_bad_or_other_purpose_token_is_refused_with_no_data(client, checkin, make):
    with time_machine.travel(checkin.due_at + timedelta(minutes=1)):
        response = client.get(url(make(checkin.pk)))
        posted = client.post(url(make(checkin.pk)), {"answer": "worse"})
    assert response.status_code == 404 and posted.status_code == 404
    assert "does not work" in response.content.decode()
    assert checkin.location.name not in response.content.decode()
    assert_no_patient_data(response, checkin)
    assert FollowUp.objects.count() == 0


def test_the_token_opens_nothing_else_on_the_site(client, checkin):
    token = make_token(checkin.pk)
    for path in (f"/aftercare/handouts/{checkin.handout_id}/", f"/patients/{checkin.patient_id}/", "/aftercare/follow-ups/"):
        response = client.get(path, {"token": token})
        assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, "Choose"),
        ({"answer": "fine"}, "Choose one"),
        ({"answer": "worse", "text": "x" * 1001}, "shorten"),
        ({"answer": "other", "text": "a\x00b"}, ""),
    ],
)
def test_bad_input_re_renders_the_question_with_a_400(client, checkin, data, problem):
    with time_machine.travel(checkin.due_at + timedelta(minutes=1)):
        response = client.post(url(make_token(checkin.pk)), data)
    assert response.status_code == 400
    assert problem in response.content.decode()
    checkin.refresh_from_db()
    assert not checkin.is_answered and FollowUp.objects.count() == 0

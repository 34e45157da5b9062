"""The golden path's steps 6 and 8 in Chromium, with a real worker process delivering the outbox.

Sign-off → the worker e-mails the handout → the nurse prints the handout PDF (page 1 rendered to
PNG and its text read) → six hours later the check-in goes out → the patient answers "worse" on
the public page → the follow-up is on the nurses' worklist → it becomes an adverse event tied to
the lot → the manager finds the patient from the lot.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pypdfium2
import pytest
import time_machine
from django.conf import settings
from django.core import mail

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.aftercare.models import AftercareHandout, FollowUp
from mesoclinic.conftest import ARTIFACTS
from mesoclinic.messaging import delivery
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.tests.test_worker_crash import database_url
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.patients.tests.screens import snap
from mesoclinic.safety.models import AdverseEvent

from .factories import charted_and_signed, lot_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def start_worker(tmp_path: Path) -> subprocess.Popen[str]:
    """`manage.py deliver_messages --loop` against this test's database: the real worker process."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "MESOCLINIC_SMS_BACKEND": "file",
        "MESOCLINIC_SMS_FILE_PATH": str(tmp_path / "sms"),
        "MESOCLINIC_LOG_LEVEL": "WARNING",
    }
    manage = Path(settings.BASE_DIR) / "manage.py"
    return subprocess.Popen(  # noqa: S603 (our own manage.py, fixed arguments)
        [sys.executable, str(manage), "deliver_messages", "--loop", "0.3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def render_pdf_page(pdf: bytes, png_path: str) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        page.render(scale=1.5).to_pil().save(png_path)
        return " ".join(page.get_textpage().get_text_range().split())
    finally:
        document.close()


def test_aftercare_check_in_follow_up_adverse_event_and_recall(
    page, sign_in, live_server, location, tmp_path, request, settings, no_worker
):
    settings.MESOCLINIC_PUBLIC_URL = live_server.url  # the links in messages point at the test server
    nurse = UserFactory(role=Role.NURSE, locations=[location], first_name="Nadia", last_name="Brooks")
    doctor = UserFactory(role=Role.DOCTOR, locations=[location])
    manager = UserFactory(role=Role.MANAGER, locations=[location])
    patient = PatientFactory(location=location, given_name="Amelia", family_name="Hart", email="amelia.hart@example.com")
    hair = lot_of(location, "hair_cocktail", lot_number="HC-2611")
    medicine = lot_of(location, "hair_loss_medicine_solution", lot_number="HM-0907")

    # Step 6: the session is charted and signed through the procedures app (a mixture of two
    # products, each with its lot); its sign-off hook issues the aftercare in the same transaction.
    record = charted_and_signed(location, patient=patient, nurse=nurse, doctor=doctor, lots=[hair, medicine])
    handout = AftercareHandout.objects.get(record=record)
    signed_at = record.signed_at

    # The worker process sends the handout e-mail, once.
    worker = start_worker(tmp_path)
    try:
        wait_until(lambda: OutboundMessage.objects.filter(kind="aftercare-handout", status="sent").exists())
    finally:
        worker.terminate()
        worker.wait(timeout=10)
    [mail_file] = list((tmp_path / "mail").glob("*.log"))
    email = message_from_bytes(mail_file.read_bytes().split(b"\n" + b"-" * 79)[0], policy=default_policy)
    assert email["To"] == "amelia.hart@example.com"
    body = email.get_body(preferencelist=("plain",)).get_content()
    local_until = location.local(signed_at + timedelta(hours=24))
    assert f"Until {local_until:%A} {local_until.day} {local_until:%B}, {local_until:%H:%M}: Do not wash your hair" in body

    # The nurse opens the patient's aftercare and prints the handout.
    sign_in(nurse)
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("heading", name="Aftercare and check-ins").wait_for()
    snap(page, request, "patient-aftercare-panel")
    page.get_by_role("link", name="Handout", exact=True).click()
    page.get_by_role("heading", name=re.compile("Aftercare for Amelia Hart")).wait_for()
    snap(page, request, "handout-page")
    pdf = page.request.get(f"/aftercare/handouts/{handout.pk}/pdf/")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    os.makedirs(ARTIFACTS, exist_ok=True)
    text = render_pdf_page(pdf.body(), os.path.join(ARTIFACTS, f"{request.node.name}--handout-pdf-page-1.png"))
    assert "Amelia Hart" in text
    assert f"Until {local_until:%A} {local_until.day} {local_until:%B}, {local_until:%H:%M}:" in text
    assert f"Call us on {location.phone} if:" in text

    # Six hours later the check-in goes out; the patient taps the link and answers "worse".
    with time_machine.travel(handout.checkin.due_at + timedelta(minutes=2), tick=True):
        mail.outbox.clear()
        assert delivery.sweep(worker="in-test").sent == 1
        [checkin_mail] = mail.outbox
        link = re.search(r"https?://\S+/check-in/\S+/", checkin_mail.body).group(0)
        page.context.clear_cookies()  # the patient's phone: nobody signed in
        page.goto(link)
        page.get_by_role("group", name="Has the redness settled?").wait_for()
        assert "Amelia" not in page.content()
        page.get_by_label("It is worse").check()
        page.get_by_label("Anything you want to tell us (optional)").fill("Hot and swollen along the parting.")
        snap(page, request, "public-checkin")
        page.get_by_role("button", name="Send my answer").click()
        page.get_by_role("heading", name="Thank you").wait_for()
        assert "A nurse" in page.content()
        snap(page, request, "public-checkin-thanks")
        page.goto(link)
        page.get_by_role("heading", name="Already answered").wait_for()

        # The follow-up is on the nurses' worklist; the nurse records it as an adverse event.
        sign_in(nurse)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Follow-ups").click()
        page.get_by_role("heading", name="Aftercare follow-ups").wait_for()
        assert "Hot and swollen" in page.content()
        snap(page, request, "worklist")
        page.get_by_role("link", name="Open the follow-up for Amelia Hart").click()
        page.get_by_role("link", name="Record as adverse event").click()
        page.get_by_label("Type").select_option("swelling")
        page.get_by_label("Severity").select_option("moderate")
        page.get_by_label("Reaction (coded)").select_option("MESO-002")  # the Yellow Card's coded reaction (local code)
        page.get_by_label("Treatment given").fill("Cold compress; antihistamine.")
        assert page.get_by_label(re.compile("Hair revitalising cocktail — lot HC-2611")).is_checked()
        assert page.get_by_label(re.compile("lot HM-0907")).is_checked()
        snap(page, request, "adverse-event-form")
        page.get_by_role("button", name="Record adverse event").click()
        page.get_by_text("Adverse event recorded for Amelia Hart").wait_for()
        snap(page, request, "adverse-event")
        event = AdverseEvent.objects.get()
        assert sorted(link.lot.lot_number for link in event.product_links.all()) == ["HC-2611", "HM-0907"]
        assert FollowUp.objects.get().status == FollowUp.Status.CONVERTED

        # The doctor reviews and closes it.
        page.context.clear_cookies()
        sign_in(doctor)
        page.goto(f"/safety/adverse-events/{event.pk}/")
        page.get_by_label("Causality").select_option("possible")
        page.get_by_label("Outcome at review").select_option("recovering")
        page.get_by_label("Review note").fill("Local swelling after scalp meso; settling.")
        page.get_by_role("button", name="Review and close").click()
        page.get_by_text("Adverse event reviewed and closed.").wait_for()

    # Step 8: the manager hears of a recalled lot and finds every patient who received it.
    page.context.clear_cookies()
    sign_in(manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Recalls").click()
    page.get_by_label("Lot number").fill("HM-0907")
    page.get_by_role("button", name="Find lot").click()
    page.get_by_role("link", name="HM-0907").click()
    page.get_by_role("heading", name=re.compile("Lot HM-0907")).wait_for()
    content = page.content()
    assert "Amelia Hart" in content and patient.phone_display in content and "amelia.hart@example.com" in content
    assert "in a mixture with Hair revitalising cocktail (lot HC-2611)" in content
    snap(page, request, "recall")
    page.get_by_role("button", name="Mark Amelia Hart contacted").click()
    page.get_by_text("Amelia Hart marked as contacted.").wait_for()

    # The manager's safety report counts the event per product and lot, with a chart.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Safety").click()
    page.get_by_role("heading", name="Safety report").wait_for()
    assert page.locator("svg rect").count() >= 1
    assert "HM-0907" in page.content()
    snap(page, request, "safety-report")

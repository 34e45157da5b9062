"""The printable handout: a real PDF whose first page shows the patient's instructions with real times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pypdfium2
import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.messaging import delivery, renderers
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.patients.tests.factories import PatientFactory

from .factories import issued, lot_of, nurse, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]
LONDON = ZoneInfo("Europe/London")


def page_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        text = page.get_textpage().get_text_range()
        image = page.render(scale=1).to_pil()
        assert image.size[0] > 500  # it renders
        return text.replace("\r\n", "\n")
    finally:
        document.close()


def test_the_handout_pdf_prints_names_times_and_the_clinic_phone(client, location):
    patient = PatientFactory(location=location, given_name="Kateřina", family_name="Dvořák-Yılmaz")
    session = signed_session(
        location,
        protocol_key="rejuvenation",
        patient=patient,
        areas={"scalp": [lot_of(location, "hair_cocktail")], "cheeks": [lot_of(location, "biorevitalisation_cocktail")]},
        signed_at=datetime(2023, 11, 28, 11, 5, tzinfo=LONDON),
    )
    handout = issued(session)
    client.force_login(nurse(location))
    response = client.get(f"/aftercare/handouts/{handout.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = " ".join(page_text(response.content).split())
    assert "Kateřina Dvořák-Yılmaz" in text
    assert "Until Wednesday 29 November, 11:05:" in text and "wash your hair" in text
    assert "Until Friday 1 December, 11:05:" in text and "direct sun" in text
    assert "4–6 hours" in text
    assert f"Call us on {location.phone} if:" in text
    assert AuditEvent.objects.filter(object_type="aftercare-handout", detail__screen="handout-pdf").count() == 1


def test_the_same_handout_gives_the_same_pdf_bytes(client, location):
    handout = issued(signed_session(location))
    client.force_login(nurse(location))
    first = client.get(f"/aftercare/handouts/{handout.pk}/pdf/").content
    assert client.get(f"/aftercare/handouts/{handout.pk}/pdf/").content == first


def test_the_handout_page_shows_the_instructions_and_the_check_in(client, location):
    handout = issued(signed_session(location))
    client.force_login(nurse(location))
    body = client.get(f"/aftercare/handouts/{handout.pk}/").content.decode()
    assert "Until " in body and "no answer yet" in body


def test_the_worker_e_mails_the_handout_with_its_pdf_attached(location, mailoutbox):
    patient = PatientFactory(location=location, given_name="Kateřina", family_name="Dvořák")
    handout = issued(signed_session(location, patient=patient, signed_at=datetime(2023, 11, 28, 11, 5, tzinfo=LONDON)))
    message = OutboundMessage.objects.get(kind="aftercare-handout")
    assert message.attachments == [
        {
            "filename": f"aftercare-{patient.record_number}-{handout.pk}.pdf",
            "renderer": "aftercare-handout-pdf",
            "object_id": str(handout.pk),
            "mimetype": "application/pdf",
        }
    ]  # the outbox row names the PDF; the worker makes it as it sends

    assert delivery.deliver(message.pk) == delivery.SENT

    (email,) = mailoutbox
    ((filename, content, mimetype),) = email.attachments
    assert (filename, mimetype) == (f"aftercare-{patient.record_number}-{handout.pk}.pdf", "application/pdf")
    assert "Kateřina Dvořák" in page_text(content) and "attached" in email.body


def test_a_handout_whose_pdf_cannot_be_made_is_retried_not_sent_without_it(location, mailoutbox, monkeypatch):
    issued(signed_session(location))
    message = OutboundMessage.objects.get(kind="aftercare-handout")
    monkeypatch.setattr(renderers, "_renderers", {})  # as if the aftercare app were not installed in the worker

    assert delivery.deliver(message.pk) == delivery.RETRY

    message.refresh_from_db()
    assert mailoutbox == [] and message.status == OutboundMessage.Status.PENDING
    assert "aftercare-handout-pdf" in message.last_error

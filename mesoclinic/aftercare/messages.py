"""What the patient is sent after a session, queued in the outbox (messaging) inside the sign-off.

Two messages per signed session, each with a dedupe key, so each is sent once however often the
sign-off hook or a retry runs: the handout (due at once) and the check-in (due at the protocol's
`checkin_after_hours`). They go by the patient's preferred channel: e-mail, or SMS for patients
who prefer SMS. Patients who prefer phone calls or no messages get none: their check-in shows on
the nurses' worklist as unanswered, for a call.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from mesoclinic.messaging import services as outbox
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.patients.models import Patient

from .composition import Aftercare, as_text
from .models import AftercareHandout, CheckIn
from .pdf import handout_filename
from .tokens import make_token

HANDOUT = "aftercare-handout"
HANDOUT_PDF = "aftercare-handout-pdf"  # the attachment renderer: pdf.handout_pdf_for, made when the e-mail is sent
CHECKIN = "aftercare-checkin"


def channel_for(patient: Patient) -> tuple[str, str] | None:
    """(channel, recipient) for this patient's aftercare messages, or None when they take none."""
    if patient.preferred_channel == Patient.Channel.EMAIL and patient.email:
        return OutboundMessage.Channel.EMAIL, patient.email
    if patient.preferred_channel == Patient.Channel.SMS and patient.phone:
        return OutboundMessage.Channel.SMS, patient.phone
    return None


def _addressed(patient: Patient) -> tuple[str, str] | None:
    """Like `channel_for`, but a missing address still names the channel: the outbox keeps the
    message as undeliverable (with the reason, for staff to see) instead of it never existing."""
    if patient.preferred_channel == Patient.Channel.EMAIL:
        return OutboundMessage.Channel.EMAIL, patient.email
    if patient.preferred_channel == Patient.Channel.SMS:
        return OutboundMessage.Channel.SMS, patient.phone
    return None


def checkin_url(checkin: CheckIn) -> str:
    """The absolute one-tap link (MESOCLINIC_PUBLIC_URL + the signed path)."""
    path = reverse("checkin:answer", kwargs={"token": make_token(checkin.pk)})
    return settings.MESOCLINIC_PUBLIC_URL.rstrip("/") + path


def _sms_handout(aftercare: Aftercare, clinic: str) -> str:
    lines = [f"{clinic}: your aftercare."]
    lines += [item.sentence for item in aftercare.instructions]
    lines.append("Mild redness is normal and settles within 4-6 hours.")
    if aftercare.clinic_phone:
        lines.append(f"Worried? Call {aftercare.clinic_phone}.")
    return " ".join(lines)


def queue_handout(*, handout: AftercareHandout, patient: Patient, clinic_name: str) -> OutboundMessage | None:
    target = _addressed(patient)
    if target is None:
        return None
    channel, recipient = target
    aftercare = handout.aftercare
    attachments: list[outbox.RenderedAttachment] = []
    if channel == OutboundMessage.Channel.EMAIL:
        text = as_text(aftercare, clinic_name=clinic_name)
        body = f"Dear {patient.given_name},\n\n{text}\n\nThe same, to print, is attached.\n\n{clinic_name}\n"
        subject = f"Your aftercare from {clinic_name}"
        attachments.append(outbox.RenderedAttachment(handout_filename(handout), HANDOUT_PDF, str(handout.pk)))
    else:
        body, subject = _sms_handout(aftercare, clinic_name), ""
    return outbox.queue_message(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        due_at=handout.issued_at,
        dedupe_key=f"{HANDOUT}:{handout.pk}",
        related=handout,
        patient_id=patient.pk,
        location_id=handout.location_id,
        kind=HANDOUT,
        attachments=attachments,
    )


def queue_checkin(*, checkin: CheckIn, patient: Patient, clinic_name: str) -> OutboundMessage | None:
    target = _addressed(patient)
    if target is None:
        return None
    channel, recipient = target
    link = checkin_url(checkin)
    if channel == OutboundMessage.Channel.EMAIL:
        subject = f"How are you after your session? — {clinic_name}"
        body = (
            f"Dear {patient.given_name},\n\n"
            "Has the redness from today's session settled? One tap tells us:\n\n"
            f"{link}\n\n"
            f"If you are worried, call us on {checkin.handout.aftercare.clinic_phone or 'the clinic'}.\n\n{clinic_name}\n"
        )
    else:
        subject = ""
        body = f"{clinic_name}: has the redness from today's session settled? One tap to answer: {link}"
    return outbox.queue_message(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        due_at=checkin.due_at,
        dedupe_key=f"{CHECKIN}:{checkin.pk}",
        related=checkin,
        patient_id=patient.pk,
        location_id=checkin.location_id,
        kind=CHECKIN,
    )

"""Password-reset e-mails go through the messaging outbox, at most a few per account an hour.

The form answers every request with the same neutral page; behind it, each account gets at most
`RESETS_PER_HOUR` e-mails in any hour (counted in the outbox, under a lock on the account so
twenty requests at once still make three). The e-mail is then delivered like every other message:
claimed by the worker, retried with back-off, listed when it fails (docs/decisions/0010).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mesoclinic.messaging import services as outbox
from mesoclinic.messaging.models import OutboundMessage

from .models import User

KIND = "password-reset"
RESETS_PER_HOUR = 3


def queue_reset_email(*, user: User, to: str, subject: str, body: str) -> OutboundMessage | None:
    """Queue the reset e-mail, or None when this account or address already had its share this hour."""
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one request per account at a time
        recent = OutboundMessage.objects.filter(kind=KIND, created_at__gte=now - timedelta(hours=1)).filter(
            Q(related_type="accounts.user", related_id=str(user.pk)) | Q(recipient__iexact=to)
        )
        if recent.count() >= RESETS_PER_HOUR:
            return None
        return outbox.queue_message(
            channel=OutboundMessage.Channel.EMAIL,
            recipient=to,
            subject=subject,
            body=body,
            due_at=now,
            dedupe_key=f"{KIND}:{user.pk}:{uuid.uuid4().hex}",
            related=user,
            kind=KIND,
        )

"""Background tasks owned by core.

`send_email` is no longer queued by anything: password-reset e-mails go through the messaging
outbox (retried, rate-limited, listed when they fail). It stays so that tasks queued before that
change, still waiting in the database, can run; remove it once no `send_email` rows remain.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django_tasks import task

log = logging.getLogger(__name__)


@task()
def send_email(*, subject: str, body: str, to: list[str], html_body: str | None = None) -> int:
    """Send one e-mail (no retries: a failure leaves a FAILED task row). Superseded by the outbox."""
    message = EmailMultiAlternatives(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to)
    if html_body:
        message.attach_alternative(html_body, "text/html")
    sent = message.send()
    log.info("sent %d e-mail(s) (%s)", sent, subject[:40])
    return sent

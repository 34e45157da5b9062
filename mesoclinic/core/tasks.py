"""Background tasks owned by core: sending e-mail through the worker."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django_tasks import task

log = logging.getLogger(__name__)


@task()
def send_email(*, subject: str, body: str, to: list[str], html_body: str | None = None) -> int:
    """Send one e-mail. Runs in `manage.py db_worker`; retried by re-enqueueing on failure."""
    message = EmailMultiAlternatives(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to)
    if html_body:
        message.attach_alternative(html_body, "text/html")
    sent = message.send()
    log.info("sent %d e-mail(s) (%s)", sent, subject[:40])
    return sent

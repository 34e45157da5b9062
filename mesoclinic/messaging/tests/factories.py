from __future__ import annotations

from django.utils import timezone

from mesoclinic.messaging import services

_counter = iter(range(1, 10**9))


def queue(related, *, channel="sms", recipient="+44 7700 900123", due_at=None, key=None, **extra):
    """Queue a message about `related` (any saved model instance)."""
    return services.queue_message(
        channel=channel,
        recipient=recipient if channel == "sms" else extra.pop("email", "amelia@example.com"),
        subject=extra.pop("subject", "Reminder"),
        body=extra.pop("body", "Your appointment is tomorrow at 10:00."),
        due_at=due_at or timezone.now(),
        dedupe_key=key or f"test:{next(_counter)}",
        related=related,
        location_id=extra.pop("location_id", getattr(related, "pk", None)),
        **extra,
    )

"""Reads of the outbox. Every read takes the caller's location scope explicitly."""

from __future__ import annotations

from django.db import models
from django.db.models import OuterRef, Subquery

from mesoclinic.core.models import Location

from .models import OutboundMessage
from .services import related_key

NOT_SENT = [OutboundMessage.Status.FAILED, OutboundMessage.Status.UNDELIVERABLE]


def failed_messages(*, scope: frozenset[int], before: int | None = None, limit: int = 50) -> list[OutboundMessage]:
    """Failed and undeliverable messages at the caller's locations, newest first, paged by id (no COUNT); each
    with its location's `time_zone` (a subquery, not a query per row) to show its times in."""
    zone = Location.objects.filter(pk=OuterRef("location_id")).values("time_zone")[:1]
    rows = OutboundMessage.objects.filter(location_id__in=scope, status__in=NOT_SENT).annotate(time_zone=Subquery(zone))
    if before is not None:
        rows = rows.filter(id__lt=before)
    return list(rows.order_by("-id")[:limit])


def get_message(*, scope: frozenset[int], pk: int) -> OutboundMessage:
    """The message, if it belongs to a location in scope; otherwise OutboundMessage.DoesNotExist (a 404)."""
    return OutboundMessage.objects.get(pk=pk, location_id__in=scope)


def messages_about(related: models.Model) -> list[OutboundMessage]:
    related_type, related_id = related_key(related)
    return list(OutboundMessage.objects.filter(related_type=related_type, related_id=related_id).order_by("due_at", "id"))


def not_sent_to_patient(*, scope: frozenset[int], patient_id: int, limit: int = 10) -> list[OutboundMessage]:
    """The patient's failed and undeliverable messages at the caller's locations, newest first (one query)."""
    rows = OutboundMessage.objects.filter(patient_id=patient_id, location_id__in=scope, status__in=NOT_SENT)
    return list(rows.order_by("-id")[:limit])

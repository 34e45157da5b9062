"""Writes owned by core."""

from __future__ import annotations

from django.db import transaction

from .models import Sequence


def take_numbers(name: str, count: int = 1) -> range:
    """Reserve `count` consecutive numbers from a named sequence, safely across processes.

    The row is locked for the rest of the caller's transaction, so two registrations never get
    the same number; a rolled-back transaction gives its numbers back.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    with transaction.atomic():
        Sequence.objects.get_or_create(name=name)
        seq = Sequence.objects.select_for_update().get(name=name)
        first = seq.last_value + 1
        seq.last_value += count
        seq.save(update_fields=["last_value"])
    return range(first, first + count)

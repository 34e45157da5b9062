"""The scheduling invariant, checked from the table itself (used by race and property tests)."""

from __future__ import annotations

import itertools
from collections import defaultdict

from mesoclinic.scheduling.models import Appointment

RESOURCES = (
    ("practitioner_id", "resource_starts_at"),
    ("room_id", "resource_starts_at"),
    ("device_id", "resource_starts_at"),
    ("patient_id", "starts_at"),
)


def overlaps() -> list[tuple[str, int, int]]:
    """Every (resource, appointment id, appointment id) pair of active appointments that overlap."""
    rows = list(Appointment.objects.filter(status__in=Appointment.ACTIVE).values("id", "ends_at", *{c for pair in RESOURCES for c in pair}))
    found = []
    for column, start in RESOURCES:
        by_key = defaultdict(list)
        for row in rows:
            if row[column] is not None:
                by_key[row[column]].append((row[start], row["ends_at"], row["id"]))
        for intervals in by_key.values():
            intervals.sort()
            for (_, first_end, first_id), (second_start, _, second_id) in itertools.pairwise(intervals):
                if second_start < first_end:
                    found.append((column, first_id, second_id))
    return found

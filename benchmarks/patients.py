"""Patient search and patient page with the chain data set (1,000,000 patients)."""

from __future__ import annotations

import random
from collections.abc import Callable

from django.urls import reverse

from mesoclinic.accounts.models import User
from mesoclinic.core.text import fold
from mesoclinic.patients.models import Patient

from .timing import Figures, get_ok, measure, signed_in_client


def run(requests: int) -> list[Figures]:
    rng = random.Random(7)
    receptionist = User.objects.filter(role="receptionist", memberships__isnull=False).order_by("id").first()
    if receptionist is None:
        raise SystemExit("no receptionist with a location: seed the chain data set first")
    scope = list(receptionist.location_ids)
    client = signed_in_client(receptionist)
    total = Patient.objects.count()
    print(f"patients in the database: {total:,}; the signed-in receptionist works at {len(scope)} location(s)")

    sample = list(
        Patient.objects.filter(location_id__in=scope)
        .order_by("?")
        .values("id", "family_name", "given_name", "date_of_birth", "phone")[: requests + 20]
    )
    list_url = reverse("patients:list")
    searches: list[Callable[[], object]] = []
    for index, row in enumerate(sample):
        kind = index % 4
        if kind == 0:
            query = fold(row["family_name"])[: rng.randint(3, 5)]
        elif kind == 1:
            query = f"{row['given_name']} {row['family_name'][:3]}"
        elif kind == 2:
            query = row["date_of_birth"].strftime("%d/%m/%Y")
        else:
            query = row["phone"].replace(" ", "")[:9]
        searches.append(get_ok(client, f"{list_url}?q={query}"))
    pages = [get_ok(client, reverse("patients:detail", args=[row["id"]])) for row in sample]
    return [
        measure("patient search (name, name+given, DOB, phone)", searches),
        measure("patient page", pages),
    ]

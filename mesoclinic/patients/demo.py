"""Demo patients: realistic, accented names; bulk inserted so the chain scale loads in minutes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import islice

from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.bulk import bulk_insert
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.seeding import SeedRun
from mesoclinic.core.services import take_numbers
from mesoclinic.core.text import fold

from .models import Patient
from .services import format_record_number

GIVEN_F = [
    "Amelia",
    "Zoë",
    "Sofía",
    "Chloé",
    "Aisha",
    "Priya",
    "Hannah",
    "Léa",
    "Maja",
    "Ingrid",
    "Fatima",
    "Yuki",
    "Olivia",
    "Emma",
    "Björk",
    "Noémie",
    "Ana",
    "Kateřina",
    "Siobhán",
    "Mei",
    "Laura",
    "Grace",
    "Isabel",
    "Nora",
    "Elif",
]
GIVEN_M = [
    "James",
    "Tomás",
    "Ravi",
    "Lukas",
    "Mateo",
    "Omar",
    "Jonas",
    "Hugo",
    "Søren",
    "Kenji",
    "Ciarán",
    "Mihai",
    "Daniel",
    "André",
    "Luca",
    "Arjun",
    "Felix",
    "Noah",
    "Ethan",
    "Íñigo",
]
FAMILY = [
    "Smith",
    "Jones",
    "García",
    "Núñez",
    "Müller",
    "Ölçer",
    "Nowak",
    "Kowalski",
    "Dubois",
    "Lefèvre",
    "Rossi",
    "Silva",
    "Gonçalves",
    "Murphy",
    "O'Brien",
    "Patel",
    "Khan",
    "Chen",
    "Nakamura",
    "Novák",
    "Dvořák",
    "Johansson",
    "Andersen",
    "Brown",
    "Wilson",
    "Taylor",
    "Schröder",
    "Yılmaz",
    "Papadopoulos",
    "Ibáñez",
    "Hart",
    "Okafor",
    "Mensah",
    "Ahmed",
    "Kim",
    "Lindqvist",
    "Ferreira",
    "Moreau",
    "Byrne",
    "Walsh",
]
BATCH = 20_000

DEMO_PATIENT = {
    "given_name": "Amelia",
    "family_name": "Hart",
    "date_of_birth": date(1991, 4, 17),
    "sex": Patient.Sex.FEMALE,
    "phone": "+44 7700 900123",
    "email": "amelia.hart@example.com",
    "fitzpatrick": Patient.Fitzpatrick.II,
    "preferred_channel": Patient.Channel.EMAIL,
}


COLUMNS = (
    "location_id",
    "record_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address",
    "fitzpatrick",
    "preferred_channel",
    "consents_to_reminders",
    "consents_to_marketing",
    "notes",
    "family_key",
    "given_key",
    "phone_key",
    "email_key",
    "phone_needs_review",
    "created_at",
    "updated_at",
)
FOLDED = {name: fold(name) for name in GIVEN_F + GIVEN_M + FAMILY}


def _random_rows(run: SeedRun, location_ids: list[int], numbers: range, now: datetime) -> Iterator[tuple[object, ...]]:
    """Plain rows for bulk_insert, in COLUMNS order (no model instances: the chain scale needs speed)."""
    rng = run.rng
    fitzpatrick = Patient.Fitzpatrick.values
    channels = [Patient.Channel.EMAIL.value, Patient.Channel.EMAIL.value, Patient.Channel.SMS.value]
    epoch = date(1950, 1, 1)
    for index, number in enumerate(numbers):
        female = rng.random() < 0.72
        given = rng.choice(GIVEN_F if female else GIVEN_M)
        family = rng.choice(FAMILY)
        mobile = f"7{rng.randrange(100, 999)}{rng.randrange(100000, 999999)}"
        email = f"{FOLDED[given].replace(' ', '')}.{number}@example.com"
        yield (
            location_ids[index % len(location_ids)],
            format_record_number(number),
            given,
            family,
            epoch + timedelta(days=rng.randrange(365 * 55)),
            Patient.Sex.FEMALE.value if female else Patient.Sex.MALE.value,
            f"+44{mobile}",  # E.164, as the services store it
            email,
            "",
            rng.choice(fitzpatrick),
            rng.choice(channels),
            True,
            False,
            "",
            FOLDED[family],
            FOLDED[given],
            f"44{mobile}",
            email.casefold(),
            False,
            now,
            now,
        )


def seed(run: SeedRun) -> None:
    locations = run.shared["locations"]
    total = run.scale.patients
    numbers = take_numbers("patient", total + 1)
    demo = Patient(location=locations[0], record_number=format_record_number(numbers[0]), **DEMO_PATIENT)
    demo.normalise_phone()
    demo.refresh_search_keys()
    demo.save()
    run.shared["demo_patient"] = demo
    bar = run.progress("patients", total)
    location_ids = [location.id for location in locations]
    rows = _random_rows(run, location_ids, numbers[1:], timezone.now())
    for _batch in range(0, total, BATCH):
        bar.advance(bulk_insert(Patient, COLUMNS, islice(rows, BATCH)))
    bar.finish()
    audit.record(
        audit.SYSTEM, action=AuditEvent.Action.CREATE, object_type="patient-batch", detail={"seed": run.scale.name, "count": total + 1}
    )
    run.say(f"{total + 1:,} patients; the demo patient is {demo.full_name} ({demo.record_number}) at {locations[0].name}.")

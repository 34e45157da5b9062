"""Demo patients: realistic, accented names; bulk inserted so the chain scale loads in minutes."""

from __future__ import annotations

from datetime import date, timedelta

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.seeding import SeedRun
from mesoclinic.core.services import take_numbers

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
BATCH = 5000

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


def _random_patient(run: SeedRun, location_id: int, number: int) -> Patient:
    rng = run.rng
    female = rng.random() < 0.72
    given = rng.choice(GIVEN_F if female else GIVEN_M)
    family = rng.choice(FAMILY)
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    phone = f"+44 7{rng.randrange(100, 999)} {rng.randrange(100000, 999999)}"
    patient = Patient(
        location_id=location_id,
        record_number=format_record_number(number),
        given_name=given,
        family_name=family,
        date_of_birth=born,
        sex=Patient.Sex.FEMALE if female else Patient.Sex.MALE,
        phone=phone,
        email=f"{given.lower()}.{number}@example.com".encode("ascii", "ignore").decode(),
        fitzpatrick=rng.choice(Patient.Fitzpatrick.values),
        preferred_channel=rng.choice([Patient.Channel.EMAIL, Patient.Channel.EMAIL, Patient.Channel.SMS]),
    )
    patient.refresh_search_keys()
    return patient


def seed(run: SeedRun) -> None:
    locations = run.shared["locations"]
    total = run.scale.patients
    numbers = take_numbers("patient", total + 1)
    demo = Patient(location=locations[0], record_number=format_record_number(numbers[0]), **DEMO_PATIENT)
    demo.refresh_search_keys()
    demo.save()
    run.shared["demo_patient"] = demo
    bar = run.progress("patients", total)
    location_ids = [location.id for location in locations]
    for start in range(1, total + 1, BATCH):
        stop = min(start + BATCH, total + 1)
        batch = [_random_patient(run, location_ids[n % len(location_ids)], numbers[n]) for n in range(start, stop)]
        Patient.objects.bulk_create(batch, batch_size=BATCH)
        bar.advance(len(batch))
    bar.finish()
    audit.record(
        audit.SYSTEM, action=AuditEvent.Action.CREATE, object_type="patient-batch", detail={"seed": run.scale.name, "count": total + 1}
    )
    run.say(f"{total + 1:,} patients; the demo patient is {demo.full_name} ({demo.record_number}) at {locations[0].name}.")

"""Demo staff. The named sign-ins (printed by `make run`) all work at the first location."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import make_password

from mesoclinic.core.seeding import SeedRun

from .models import Membership, User
from .roles import Role

# (username, first, last, role) — the sign-ins shown in the README and by `make run`.
NAMED = [
    ("doctor", "Daniela", "Ortega", Role.DOCTOR),
    ("nurse", "Nadia", "Brooks", Role.NURSE),
    ("reception", "Ravi", "Patel", Role.RECEPTIONIST),
    ("manager", "Megan", "Shaw", Role.MANAGER),
    ("director", "Dmitri", "Volkov", Role.MEDICAL_DIRECTOR),
    ("admin", "Ada", "Quinn", Role.ADMIN),
]
ROTA = [
    Role.DOCTOR,
    Role.DOCTOR,
    Role.NURSE,
    Role.NURSE,
    Role.NURSE,
    Role.RECEPTIONIST,
    Role.RECEPTIONIST,
    Role.MANAGER,
    Role.NURSE,
    Role.RECEPTIONIST,
]
FIRST = ["Alex", "Sam", "Jordan", "Maya", "Leila", "Tomás", "Chloé", "Aisha", "Ivan", "Priya", "Noah", "Sofía", "Kenji", "Olu", "Freya"]
LAST = ["Reed", "García", "Okafor", "Nowak", "Silva", "Müller", "Khan", "Dubois", "Rossi", "Larsen", "Ahmed", "Moreau", "Byrne", "Kowalski"]


def seed(run: SeedRun) -> None:
    locations = run.shared["locations"]
    password = make_password(settings.MESOCLINIC_DEMO_PASSWORD)  # hashed once: Argon2 is slow by design
    users = [
        User(username=u, first_name=first, last_name=last, role=r, email=f"{u}@clinic.example", password=password, is_staff=r == Role.ADMIN)
        for u, first, last, r in NAMED
    ]
    for location in locations:
        for n in range(run.scale.staff_per_location):
            role = ROTA[n % len(ROTA)]
            first, last = FIRST[run.rng.randrange(len(FIRST))], LAST[run.rng.randrange(len(LAST))]
            username = f"{role.value}.{location.code}.{n + 1}"
            users.append(
                User(username=username, first_name=first, last_name=last, role=role, email=f"{username}@clinic.example", password=password)
            )
    User.objects.bulk_create(users, batch_size=1000)
    by_name = dict(User.objects.values_list("username", "id"))
    memberships = [Membership(user_id=by_name[u], location=locations[0]) for u, *_ in NAMED if u != "admin"]
    if len(locations) > 1:
        memberships.append(Membership(user_id=by_name["manager"], location=locations[1]))
    for location in locations:
        for n in range(run.scale.staff_per_location):
            memberships.append(Membership(user_id=by_name[f"{ROTA[n % len(ROTA)].value}.{location.code}.{n + 1}"], location=location))
    Membership.objects.bulk_create(memberships, batch_size=5000)
    run.shared["staff_password"] = settings.MESOCLINIC_DEMO_PASSWORD
    run.say(f"{len(users)} staff; sign in as {', '.join(u for u, *_ in NAMED)} with password {settings.MESOCLINIC_DEMO_PASSWORD!r}.")

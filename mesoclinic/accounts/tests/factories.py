from __future__ import annotations

from typing import Any

import factory

from mesoclinic.accounts.models import Membership, User
from mesoclinic.accounts.roles import Role

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@clinic.example")
    role = Role.RECEPTIONIST
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def locations(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            Membership.objects.bulk_create([Membership(user=self, location=location) for location in extracted])

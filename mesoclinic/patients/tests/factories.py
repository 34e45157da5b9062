from __future__ import annotations

import datetime

import factory

from mesoclinic.core.tests.factories import LocationFactory
from mesoclinic.patients.models import Patient


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    location = factory.SubFactory(LocationFactory)
    record_number = factory.Sequence(lambda n: f"MC{n + 9000000:07d}")
    given_name = "Amelia"
    family_name = factory.Sequence(lambda n: f"Hart{n}")
    date_of_birth = datetime.date(1990, 1, 1)
    phone = factory.Sequence(lambda n: f"+44 7700 {n:06d}")
    email = factory.Sequence(lambda n: f"patient{n}@example.com")

    @classmethod
    def _create(cls, model_class: type[Patient], *args: object, **kwargs: object) -> Patient:
        patient = model_class(*args, **kwargs)
        patient.refresh_search_keys()
        patient.save()
        return patient

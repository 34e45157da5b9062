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
        patient.normalise_phone()  # as the services do
        patient.refresh_search_keys()
        patient.save()
        return patient


def patient_data(**overrides: object) -> dict[str, object]:
    """Cleaned data for `services.register_patient` / `update_patient`: a complete, valid patient."""
    data: dict[str, object] = {
        "given_name": "Zoë",
        "family_name": "Ölçer",
        "date_of_birth": datetime.date(1988, 6, 2),
        "sex": Patient.Sex.FEMALE,
        "phone": "+44 7700 900456",
        "email": "zoe@example.com",
        "address": "",
        "fitzpatrick": Patient.Fitzpatrick.III,
        "preferred_channel": Patient.Channel.EMAIL,
        "consents_to_reminders": True,
        "consents_to_marketing": False,
        "notes": "",
    }
    data.update(overrides)
    return data


def form_data(location=None, **overrides: object) -> dict[str, str]:
    """What the registration or edit form posts for `patient_data()` (booleans as browsers send them)."""
    data: dict[str, str] = {}
    for name, value in patient_data().items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, datetime.date):
            data[name] = value.isoformat()
        else:
            data[name] = str(value)
    if location is not None:
        data["location"] = str(location.pk)
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = str(value)
    return data

"""Store every patient's phone number as E.164, read as dialled at their home clinic; fill the e-mail key.

A number that cannot be read as a possible phone number is left as it was and flagged
(`phone_needs_review`), for a receptionist to correct. Runs in batches: fine for a million patients.
"""

from django.db import migrations

from mesoclinic.core.phones import region_for_zone, to_e164
from mesoclinic.core.text import digits

BATCH = 2000


def normalise(apps, schema_editor):
    Location = apps.get_model("core", "Location")
    Patient = apps.get_model("patients", "Patient")
    regions = {
        pk: (country.upper() if country else region_for_zone(zone))
        for pk, country, zone in Location.objects.values_list("pk", "country", "time_zone")
    }
    batch = []
    fields = ["phone", "phone_key", "email_key", "phone_needs_review"]
    for patient in Patient.objects.only("pk", "location_id", *fields, "email").order_by("pk").iterator(chunk_size=BATCH):
        if patient.phone:
            e164 = to_e164(patient.phone, regions.get(patient.location_id, "GB"))
            patient.phone, patient.phone_needs_review = (e164, False) if e164 else (patient.phone, True)
        patient.phone_key = digits(patient.phone)[:30]
        patient.email_key = patient.email.strip().casefold()[:254]
        batch.append(patient)
        if len(batch) >= BATCH:
            Patient.objects.bulk_update(batch, fields)
            batch = []
    if batch:
        Patient.objects.bulk_update(batch, fields)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_location_country"),
        ("patients", "0004_phone_e164_and_email_key"),
    ]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]

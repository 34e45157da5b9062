"""Joins migrations that were written side by side; no operations."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0004_patient_allergies"),
        ("patients", "0004_patient_version"),
        ("patients", "0005_normalise_phone_numbers"),
    ]

    operations = []

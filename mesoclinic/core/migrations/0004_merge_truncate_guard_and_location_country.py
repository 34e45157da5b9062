"""Joins migrations that were written side by side; no operations."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_audit_refuses_truncate"),
        ("core", "0003_location_country"),
    ]

    operations = []

"""Joins migrations that were written side by side; no operations."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("safety", "0002_adverse_event_version"),
        ("safety", "0002_adverse_events_for_the_regulator"),
    ]

    operations = []

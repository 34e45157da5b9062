"""Joins migrations that were written side by side; no operations."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0002_course_allergy_acknowledgement"),
        ("courses", "0002_course_version"),
        ("courses", "0002_window_overrides"),
    ]

    operations = []

"""Joins migrations that were written side by side; no operations."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("procedures", "0003_amendment_refs_numbing_lot"),
        ("procedures", "0003_signed_records_refuse_truncate"),
    ]

    operations = []

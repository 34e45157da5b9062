"""Joins migrations that were written side by side; no operations."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0003_ledger_refuses_truncate"),
        ("inventory", "0003_lot_version"),
        ("inventory", "0003_numbing_cream_kind"),
    ]

    operations = []

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from mesoclinic.catalog.services import load_default_catalog


class Command(BaseCommand):
    help = "Load the default clinical catalog (from the clinic's service page) into an empty catalog. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        version = load_default_catalog()
        self.stdout.write(self.style.SUCCESS(f"Catalog version {version.number}: {version.note}"))

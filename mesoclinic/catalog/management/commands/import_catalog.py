from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesoclinic.catalog.services import CatalogInvalid, import_catalog
from mesoclinic.core import audit


class Command(BaseCommand):
    help = "Import a catalog JSON file (the export format) as a new catalog version. Nothing changes if the file has errors."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The JSON file.")
        parser.add_argument("--note", default="", help="What changed and why (shown in the version history).")

    def handle(self, *args: Any, path: str, note: str, **options: Any) -> None:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from None
        try:
            version = import_catalog(ctx=audit.AuditContext(actor=None, path="manage.py import_catalog"), data=data, note=note)
        except CatalogInvalid as error:
            raise CommandError("The file was not imported:\n  " + "\n  ".join(error.errors)) from None
        if version is None:
            self.stdout.write("The file matches the current catalog: nothing changed.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported as catalog version {version.number}."))

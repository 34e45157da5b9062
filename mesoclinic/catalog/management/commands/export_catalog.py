from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesoclinic.catalog import selectors


class Command(BaseCommand):
    help = "Write the current catalog (or a given version) as JSON to stdout or a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="File to write (default: stdout).")
        parser.add_argument("--catalog-version", type=int, dest="number", help="Catalog version number (default: the current one).")

    def handle(self, *args: Any, output: str | None, number: int | None, **options: Any) -> None:
        try:
            version = selectors.version_by_number(number) if number else selectors.current_version()
        except (selectors.CatalogNotLoaded, selectors.CatalogVersion.DoesNotExist) as error:
            raise CommandError(str(error) or "No such catalog version.") from None
        text = json.dumps({**version.snapshot, "catalog_version": version.number}, ensure_ascii=False, indent=2) + "\n"
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stderr.write(f"Catalog version {version.number} written to {output}.")
        else:
            self.stdout.write(text, ending="")

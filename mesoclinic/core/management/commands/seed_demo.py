from __future__ import annotations

import contextlib
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from mesoclinic.core.bulk import analyze
from mesoclinic.core.models import Organisation
from mesoclinic.core.seeding import SCALES, SeedRun, seeders


class Command(BaseCommand):
    help = "Load a demo clinic: small (a quick start), clinic (50k patients) or chain (50 locations, 1M patients)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=sorted(SCALES), default="small")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if demo data is already loaded.")

    def handle(self, *args: Any, scale: str, if_empty: bool, **options: Any) -> None:
        if Organisation.objects.exists():
            if if_empty:
                self.stdout.write("Demo data already loaded; nothing to do.")
                return
            raise CommandError("This database already has an organisation. Use a fresh database for demo data.")
        run = SeedRun(scale=SCALES[scale], stdout=self.stdout)
        started = time.monotonic()
        # One transaction for the small scales (all or nothing); the chain scale commits in batches
        # so a million-row load does not hold one giant transaction.
        with transaction.atomic() if scale != "chain" else contextlib.nullcontext():
            for label, seed in seeders():
                run.say(f"— {label}")
                seed(run)
        analyze()
        self.stdout.write(self.style.SUCCESS(f"Demo data ({scale}) loaded in {time.monotonic() - started:.1f} s."))

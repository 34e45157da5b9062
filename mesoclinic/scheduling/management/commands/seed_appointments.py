from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesoclinic.core.bulk import analyze
from mesoclinic.core.models import Location
from mesoclinic.core.seeding import SCALES, SeedRun
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling import demo


class Command(BaseCommand):
    help = (
        "Load (or finish loading) the demo schedules into a database that already has the demo clinic: "
        "locations that have appointments are skipped, so an interrupted chain-scale load resumes where it stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=sorted(SCALES), default="small")

    def handle(self, *args: Any, scale: str, **options: Any) -> None:
        locations = list(Location.objects.order_by("id"))
        if not locations:
            raise CommandError("No locations: run `manage.py seed_demo` first.")
        run = SeedRun(scale=SCALES[scale], stdout=self.stdout)
        run.shared["locations"] = locations
        run.shared["demo_patient"] = Patient.objects.filter(record_number="MC0000001").first()
        demo.seed(run)
        analyze()

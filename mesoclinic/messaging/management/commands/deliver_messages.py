from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mesoclinic.messaging import delivery, workers


class Command(BaseCommand):
    help = (
        "Send due outbound messages and re-send those whose worker died mid-send; mark the task rows of dead "
        "workers failed (one sweep; --loop to keep going)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=1000, help="Most messages to handle in one sweep.")
        parser.add_argument("--loop", type=float, default=0, metavar="SECONDS", help="Sweep again every SECONDS (0: once).")

    def handle(self, *args: Any, limit: int, loop: float, **options: Any) -> None:
        while True:
            reaped = workers.reap_abandoned_tasks()
            if reaped and options["verbosity"] > 0:
                self.stdout.write(f"marked {reaped} task(s) of lost workers failed")
            result = delivery.sweep(limit=max(1, limit))
            if options["verbosity"] > 0:
                self.stdout.write(f"sent {result.sent}, to retry {result.retry}, failed {result.failed}")
            if loop <= 0:
                return
            time.sleep(loop)

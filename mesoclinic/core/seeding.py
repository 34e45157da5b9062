"""The demo-data framework behind `manage.py seed_demo`.

Each app that has demo data provides `<app>/demo.py` with `seed(run: SeedRun) -> None`.
The command calls them in INSTALLED_APPS order, so later apps can use what earlier ones made
(`run.shared`). core never imports another app: it finds their `demo` modules by name.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps

from .progress import ProgressBar, Writer


@dataclass(frozen=True)
class Scale:
    name: str
    locations: int
    staff_per_location: int
    patients: int
    rooms_per_location: int
    dermapens_per_location: int


SCALES = {
    "small": Scale("small", locations=2, staff_per_location=6, patients=200, rooms_per_location=3, dermapens_per_location=2),
    "clinic": Scale("clinic", locations=3, staff_per_location=20, patients=50_000, rooms_per_location=10, dermapens_per_location=5),
    "chain": Scale("chain", locations=50, staff_per_location=10, patients=1_000_000, rooms_per_location=10, dermapens_per_location=5),
}


@dataclass
class SeedRun:
    scale: Scale
    stdout: Writer
    rng: random.Random = field(default_factory=lambda: random.Random(20261128))
    shared: dict[str, Any] = field(default_factory=dict)

    def progress(self, label: str, total: int) -> ProgressBar:
        return ProgressBar(label, total, stream=self.stdout)

    def say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()


def seeders() -> list[tuple[str, Callable[[SeedRun], None]]]:
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("mesoclinic."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError as missing:
            if missing.name != f"{config.name}.demo":
                raise
            continue
        found.append((config.label, module.seed))
    return found
